import { env } from '@reelbus/kit';
import { z } from 'zod';

/** The audio-splitter's own environment (the kit runtime parses the shared settings). */
export const AudioSplitterEnv = z.object({
  /** Basic-auth credentials for Twilio recording downloads; sent only to Twilio recordings. */
  TWILIO_ACCOUNT_SID: env.string().optional(),
  TWILIO_AUTH_TOKEN: env.string().optional(),
  /** Per-attempt limit of a recording download (connect + whole body). */
  DOWNLOAD_TIMEOUT_MS: env.int({ min: 100 }).default(30_000),
  DOWNLOAD_ATTEMPTS: env.int({ min: 1, max: 10 }).default(3),
  /** First backoff between download attempts; doubles each time (1 s, 2 s, 4 s). */
  DOWNLOAD_BACKOFF_MS: env.int({ min: 0 }).default(1_000),
  /** A channel whose peak stays below this (dBFS) for the whole call is flagged silent. */
  SILENCE_THRESHOLD_DB: env.number({ min: -120, max: 0 }).default(-50),
});
export type AudioSplitterEnv = z.infer<typeof AudioSplitterEnv>;
