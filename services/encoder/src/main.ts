import { EXIT_CONFIG, startService } from '@reelbus/kit';
import { EncoderEnv, mediaConvertEnabled, mediaConvertRates } from './config.ts';
import { renderTimelineEvent, type TimelineRenderDeps } from './handle-timeline.ts';
import { packageHlsOfBlob } from './hls/index.ts';
import { declareMediaConvertMetrics } from './mediaconvert/metrics.ts';
import { handleMergeRequested, type MergeDeps } from './merge/index.ts';
import { FfmpegBackend, type EncoderBackend } from './render.ts';

const rt = await startService({
  name: 'encoder',
  configSchema: EncoderEnv,
  needs: { blobs: true, jobs: false },
});
const c = rt.config;

const ffmpeg = new FfmpegBackend({
  blobs: rt.blobs,
  tmpDir: rt.base.tmpDir,
  stallTimeoutMs: rt.base.stallTimeoutMs,
  ...(c.ENCODER_PRESET ? { preset: c.ENCODER_PRESET } : {}),
});
const backends = new Map<string, EncoderBackend>([[ffmpeg.name, ffmpeg]]);
declareMediaConvertMetrics(); // zeros even without MediaConvert: the alert rule reads a series that exists

if (mediaConvertEnabled(c)) {
  if (rt.base.blobStore !== 's3') {
    // A config error, not a job error: MediaConvert can only read and write S3.
    process.stderr.write(
      `encoder: invalid configuration:\n  BLOB_STORE: must be s3 for the mediaconvert backend (MediaConvert reads inputs from and writes the video to S3) (got "${rt.base.blobStore}")\n`,
    );
    process.exit(EXIT_CONFIG);
  }
  // Loaded only when configured: the MediaConvert SDK is ~23 MB resident.
  const { MediaConvertBackend } = await import('./mediaconvert/backend.ts');
  const mediaconvert = new MediaConvertBackend({
    blobs: rt.blobs,
    tmpDir: rt.base.tmpDir,
    region: c.AWS_REGION ?? rt.base.s3.region,
    roleArn: c.MEDIACONVERT_ROLE_ARN ?? '',
    ...(c.MEDIACONVERT_ENDPOINT ? { endpoint: c.MEDIACONVERT_ENDPOINT } : {}),
    ...(c.MEDIACONVERT_QUEUE ? { queue: c.MEDIACONVERT_QUEUE } : {}),
    pollInitialMs: c.MEDIACONVERT_POLL_INITIAL_MS,
    pollMaxMs: c.MEDIACONVERT_POLL_MAX_MS,
    timeoutMs: c.MEDIACONVERT_TIMEOUT_MS,
    defaultBitrateKbps: c.MEDIACONVERT_BITRATE_KBPS,
    rates: mediaConvertRates(c),
  });
  backends.set(mediaconvert.name, mediaconvert);
}

const deps: TimelineRenderDeps = {
  backends,
  defaultBackend: c.ENCODER_BACKEND,
  fallback: { blobs: rt.blobs, tmpDir: rt.base.tmpDir },
  hls: ({ jobId, key, signal, onProgress }) =>
    packageHlsOfBlob({
      blobs: rt.blobs,
      jobId,
      key,
      tmpDir: rt.base.tmpDir,
      signal,
      onProgress,
      ...(c.ENCODER_PRESET ? { preset: c.ENCODER_PRESET } : {}),
    }),
};

const mergeDeps: MergeDeps = {
  blobs: rt.blobs,
  tmpDir: rt.base.tmpDir,
  stallTimeoutMs: rt.base.stallTimeoutMs,
  ...(c.ENCODER_PRESET ? { preset: c.ENCODER_PRESET } : {}),
  fetch: {
    allowPrivate: c.MERGE_ALLOW_PRIVATE_URLS,
    timeoutMs: c.MERGE_FETCH_TIMEOUT_MS,
    maxBytes: c.MERGE_INPUT_MAX_BYTES,
  },
};

await rt.bus.consume({
  service: rt.name,
  concurrency: rt.base.concurrency,
  handlers: {
    'timeline.ready': { step: 'encode', handle: (event, ctx) => renderTimelineEvent({ event, ctx, deps }) },
    'merge.requested': {
      step: 'merge',
      handle: (event, ctx) => handleMergeRequested({ event, ctx, deps: mergeDeps }),
    },
  },
});
