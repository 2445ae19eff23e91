export type { MediaInfo, StreamInfo, FfmpegProgress, RunFfmpegOptions, FfmpegRunResult } from './types.ts';
export { probe } from './probe.ts';
export {
  runFfmpeg,
  buildProgressArgs,
  buildFfmpegArgs,
  parseBenchmarkLine,
  formatCommand,
  parseProgressBlock,
  DEFAULT_STALL_TIMEOUT_MS,
} from './run.ts';
export {
  FfmpegError,
  FfmpegStalledError,
  isFfmpegError,
  isFfmpegStalledError,
  abortError,
} from './errors.ts';
export { withTempDir } from './temp.ts';
export { parseVolumeDetect, isVolumeDetectLine, type VolumeStats } from './volume.ts';
export {
  deliveryOutputArgs,
  h264VideoArgs,
  aacAudioArgs,
  x264Preset,
  FASTSTART_ARGS,
  X264_PRESETS,
  DEFAULT_X264_PRESET,
  DEFAULT_CRF,
  DEFAULT_AAC_KBPS,
  DELIVERY_SAMPLE_RATE,
  DELIVERY_CHANNELS,
  type X264Preset,
  type H264Profile,
  type H264Options,
  type AacOptions,
} from './preset.ts';
export { escapeFilterValue, filterPath } from './filter-escape.ts';
