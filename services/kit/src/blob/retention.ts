/*
 * Retention of blobs (issue 15 §1). Every blob a step writes for a job is either an **output** (what
 * the job delivers: final video/audio, HLS, poster, a generation's media) or an **intermediate**
 * (what it was made from: fetched inputs, split audio, clips, converted images, normalised voice,
 * chunks). Intermediates go `INTERMEDIATE_TTL` after the job finished, outputs `OUTPUT_TTL` after it.
 *
 * How a write says so: the `retention` option of `put` / `putFile`. Without it, the key's name
 * decides (`conventionalRetention`), so a writer only has to speak when its key would mislead. The
 * store keeps the class with the blob: an S3 object tag (`reelbus-retention`, set on the PUT, which
 * lifecycle rules expire by) or the filesystem store's sidecar.
 */

/** What a blob is to its job. */
export type Retention = 'output' | 'intermediate';

export const RETENTIONS: readonly Retention[] = ['output', 'intermediate'];

/** The S3 object tag (and filesystem sidecar field) that holds a blob's class. */
export const RETENTION_TAG = 'reelbus-retention';

/** Keys of a job's blobs: `jobs/<jobId>/<path>`. */
const JOB_KEY = /^jobs\/([A-Za-z0-9_-]{1,128})\/(.+)$/;

/** The job a key belongs to (`jobs/<jobId>/…`), or undefined for keys outside `jobs/`. */
export function jobIdOfKey(key: string): string | undefined {
  return JOB_KEY.exec(key)?.[1];
}

/** The prefix under which every blob of `jobId` lives. */
export function jobBlobPrefix(jobId: string): string {
  return `jobs/${jobId}/`;
}

/**
 * The class a job's blob has when its writer does not say (pure). Under `jobs/<id>/`:
 * `final.*`, `final-*` (the audio-only fallback), `poster.*`, `hls/…` and `generate/<name>` (a
 * generation's media) are outputs; everything else (`input/`, `split/`, `clips/`, `images/`,
 * `audio/`, `chunks/`, `brand/`, `encode/`, …) is an intermediate. Keys outside `jobs/` (the music
 * library, brand assets, a scene project's `projects/<id>/…`) belong to no job: undefined, never swept.
 */
export function conventionalRetention(key: string): Retention | undefined {
  const m = JOB_KEY.exec(key);
  if (!m) return undefined;
  const rest = m[2]!;
  if (/^(final|final-[^/]+|poster)\.[^/]+$/.test(rest)) return 'output';
  if (rest.startsWith('hls/')) return 'output';
  if (/^generate\/[^/]+$/.test(rest)) return 'output';
  return 'intermediate';
}

/** The class a write stores: what the writer said, else the convention. */
export function effectiveRetention(key: string, said: Retention | undefined): Retention | undefined {
  return said ?? conventionalRetention(key);
}

/** The `x-amz-tagging` value (URL-encoded query form) for a class. */
export function retentionTagging(retention: Retention): string {
  return `${RETENTION_TAG}=${retention}`;
}

/** A class read back from a stored tag or sidecar; undefined for anything else. */
export function asRetention(value: unknown): Retention | undefined {
  return value === 'output' || value === 'intermediate' ? value : undefined;
}

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/**
 * Parses a time-to-live: `0` (at once), a number with a unit (`500ms`, `30s`, `15m`, `12h`, `7d`,
 * `2w`; fractions allowed) or `never`. Returns milliseconds, or `undefined` for never. Throws a
 * RangeError saying what is accepted.
 */
export function parseTtl(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  if (t === 'never' || t === 'forever' || t === 'off') return undefined;
  if (t === '0') return 0;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/.exec(t);
  if (!m) {
    throw new RangeError(
      `"${text}" is not a time to live: use 0, never, or a number with a unit (ms, s, m, h, d, w), e.g. 7d or 12h`,
    );
  }
  return Math.round(Number(m[1]) * UNIT_MS[m[2]!]!);
}

/** A TTL as people write it (`7d`, `90m`, `never`): the largest unit that divides it. */
export function formatTtl(ms: number | undefined): string {
  if (ms === undefined) return 'never';
  if (ms === 0) return '0';
  for (const unit of ['w', 'd', 'h', 'm', 's'] as const) {
    if (ms % UNIT_MS[unit]! === 0) return `${ms / UNIT_MS[unit]!}${unit}`;
  }
  return `${ms}ms`;
}

/** How long a job's blobs are kept after it finished; `undefined` = never removed. */
export interface RetentionPolicy {
  intermediateTtlMs: number | undefined;
  outputTtlMs: number | undefined;
}

/** The defaults: intermediates 7 days, outputs for ever. */
export const DEFAULT_RETENTION: RetentionPolicy = {
  intermediateTtlMs: 7 * 86_400_000,
  outputTtlMs: undefined,
};
