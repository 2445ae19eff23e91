export {
  buildStoryTimeline,
  imageSpans,
  musicTracks,
  cornerLogoRect,
  KEN_BURNS_MOVES,
  STORY_SIZE,
  STORY_FPS,
  CORNER_LOGO_OPACITY,
  type BuildStoryTimelineOptions,
  type StoryMusic,
} from './timeline.ts';
export { DEFAULT_LOGO_KEY, defaultLogoArgs, ensureDefaultLogo } from './brand.ts';
export {
  StoryState,
  readStoryState,
  claimStoryIfComplete,
  collectStoryAudio,
  collectStoryImages,
  publishStoryIfClaimed,
  type StoryDeps,
} from './handle.ts';
export { StoryEnv, type StoryConfig } from './config.ts';
export { seedStoryAssets, storyAssetSeeder, SEEDING_MUSIC_MESSAGE } from './seed.ts';
