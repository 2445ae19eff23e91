export type { MediaInfo, StreamInfo, FfmpegProgress, RunFfmpegOptions, FfmpegRunResult } from './types.ts';
export { probe } from './probe.ts';
export {
  runFfmpeg,
  buildProgressArgs,
  buildFfmpegArgs,
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
