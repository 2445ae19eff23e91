// `reelbus storage lifecycle --print|--apply`: the S3 lifecycle rules that expire tagged
// intermediates (and outputs, when OUTPUT_TTL is set) in whole days (issue 15 §1).
import {
  applyLifecycleRules,
  lifecycleRules,
  parseTtl,
  S3BlobStore,
  type RetentionPolicy,
} from '@reelbus/kit';

export interface LifecycleEnv {
  policy: RetentionPolicy;
  bucket: string | undefined;
  region: string;
  endpoint: string | undefined;
  forcePathStyle: boolean;
}

/** The settings the command reads: the notifier's TTLs and the services' S3 settings. Throws naming a bad one. */
export function lifecycleEnv(env: Record<string, string | undefined>): LifecycleEnv {
  const ttl = (name: string, fallback: string) => {
    try {
      return parseTtl(env[name] ?? fallback);
    } catch (err) {
      throw new Error(`${name}: ${(err as Error).message}`);
    }
  };
  return {
    policy: {
      intermediateTtlMs: ttl('INTERMEDIATE_TTL', '7d'),
      outputTtlMs: ttl('OUTPUT_TTL', 'never'),
    },
    bucket: env.S3_BUCKET,
    region: env.S3_REGION ?? 'us-east-1',
    endpoint: env.S3_ENDPOINT,
    forcePathStyle: env.S3_FORCE_PATH_STYLE === 'true' || env.S3_FORCE_PATH_STYLE === '1',
  };
}

/**
 * `--print` writes the rules (PutBucketLifecycleConfiguration's `LifecycleConfiguration`, JSON) and
 * what they mean; `--apply` writes them to S3_BUCKET, keeping rules that are not reelbus's.
 */
export async function runStorageLifecycle(opts: {
  mode: 'print' | 'apply';
  env: Record<string, string | undefined>;
  out?: (line: string) => void;
}): Promise<void> {
  const { mode, env, out = (l) => console.log(l) } = opts;
  const e = lifecycleEnv(env);
  const plan = lifecycleRules(e.policy);
  if (mode === 'print') {
    out(JSON.stringify({ Rules: plan.rules }, null, 2));
    for (const n of plan.notes) out(`# ${n}`);
    return;
  }
  if (!e.bucket)
    throw new Error('S3_BUCKET: required by "storage lifecycle --apply" (the bucket to write the rules to)');
  const store = new S3BlobStore({
    bucket: e.bucket,
    region: e.region,
    ...(e.endpoint ? { endpoint: e.endpoint } : {}),
    forcePathStyle: e.forcePathStyle,
  });
  try {
    const rules = await applyLifecycleRules({ client: store.client, bucket: e.bucket, policy: e.policy });
    out(`wrote ${rules.length} lifecycle rule(s) to s3://${e.bucket}:`);
    for (const r of rules) out(`  ${r.ID ?? '(no id)'}  ${r.Status}`);
    for (const n of plan.notes) out(`# ${n}`);
  } finally {
    store.client.destroy();
  }
}
