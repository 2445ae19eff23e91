import { tmpdir } from 'node:os';
import { z } from 'zod';
import { env, parseConfig } from '../config.ts';
import { ConfigError } from '../errors.ts';
import type { BaseConfig } from './types.ts';

const natsUrls = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  )
  .refine(
    (urls) =>
      urls.length > 0 &&
      urls.every((u) => {
        try {
          return ['nats:', 'tls:', 'ws:', 'wss:'].includes(new URL(u).protocol);
        } catch {
          return false;
        }
      }),
    { message: 'must be one or more comma-separated nats:// URLs' },
  );

/** The environment variables every service reads, with their defaults. */
export const BaseEnv = z.object({
  NATS_URL: natsUrls.default(['nats://127.0.0.1:4222']),
  REELBUS_NAMESPACE: z
    .string()
    .regex(
      /^[a-z][a-z0-9_-]{0,31}$/,
      'must be 1-32 lower-case letters, digits, "-" or "_", starting with a letter',
    )
    .default('reelbus'),
  LOG_LEVEL: env.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HEALTH_HOST: env.string().default('0.0.0.0'),
  HEALTH_PORT: env.int({ min: 0, max: 65535 }).default(0),
  OTEL_EXPORTER_OTLP_ENDPOINT: env.url().optional(),
  BLOB_STORE: env.enum(['fs', 's3']).default('fs'),
  BLOB_DIR: env.string().default('./.reelbus/blobs'),
  S3_BUCKET: env.string().optional(),
  S3_REGION: env.string().default('us-east-1'),
  S3_ENDPOINT: env.url().optional(),
  S3_FORCE_PATH_STYLE: env.bool().default(false),
  JOB_STORE: env.enum(['kv', 'mongo']).default('kv'),
  MONGODB_URI: env.url(['mongodb', 'mongodb+srv']).optional(),
  MONGODB_DB: env.string().default('reelbus'),
  STREAM_REPLICAS: env.int({ min: 1, max: 5 }).default(1),
  SHUTDOWN_GRACE_MS: env.int({ min: 0, max: 3_600_000 }).default(25_000),
  WORK_CONCURRENCY: env.int({ min: 1, max: 256 }).default(1),
  TMP_DIR: env.string().default(tmpdir()),
  FFMPEG_STALL_TIMEOUT_MS: env.int({ min: 1_000 }).default(120_000),
  CONSUMER_ACK_WAIT_MS: env.int({ min: 1_000, max: 3_600_000 }).default(30_000),
  CONSUMER_MAX_DELIVER: env.int({ min: 1, max: 100 }).default(5),
});

/**
 * Parses the base settings from `env`. Throws ConfigError with one line per bad or missing
 * variable (including settings that only matter together, e.g. BLOB_STORE=s3 needs S3_BUCKET).
 */
export function parseBaseConfig(source: Record<string, string | undefined>): BaseConfig {
  const e = parseConfig(BaseEnv, source);
  const problems: string[] = [];
  if (e.BLOB_STORE === 's3' && !e.S3_BUCKET)
    problems.push('S3_BUCKET: required when BLOB_STORE=s3 (not set)');
  if (e.JOB_STORE === 'mongo' && !e.MONGODB_URI)
    problems.push('MONGODB_URI: required when JOB_STORE=mongo (not set)');
  if (problems.length) throw new ConfigError(problems);
  return {
    natsUrl: e.NATS_URL,
    namespace: e.REELBUS_NAMESPACE,
    logLevel: e.LOG_LEVEL,
    healthHost: e.HEALTH_HOST,
    healthPort: e.HEALTH_PORT,
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
    blobStore: e.BLOB_STORE,
    blobDir: e.BLOB_DIR,
    s3: {
      bucket: e.S3_BUCKET,
      region: e.S3_REGION,
      endpoint: e.S3_ENDPOINT,
      forcePathStyle: e.S3_FORCE_PATH_STYLE,
    },
    jobStore: e.JOB_STORE,
    mongoUri: e.MONGODB_URI,
    mongoDb: e.MONGODB_DB,
    streamReplicas: e.STREAM_REPLICAS,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    concurrency: e.WORK_CONCURRENCY,
    tmpDir: e.TMP_DIR,
    stallTimeoutMs: e.FFMPEG_STALL_TIMEOUT_MS,
    ackWaitMs: e.CONSUMER_ACK_WAIT_MS,
    maxDeliver: e.CONSUMER_MAX_DELIVER,
  };
}

/**
 * Parses the base settings and a service's own schema together, so a user sees every wrong
 * variable at once.
 */
export function parseServiceConfig<S extends z.ZodObject>(opts: {
  env: Record<string, string | undefined>;
  schema?: S;
}): { base: BaseConfig; config: z.infer<S> } {
  const { env: source, schema } = opts;
  const problems: string[] = [];
  let base: BaseConfig | undefined;
  let config: z.infer<S> | undefined;
  try {
    base = parseBaseConfig(source);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  try {
    config = schema ? parseConfig(schema, source) : ({} as z.infer<S>);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  if (problems.length || !base) throw new ConfigError(problems);
  return { base, config: config as z.infer<S> };
}

/** The process environment: read here only, the one config module of the runtime. */
export function processEnv(): Record<string, string | undefined> {
  return process.env;
}
