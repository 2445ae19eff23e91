import { startService } from '@reelbus/kit';
import { CompositorEnv } from './config.ts';
import { requestCallClips } from './handle-audio-split.ts';
import { collectCallClip } from './handle-clip-generated.ts';

const rt = await startService({
  name: 'compositor',
  configSchema: CompositorEnv,
  needs: { blobs: false, jobs: true },
});
const deps = {
  jobs: rt.jobs,
  defaultSize: { width: rt.config.CALL_VIDEO_WIDTH, height: rt.config.CALL_VIDEO_HEIGHT },
};

await rt.bus.consume({
  service: rt.name,
  concurrency: rt.base.concurrency,
  handlers: {
    'audio.split': { step: 'compose', handle: (event, ctx) => requestCallClips({ event, ctx, deps }) },
    'clip.generated': { step: 'compose', handle: (event, ctx) => collectCallClip({ event, ctx, deps }) },
  },
});
