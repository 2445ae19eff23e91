import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTransient } from '../errors.ts';
import { freePort } from '../testing/nats.ts';
import { startLocalS3, type LocalS3 } from '../testing/s3rver.ts';
import { blobStoreContract } from './contract.ts';
import { createBlobStore } from './create.ts';
import { S3BlobStore } from './s3.ts';

const BUCKET = 'reelbus-test';
let server: LocalS3 | undefined;
let endpoint: string;

/** A local S3 (s3rver, plus the x-amz-tagging header on writes) on a free port with its data in a temp dir. */
beforeAll(async () => {
  server = await startLocalS3({ buckets: [BUCKET] });
  endpoint = server.endpoint;
});
afterAll(async () => {
  await server?.close();
});

const s3rverStore = (bucket = BUCKET) =>
  new S3BlobStore({
    bucket,
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestTimeoutMs: 10_000,
  });

blobStoreContract('S3BlobStore on s3rver', async () => s3rverStore());

describe.skipIf(!process.env.S3_TEST_BUCKET)('real S3 (S3_TEST_BUCKET)', () => {
  blobStoreContract('S3BlobStore on S3_TEST_BUCKET', async () =>
    createBlobStore({
      kind: 's3',
      bucket: process.env.S3_TEST_BUCKET!,
      region: process.env.S3_TEST_REGION ?? process.env.AWS_REGION ?? 'us-east-1',
      ...(process.env.S3_TEST_ENDPOINT
        ? { endpoint: process.env.S3_TEST_ENDPOINT, forcePathStyle: true }
        : {}),
    }),
  );
});

describe('S3BlobStore errors', () => {
  it('names the operation, key and bucket when the bucket does not exist', async () => {
    const store = s3rverStore('no-such-bucket-here');
    const err = (await store.put('jobs/j1/final.mp4', 'x').catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/s3 put of "jobs\/j1\/final.mp4" in bucket no-such-bucket-here failed/);
    await store.close();
  });

  it('reports an unreachable endpoint as transient, naming the key', async () => {
    const port = await freePort(); // nothing listens here
    const store = new S3BlobStore({
      bucket: BUCKET,
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${port}`,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      maxAttempts: 1,
    });
    const err = (await store.stat('jobs/j1/in.wav').catch((e: unknown) => e)) as Error;
    expect(isTransient(err)).toBe(true);
    expect(err.name).toBe('TransientError');
    expect(err.message).toContain('s3 stat of "jobs/j1/in.wav"');
    await store.close();
  });
});
