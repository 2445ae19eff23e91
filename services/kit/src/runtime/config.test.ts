import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { env } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { parseBaseConfig, parseServiceConfig } from './config.ts';

describe('runtime config', () => {
  it('uses the documented defaults when nothing is set', () => {
    const c = parseBaseConfig({});
    expect(c).toMatchObject({
      natsUrl: ['nats://127.0.0.1:4222'],
      namespace: 'reelbus',
      logLevel: 'info',
      healthPort: 0,
      blobStore: 'fs',
      blobDir: './.reelbus/blobs',
      jobStore: 'kv',
      streamReplicas: 1,
      shutdownGraceMs: 25_000,
      concurrency: 1,
      stallTimeoutMs: 120_000,
      otlpEndpoint: undefined,
    });
    expect(c.tmpDir.length).toBeGreaterThan(0);
  });

  it('reads every variable', () => {
    const c = parseBaseConfig({
      NATS_URL: 'nats://a:4222, nats://b:4222',
      REELBUS_NAMESPACE: 'prod',
      HEALTH_PORT: '8080',
      BLOB_STORE: 's3',
      S3_BUCKET: 'media',
      S3_ENDPOINT: 'http://minio:9000',
      S3_FORCE_PATH_STYLE: 'true',
      JOB_STORE: 'mongo',
      MONGODB_URI: 'mongodb://mongo:27017',
      STREAM_REPLICAS: '3',
      WORK_CONCURRENCY: '4',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318',
    });
    expect(c.natsUrl).toEqual(['nats://a:4222', 'nats://b:4222']);
    expect(c.s3).toEqual({
      bucket: 'media',
      region: 'us-east-1',
      endpoint: 'http://minio:9000',
      forcePathStyle: true,
    });
    expect([c.jobStore, c.mongoUri, c.streamReplicas, c.concurrency, c.healthPort]).toEqual([
      'mongo',
      'mongodb://mongo:27017',
      3,
      4,
      8080,
    ]);
    expect(c.otlpEndpoint).toBe('http://jaeger:4318');
  });

  it("reports one line per bad variable, the service's own included", () => {
    let err: unknown;
    try {
      parseServiceConfig({
        env: {
          NATS_URL: 'localhost:4222',
          HEALTH_PORT: 'eighty',
          WORK_CONCURRENCY: '0',
          BLOB_STORE: 'ftp',
          REELBUS_NAMESPACE: 'Bad Name',
        },
        schema: z.object({ TWILIO_AUTH_TOKEN: env.string() }),
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    expect(problems).toHaveLength(6);
    expect(problems).toEqual(
      expect.arrayContaining([
        'NATS_URL: must be one or more comma-separated nats:// URLs (got "localhost:4222")',
        'HEALTH_PORT: must be a whole number (got "eighty")',
        'WORK_CONCURRENCY: must be at least 1 (got "0")',
        'BLOB_STORE: must be one of fs, s3 (got "ftp")',
        expect.stringMatching(/^REELBUS_NAMESPACE: must be 1-32 lower-case .* \(got "Bad Name"\)$/),
        expect.stringMatching(/^TWILIO_AUTH_TOKEN: .*\(not set\)$/),
      ]),
    );
  });

  it('asks for the settings a choice needs', () => {
    expect(() => parseBaseConfig({ BLOB_STORE: 's3', JOB_STORE: 'mongo' })).toThrow(ConfigError);
    try {
      parseBaseConfig({ BLOB_STORE: 's3', JOB_STORE: 'mongo' });
    } catch (e) {
      expect((e as ConfigError).problems).toEqual([
        'S3_BUCKET: required when BLOB_STORE=s3 (not set)',
        'MONGODB_URI: required when JOB_STORE=mongo (not set)',
      ]);
    }
  });
});
