export { handleMergeRequested, type MergeDeps } from './handle-merge.ts';
export { mergeClips, type MergeInput, type MergeOptions, type MergeResult } from './merge.ts';
export {
  compareClips,
  describeDifference,
  planMerge,
  isWebReadyAudio,
  isWebReadyVideo,
  VIDEO_FIELDS,
  AUDIO_FIELDS,
} from './compare.ts';
export type { Comparison, Difference, MergePlan, ClipPlan, VideoTarget, AudioTarget } from './compare.ts';
export { probeClip, parseClipProbe, clipProbeArgs, hexFromDump, parseAacConfig } from './probe.ts';
export type { ClipProbe, VideoParams, AudioParams } from './probe.ts';
export { planAudioJoin, parseAdts, joinAdts } from './audio-join.ts';
export type { AudioJoinClip, AudioJoinPlan, FrameRef } from './audio-join.ts';
export {
  concatList,
  extractAudioArgs,
  fitVideoFilter,
  joinArgs,
  normaliseArgs,
  reproductionArgs,
  silenceArgs,
} from './args.ts';
export {
  resolveMergeInputs,
  fetchClip,
  fetchedClipKey,
  videoExtension,
  type MergeFetchSettings,
} from './inputs.ts';
