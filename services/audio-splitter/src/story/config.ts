import { env } from '@reelbus/kit';
import { z } from 'zod';
import { DEFAULT_LOUDNESS_TARGET } from './loudnorm.ts';
import type { StoryAudioSettings } from './handle-story.ts';

/** The story-audio settings of the audio-splitter (merged into its environment schema in main.ts). */
export const StoryAudioEnv = z.object({
  /** Allow http and loopback / private / link-local story-audio URLs (tests, the embedded stack). */
  STORY_ALLOW_PRIVATE_URLS: env.bool().default(false),
  /** Limit of the story-audio download: connect, redirects and the whole body. */
  FETCH_TIMEOUT_MS: env.int({ min: 100, max: 3_600_000 }).default(120_000),
  /** Largest story-audio download accepted, bytes (default 512 MiB: hours of WAV). */
  STORY_AUDIO_MAX_BYTES: env.int({ min: 1024 }).default(512 * 1024 * 1024),
  /** EBU R128 target of the normalised voice (see story/loudnorm.ts for why -16 / -1.5 / 11). */
  LOUDNESS_TARGET_LUFS: env.number({ min: -40, max: -5 }).default(DEFAULT_LOUDNESS_TARGET.integratedLufs),
  LOUDNESS_TRUE_PEAK_DB: env.number({ min: -9, max: 0 }).default(DEFAULT_LOUDNESS_TARGET.truePeakDb),
  LOUDNESS_LRA: env.number({ min: 1, max: 50 }).default(DEFAULT_LOUDNESS_TARGET.lra),
});
export type StoryAudioEnv = z.infer<typeof StoryAudioEnv>;

/** Turns parsed environment values into the story handler's settings. */
export function toStoryAudioSettings(opts: {
  env: StoryAudioEnv;
  tmpDir: string;
  stallTimeoutMs?: number;
}): StoryAudioSettings {
  const { env: e, tmpDir, stallTimeoutMs } = opts;
  return {
    fetch: {
      allowPrivate: e.STORY_ALLOW_PRIVATE_URLS,
      timeoutMs: e.FETCH_TIMEOUT_MS,
      maxBytes: e.STORY_AUDIO_MAX_BYTES,
    },
    loudness: {
      integratedLufs: e.LOUDNESS_TARGET_LUFS,
      truePeakDb: e.LOUDNESS_TRUE_PEAK_DB,
      lra: e.LOUDNESS_LRA,
    },
    tmpDir,
    ...(stallTimeoutMs !== undefined ? { stallTimeoutMs } : {}),
  };
}

/** The splitter consumes two event types (recordings and stories): at least one worker slot each. */
export function splitterConcurrency(configured: number): number {
  return Math.max(configured, 2);
}
