export { AiGeneratorEnv, loadAiGeneratorEnv } from './config.ts';
export {
  handleClipRequested,
  clipKey,
  BUNDLED_FACES,
  type ClipDeps,
  type ClipSettings,
} from './handle-clip-requested.ts';
export { createProviders } from './providers/index.ts';
export { createLocalProvider, buildSpeakerCardArgs } from './providers/local.ts';
export { createFalProvider, rewriteFalUrl, FalError, type FalProviderOptions } from './providers/fal.ts';
export { modelSpec, type ModelSpec } from './providers/registry.ts';
export type { AvatarProvider, GenerateRequest, GeneratedClip } from './providers/types.ts';
export {
  generateClip,
  planSegments,
  parseSilences,
  buildJoinArgs,
  type Segment,
  type Silence,
} from './segment.ts';
export { makePlaceholderClip } from './placeholder.ts';
export { startFakeFalServer, type FakeFalServer, type FakeBehaviour } from './testing/fake-fal-server.ts';
export {
  handleProjectAssetRequested,
  buildLoudnessApplyArgs,
  buildLoudnessMeasureArgs,
  type ProjectAssetDeps,
} from './project/handle-asset.ts';
export { createLocalGenerationProvider } from './generation/local-provider.ts';
export type { DirectProvider, GenerationProvider } from './generation/types.ts';
