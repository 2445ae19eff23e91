export {
  buildRenderArgs,
  fitFilters,
  kenBurns,
  UnsupportedTimelineError,
  DEFAULT_FONT,
} from './filtergraph.ts';
export type {
  BuildRenderArgsOptions,
  RenderArgs,
  RenderStreams,
  FrameWindow,
  SourceInfo,
} from './filtergraph.ts';
export { planChunks, chunkTimeline, DEFAULT_CHUNK_SECONDS } from './chunks/plan.ts';
export type { ChunkPlan, ChunkSpan } from './chunks/plan.ts';
export { concatList, buildChunkJoinArgs } from './chunks/join.ts';
export { buildPosterArgs, posterKey, posterTime } from './poster.ts';
export { waveformSource, waveformGeometry } from './waveform.ts';
export { FfmpegBackend, finalVideoKey, inputRefs } from './render.ts';
export type { EncoderBackend, RenderRequest, RenderResult, FfmpegBackendOptions } from './render.ts';
export {
  buildMediaConvertJob,
  planMediaConvert,
  estimateMediaConvertCostUsd,
  splitOutputUrl,
  toTimecode,
  DEFAULT_MEDIACONVERT_RATES,
} from './mediaconvert/build-job.ts';
export type {
  BuildMediaConvertJobOptions,
  MediaConvertRates,
  UnsupportedFeature,
} from './mediaconvert/build-job.ts';
export { MediaConvertBackend, type MediaConvertBackendOptions } from './mediaconvert/backend.ts';
export { buildAudioFallbackArgs, fallbackAudioKey, renderAudioFallback } from './audio-fallback.ts';
export { renderTimelineEvent, wantsHls, type TimelineRenderDeps } from './handle-timeline.ts';
export { EncoderEnv, mediaConvertEnabled, type EncoderConfig } from './config.ts';
export * from './merge/index.ts';
export { deliveryAudioArgs, deliveryVideoArgs } from './delivery.ts';
export * from './hls/index.ts';
