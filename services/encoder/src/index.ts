export {
  buildRenderArgs,
  escapeFilterValue,
  fitFilters,
  kenBurns,
  UnsupportedTimelineError,
  DEFAULT_FONT,
} from './filtergraph.ts';
export type { BuildRenderArgsOptions, RenderArgs } from './filtergraph.ts';
export { FfmpegBackend, finalVideoKey, inputRefs } from './render.ts';
export type { EncoderBackend, RenderRequest, RenderResult, FfmpegBackendOptions } from './render.ts';
export { renderTimelineEvent, type TimelineRenderDeps } from './handle-timeline.ts';
export { EncoderEnv, type EncoderConfig } from './config.ts';
