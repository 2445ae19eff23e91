import { startService } from '@reelbus/kit';
import { AiGeneratorEnv } from './config.ts';
import { BUNDLED_FACES, handleClipRequested, type ClipDeps } from './handle-clip-requested.ts';
import { createProviders } from './providers/index.ts';

const rt = await startService({
  name: 'ai-generator',
  configSchema: AiGeneratorEnv,
  needs: { blobs: true, jobs: false },
});
const { config, base } = rt;

const deps: ClipDeps = {
  blobs: rt.blobs,
  providers: createProviders({ config, stallTimeoutMs: base.stallTimeoutMs }),
  defaultProvider: config.AI_PROVIDER,
  settings: {
    width: config.CLIP_WIDTH,
    height: config.CLIP_HEIGHT,
    segmentConcurrency: config.SEGMENT_CONCURRENCY,
    maxSegmentSec: config.MAX_SEGMENT_SEC,
    defaultImages: {
      caller: config.DEFAULT_CALLER_IMAGE ?? BUNDLED_FACES.caller,
      callee: config.DEFAULT_CALLEE_IMAGE ?? BUNDLED_FACES.callee,
    },
    tmpDir: base.tmpDir,
    stallTimeoutMs: base.stallTimeoutMs,
  },
};
rt.logger.info(
  { provider: deps.defaultProvider, providers: Object.keys(deps.providers), model: config.FAL_MODEL },
  'ai-generator ready',
);

await rt.bus.consume({
  service: rt.name,
  // Both sides of a call in parallel by default: a call's two clips arrive together, and on the local
  // provider each is one ffmpeg process (benchmarks: the single biggest cut in a call's wall time).
  concurrency: Math.max(base.concurrency, 2),
  // generation can take minutes: the consume loop's heartbeat keeps the message alive meanwhile
  handlers: {
    'clip.requested': { step: 'generate', handle: (e, ctx) => handleClipRequested({ e, ctx, deps }) },
  },
});
