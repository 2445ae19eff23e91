export { StoryAudioEnv, toStoryAudioSettings, splitterConcurrency } from './config.ts';
export { handleStoryAudio, storyKeys, type StoryAudioSettings } from './handle-story.ts';
export { fetchStoryAudio, audioExtension, type StoryFetchSettings } from './fetch-audio.ts';
export {
  buildMeasureArgs,
  buildApplyArgs,
  parseLoudnormJson,
  runLoudnormPass,
  DEFAULT_LOUDNESS_TARGET,
  VOICE_SAMPLE_RATE,
  type LoudnessTarget,
  type LoudnessMeasurement,
} from './loudnorm.ts';
