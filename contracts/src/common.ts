import { z } from 'zod';

/**
 * Not absolute, no backslash, no `..` segment. A pattern rather than a refine, so the exported JSON
 * Schemas check it too (ECMA-262 lookaheads, which JSON Schema's `pattern` allows).
 */
export const BLOB_KEY_PATTERN = /^(?!\/)(?![\s\S]*\\)(?![\s\S]*(?:^|\/)\.\.(?:\/|$))[\s\S]+$/;

/** A key in blob storage: relative, `/`-separated, no `..` segments. Media travels as keys (claim check). */
export const BlobKey = z
  .string()
  .min(1)
  .max(1024)
  .regex(BLOB_KEY_PATTERN, 'must be a relative blob key without ".." segments or backslashes');

/** An absolute http(s) URL. */
export const HttpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

/** A job id: letters, digits, `-` and `_`, safe in blob keys, NATS subjects and URLs. */
export const JobId = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'must be 1-128 letters, digits, "-" or "_"');

/** Seconds of media time, never negative. */
export const Seconds = z.number().nonnegative().finite();

/** A pipeline step name, as used in job documents and `job.progress` / `job.failed` events. */
export const Step = z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be a lower-case step name');

/** Which side of a call a channel belongs to: left = caller, right = callee. */
export const SpeakerRole = z.enum(['caller', 'callee']);
export type SpeakerRole = z.infer<typeof SpeakerRole>;

/** A finished media file in blob storage. */
export const MediaOutput = z.object({
  key: BlobKey,
  durationSec: Seconds,
  sizeBytes: z.number().int().nonnegative(),
  width: z.number().int().positive().optional(),
  height: z.number().int().positive().optional(),
  contentType: z.string().optional(),
  /** Frames per second of a video output. */
  fps: z.number().positive().optional(),
  /** How many videos were joined into this one (merges and reel compiles). */
  videoCount: z.number().int().positive().optional(),
});
export type MediaOutput = z.infer<typeof MediaOutput>;
