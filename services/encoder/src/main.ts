import { EXIT_CONFIG, startService } from '@reelbus/kit';
import {
  collectRenderedPart,
  renderAudioEvent,
  renderChunkEvent,
  type ChunkedRenderDeps,
} from './chunks/chunked.ts';
import { EncoderEnv, mediaConvertEnabled, mediaConvertRates } from './config.ts';
import {
  deliverAudioOnly,
  renderTimelineEvent,
  type HlsWriter,
  type TimelineRenderDeps,
} from './handle-timeline.ts';
import { packageHlsOfBlob } from './hls/index.ts';
import { declareMediaConvertMetrics } from './mediaconvert/metrics.ts';
import { handleMergeRequested, type MergeDeps } from './merge/index.ts';
import { FfmpegBackend, type EncoderBackend } from './render.ts';

const rt = await startService({
  name: 'encoder',
  configSchema: EncoderEnv,
  // The job store: the chunked render's fan-in claims its join there by compare-and-set.
  needs: { blobs: true, jobs: true },
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

const fallback = { blobs: rt.blobs, tmpDir: rt.base.tmpDir };
const hls: HlsWriter = ({ jobId, key, signal, onProgress }) =>
  packageHlsOfBlob({
    blobs: rt.blobs,
    jobId,
    key,
    tmpDir: rt.base.tmpDir,
    signal,
    onProgress,
    ...(c.ENCODER_PRESET ? { preset: c.ENCODER_PRESET } : {}),
  });
const chunked: ChunkedRenderDeps = {
  blobs: rt.blobs,
  jobs: rt.jobs,
  tmpDir: rt.base.tmpDir,
  settings: { thresholdSec: c.CHUNK_THRESHOLD_SEC, chunkSeconds: c.CHUNK_SECONDS },
  stallTimeoutMs: rt.base.stallTimeoutMs,
  ...(c.ENCODER_PRESET ? { preset: c.ENCODER_PRESET } : {}),
  hls,
  onStoryFailure: ({ jobId, timeline, ctx, reason }) =>
    deliverAudioOnly({ jobId, timeline, ctx, fallback, reason }),
};
const deps: TimelineRenderDeps = {
  backends,
  defaultBackend: c.ENCODER_BACKEND,
  fallback,
  hls,
  chunked,
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

// Three pools of work slots, so that short work never queues behind long renders:
// whole renders (WORK_CONCURRENCY), chunks and the chunked audio (CHUNK_CONCURRENCY, any replica
// takes any chunk), and the fan-in that records parts and joins them by stream copy.
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
await rt.bus.consume({
  service: rt.name,
  concurrency: c.CHUNK_CONCURRENCY,
  handlers: {
    'render.chunk.requested': {
      step: 'encode',
      handle: (event, ctx) => renderChunkEvent({ event, ctx, deps: chunked }),
    },
    'render.audio.requested': {
      step: 'encode',
      handle: (event, ctx) => renderAudioEvent({ event, ctx, deps: chunked }),
    },
  },
});
await rt.bus.consume({
  service: rt.name,
  concurrency: 2,
  handlers: {
    'render.chunk.rendered': {
      step: 'encode',
      handle: (event, ctx) => collectRenderedPart({ event, ctx, deps: chunked }),
    },
    'render.audio.rendered': {
      step: 'encode',
      handle: (event, ctx) => collectRenderedPart({ event, ctx, deps: chunked }),
    },
  },
});
