export {
  buildCallTimeline,
  fitRect,
  ROLE_LABEL,
  speakerCardClips,
  type BuildCallTimelineOptions,
  type CallClip,
  type DrawnSpeaker,
} from './call-layout.ts';
export {
  decideCallRendering,
  LOCAL_PROVIDER,
  type CallRendering,
  type CallRenderingDecision,
} from './call-rendering.ts';
export { DefaultFaces, DEFAULT_FACE_PREFIX, jobFaceKey, resolveFaces } from './faces.ts';
export { CallState, StoredClip, TimelineClaim, readCallState, readClips, readClaim } from './call-state.ts';
export { claimIfComplete, clipsComplete, drawnSpeakers, publishIfClaimed } from './fan-in.ts';
export { composeCall, type ComposeDeps } from './handle-audio-split.ts';
export { collectCallClip } from './handle-clip-generated.ts';
export { CompositorEnv, type CompositorConfig } from './config.ts';
export * from './story/index.ts';
export * from './render/index.ts';
