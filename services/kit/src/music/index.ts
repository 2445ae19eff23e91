export {
  MUSIC_PREFIX,
  MUSIC_MOODS,
  musicVariantKey,
  parseMusicKey,
  listTracks,
  seedIndex,
  pickMusic,
  chooseMusic,
  type MusicMoodName,
  type MusicVariant,
  type MusicTrack,
  type MusicChoice,
} from './library.ts';
export {
  SAMPLE_TRACKS,
  SAMPLE_VARIANTS_SEC,
  SAMPLE_AMPLITUDE,
  sampleTrackExpression,
  sampleTrackArgs,
  baseLoopSeconds,
  seedSampleLibrary,
  type SampleTrackSpec,
} from './seed.ts';
