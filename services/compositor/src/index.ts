export {
  buildCallTimeline,
  ROLE_LABEL,
  type BuildCallTimelineOptions,
  type CallClip,
} from './call-layout.ts';
export { CallState, StoredClip, TimelineClaim, readCallState, readClips, readClaim } from './call-state.ts';
export { claimIfComplete, clipsComplete, publishIfClaimed } from './fan-in.ts';
export { requestCallClips, type ComposeDeps } from './handle-audio-split.ts';
export { collectCallClip } from './handle-clip-generated.ts';
export { CompositorEnv, type CompositorConfig } from './config.ts';
export * from './story/index.ts';
export * from './render/index.ts';
