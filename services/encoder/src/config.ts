import { z } from 'zod';
import { env } from '@reelbus/kit';
import { DEFAULT_CHUNK_THRESHOLD_SEC } from './chunks/decide.ts';
import { DEFAULT_CHUNK_SECONDS } from './chunks/plan.ts';
import { DEFAULT_MEDIACONVERT_RATES, type MediaConvertRates } from './mediaconvert/build-job.ts';

/** The encoder's own settings (the kit runtime reads the shared ones). */
export const EncoderEnv = z
  .object({
    /** Backend used when `timeline.ready` names none. */
    ENCODER_BACKEND: env.enum(['ffmpeg', 'mediaconvert']).default('ffmpeg'),
    /** x264 preset for every render, overriding the Timeline's (e.g. `ultrafast` on a small machine). */
    ENCODER_PRESET: env
      .enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow'])
      .optional(),
    /** Timelines longer than this (seconds) render in chunks on any free replica (ffmpeg backend). */
    CHUNK_THRESHOLD_SEC: env.number({ min: 0, max: 86_400 }).default(DEFAULT_CHUNK_THRESHOLD_SEC),
    /** Seconds of video per chunk (equal frame counts; boundaries move out of transitions). */
    CHUNK_SECONDS: env.number({ min: 0.5, max: 3_600 }).default(DEFAULT_CHUNK_SECONDS),
    /**
     * Chunks (and chunked audio) this process renders at once, besides WORK_CONCURRENCY whole renders.
     * 2: one ffmpeg runs its filter graph on one thread and keeps ~1.1 of 2 cores busy, so one encoder
     * on a 2-core machine renders two spans of a long Timeline at once (the story bench measures it).
     */
    CHUNK_CONCURRENCY: env.int({ min: 1, max: 64 }).default(2),
    /** Your account's MediaConvert endpoint; the SDK's regional default when absent. */
    MEDIACONVERT_ENDPOINT: env.url().optional(),
    /** IAM role MediaConvert assumes (S3 read/write on the bucket). Setting it enables the backend. */
    MEDIACONVERT_ROLE_ARN: z
      .string()
      .regex(
        /^arn:aws[\w-]*:iam::\d{12}:role\/.+$/,
        'must be an IAM role ARN like arn:aws:iam::123456789012:role/MediaConvertRole',
      )
      .optional(),
    MEDIACONVERT_QUEUE: env.string().optional(),
    AWS_REGION: env.string().optional(),
    MEDIACONVERT_POLL_INITIAL_MS: env.int({ min: 100, max: 60_000 }).default(2_000),
    MEDIACONVERT_POLL_MAX_MS: env.int({ min: 100, max: 300_000 }).default(15_000),
    MEDIACONVERT_TIMEOUT_MS: env.int({ min: 1_000, max: 6 * 3600_000 }).default(30 * 60_000),
    /** Video bitrate (CBR) when the Timeline sets none. */
    MEDIACONVERT_BITRATE_KBPS: env.int({ min: 100, max: 100_000 }).default(3_000),
    MEDIACONVERT_PRICE_PER_MINUTE_SD_USD: env
      .number({ min: 0 })
      .default(DEFAULT_MEDIACONVERT_RATES.perMinuteSdUsd),
    MEDIACONVERT_PRICE_PER_MINUTE_HD_USD: env
      .number({ min: 0 })
      .default(DEFAULT_MEDIACONVERT_RATES.perMinuteHdUsd),
    MEDIACONVERT_PRICE_PER_MINUTE_UHD_USD: env
      .number({ min: 0 })
      .default(DEFAULT_MEDIACONVERT_RATES.perMinuteUhdUsd),
    MEDIACONVERT_PRICE_PER_IMAGE_USD: env.number({ min: 0 }).default(DEFAULT_MEDIACONVERT_RATES.perImageUsd),
    /** Allow http and loopback / private / link-local merge input URLs (tests, private networks). */
    MERGE_ALLOW_PRIVATE_URLS: env.bool().default(false),
    /** Limit of one merge input download: connect, redirects and the whole body. */
    MERGE_FETCH_TIMEOUT_MS: env.int({ min: 100, max: 3_600_000 }).default(300_000),
    /** Largest merge input download accepted, bytes (default 2 GiB). */
    MERGE_INPUT_MAX_BYTES: env.int({ min: 1024 }).default(2 * 1024 * 1024 * 1024),
  })
  .superRefine((c, ctx) => {
    if (c.ENCODER_BACKEND !== 'mediaconvert' && !c.MEDIACONVERT_ROLE_ARN) return;
    // The backend is on (default, or a job may ask for it): it needs a role and a region.
    if (!c.MEDIACONVERT_ROLE_ARN) {
      ctx.addIssue({
        code: 'custom',
        path: ['MEDIACONVERT_ROLE_ARN'],
        message: 'is required when ENCODER_BACKEND=mediaconvert',
      });
    }
    if (!c.AWS_REGION) {
      ctx.addIssue({
        code: 'custom',
        path: ['AWS_REGION'],
        message: 'is required for the mediaconvert backend',
      });
    }
  });
export type EncoderConfig = z.infer<typeof EncoderEnv>;

/** True when this encoder runs the MediaConvert backend (it is the default, or it is configured so jobs may ask for it). */
export function mediaConvertEnabled(config: EncoderConfig): boolean {
  return config.ENCODER_BACKEND === 'mediaconvert' || config.MEDIACONVERT_ROLE_ARN !== undefined;
}

/** The price table from the settings. */
export function mediaConvertRates(config: EncoderConfig): MediaConvertRates {
  return {
    perMinuteSdUsd: config.MEDIACONVERT_PRICE_PER_MINUTE_SD_USD,
    perMinuteHdUsd: config.MEDIACONVERT_PRICE_PER_MINUTE_HD_USD,
    perMinuteUhdUsd: config.MEDIACONVERT_PRICE_PER_MINUTE_UHD_USD,
    perImageUsd: config.MEDIACONVERT_PRICE_PER_IMAGE_USD,
  };
}
