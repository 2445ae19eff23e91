/*
 * S3 lifecycle rules for blob retention (issue 15 §1), written by `reelbus storage lifecycle`.
 * S3 counts whole days from an object's creation and can expire by tag, so the rules expire objects
 * under `jobs/` tagged `reelbus-retention=intermediate` (or `output`) after the TTL rounded up to
 * whole days. A TTL under a day (0 = at once) cannot be said in days and counts from the job's end,
 * which S3 does not know: that is the retention sweeper's work, and no rule is written for it.
 * Rules whose ID does not start with `reelbus-` are someone else's and are kept on `--apply`.
 */
import { createRequire } from 'node:module';
import type * as S3Sdk from '@aws-sdk/client-s3';
import type { LifecycleRule, S3Client } from '@aws-sdk/client-s3';
import { formatTtl, RETENTION_TAG, type Retention, type RetentionPolicy } from './retention.ts';

const DAY_MS = 86_400_000;
// Loaded on use, like the S3 store does (the embedded profile never loads the AWS SDK).
const s3Sdk = () => createRequire(import.meta.url)('@aws-sdk/client-s3') as typeof S3Sdk;
/** Every rule reelbus writes has an ID with this prefix; others are left alone. */
export const LIFECYCLE_RULE_PREFIX = 'reelbus-';

export interface LifecyclePlan {
  /** The rules reelbus wants (PutBucketLifecycleConfiguration's `Rules`). */
  rules: LifecycleRule[];
  /** What each class gets, in words (what `--print` shows beside the JSON). */
  notes: string[];
}

/** Whole days S3 waits for a TTL (rounded up), or undefined when no rule can say it (never, or under a day). */
export function lifecycleDays(ttlMs: number | undefined): number | undefined {
  if (ttlMs === undefined || ttlMs < DAY_MS) return undefined;
  return Math.ceil(ttlMs / DAY_MS);
}

/** The lifecycle rules for a retention policy (pure). */
export function lifecycleRules(policy: RetentionPolicy): LifecyclePlan {
  const rules: LifecycleRule[] = [];
  const notes: string[] = [];
  const classes: Array<[Retention, number | undefined, string]> = [
    ['intermediate', policy.intermediateTtlMs, 'INTERMEDIATE_TTL'],
    ['output', policy.outputTtlMs, 'OUTPUT_TTL'],
  ];
  for (const [cls, ttl, setting] of classes) {
    const days = lifecycleDays(ttl);
    if (days !== undefined) {
      rules.push({
        ID: `${LIFECYCLE_RULE_PREFIX}${cls}-expire`,
        Status: 'Enabled',
        Filter: { And: { Prefix: 'jobs/', Tags: [{ Key: RETENTION_TAG, Value: cls }] } },
        Expiration: { Days: days },
      });
      notes.push(
        `${cls}s: expire ${days} day(s) after they were written (${setting}=${formatTtl(ttl)}; the sweeper removes them ${formatTtl(ttl)} after their job ends)`,
      );
    } else if (ttl === undefined) {
      notes.push(`${cls}s: kept (${setting}=never): no rule`);
    } else {
      notes.push(
        `${cls}s: no rule (${setting}=${formatTtl(ttl)} is under a day, counted from the job's end: the notifier's sweeper removes them)`,
      );
    }
  }
  rules.push({
    ID: `${LIFECYCLE_RULE_PREFIX}abort-incomplete-uploads`,
    Status: 'Enabled',
    Filter: { Prefix: 'jobs/' },
    AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
  });
  notes.push('incomplete multipart uploads under jobs/: aborted after 1 day');
  return { rules, notes };
}

/** The bucket's rules after applying `ours`: every rule not written by reelbus kept, ours replaced (pure). */
export function mergeLifecycleRules(existing: LifecycleRule[], ours: LifecycleRule[]): LifecycleRule[] {
  return [...existing.filter((r) => !(r.ID ?? '').startsWith(LIFECYCLE_RULE_PREFIX)), ...ours];
}

/** Reads the bucket's lifecycle rules (none when it has no configuration). */
export async function readLifecycleRules(client: S3Client, bucket: string): Promise<LifecycleRule[]> {
  try {
    const out = await client.send(new (s3Sdk().GetBucketLifecycleConfigurationCommand)({ Bucket: bucket }));
    return out.Rules ?? [];
  } catch (err) {
    const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === 'NoSuchLifecycleConfiguration' || e.Code === 'NoSuchLifecycleConfiguration') return [];
    throw err;
  }
}

/**
 * Writes the rules for `policy` to the bucket, keeping rules that are not reelbus's. Returns the
 * whole configuration written.
 */
export async function applyLifecycleRules(opts: {
  client: S3Client;
  bucket: string;
  policy: RetentionPolicy;
}): Promise<LifecycleRule[]> {
  const { client, bucket, policy } = opts;
  const rules = mergeLifecycleRules(await readLifecycleRules(client, bucket), lifecycleRules(policy).rules);
  await client.send(
    new (s3Sdk().PutBucketLifecycleConfigurationCommand)({
      Bucket: bucket,
      LifecycleConfiguration: { Rules: rules },
    }),
  );
  return rules;
}
