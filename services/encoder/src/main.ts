import { startService } from '@reelbus/kit';
import { EncoderEnv } from './config.ts';
import { renderTimelineEvent } from './handle-timeline.ts';
import { FfmpegBackend, type EncoderBackend } from './render.ts';

const rt = await startService({
  name: 'encoder',
  configSchema: EncoderEnv,
  needs: { blobs: true, jobs: false },
});

const ffmpeg = new FfmpegBackend({
  blobs: rt.blobs,
  tmpDir: rt.base.tmpDir,
  stallTimeoutMs: rt.base.stallTimeoutMs,
  ...(rt.config.ENCODER_PRESET ? { preset: rt.config.ENCODER_PRESET } : {}),
});
// MediaConvert joins this map when it exists.
const backends = new Map<string, EncoderBackend>([[ffmpeg.name, ffmpeg]]);
const deps = { backends, defaultBackend: rt.config.ENCODER_BACKEND };

await rt.bus.consume({
  service: rt.name,
  concurrency: rt.base.concurrency,
  handlers: {
    'timeline.ready': { step: 'encode', handle: (event, ctx) => renderTimelineEvent({ event, ctx, deps }) },
  },
});
