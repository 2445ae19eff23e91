import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError } from '../errors.ts';
import { METRIC, metrics } from '../health/metrics.ts';
import { freePort } from '../testing/nats.ts';
import { BlobNotFoundError } from './errors.ts';
import { FsBlobStore } from './fs.ts';
import { blobOutcomeOfFsError, blobOutcomeOfStatus } from './metrics.ts';
import { S3BlobStore } from './s3.ts';

const errno = (code: string) => Object.assign(new Error(code), { code });

describe('blob request outcomes', () => {
  it.each([
    ['GetObject', 200, 'ok'],
    ['PutObject', 204, 'ok'],
    ['GetObject', 206, 'ok'],
    ['HeadObject', 404, 'not_found'],
    ['stat', 404, 'not_found'],
    ['GetObject', 404, 'client_error'],
    ['PutObject', 403, 'client_error'],
    ['GetObject', 416, 'client_error'],
    ['PutObject', 429, 'client_error'],
    ['PutObject', 500, 'server_error'],
    ['UploadPart', 503, 'server_error'],
    ['GetObject', undefined, 'network_error'],
  ])('%s answered %s → %s', (operation, status, outcome) => {
    expect(blobOutcomeOfStatus({ operation, status })).toBe(outcome);
  });

  it.each([
    ['a missing file', errno('ENOENT'), 'client_error'],
    ['a refused permission', errno('EACCES'), 'client_error'],
    [
      'a wrapped missing file',
      new PermanentError('fs blob put failed', { cause: errno('ENOTDIR') }),
      'client_error',
    ],
    ['BlobNotFoundError', new BlobNotFoundError('a/b'), 'client_error'],
    ['an invalid range', new PermanentError('invalid byte range 5-1'), 'client_error'],
    ['a full disk', new PermanentError('fs blob put failed', { cause: errno('ENOSPC') }), 'server_error'],
    ['an I/O error', errno('EIO'), 'server_error'],
    ['something unknown', new Error('boom'), 'server_error'],
  ])('the filesystem store: %s → %s', (_name, err, outcome) => {
    expect(blobOutcomeOfFsError(err)).toBe(outcome);
  });
});

const count = (labels: Record<string, string>) => metrics.value(METRIC.blobRequests, labels);

describe('the filesystem store counts its requests', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reelbus-blob-metrics-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('counts each call once, a missing stat as not_found and a missing get as client_error', async () => {
    const store = new FsBlobStore({ root: dir });
    const fs = (operation: string, outcome: string) => count({ store: 'fs', operation, outcome });
    const before = {
      put: fs('put', 'ok'),
      stat: fs('stat', 'ok'),
      missing: fs('stat', 'not_found'),
      get: fs('get', 'client_error'),
      list: fs('list', 'ok'),
    };
    await store.put('jobs/j1/a.txt', 'hello'); // its internal stat is not counted
    await store.stat('jobs/j1/a.txt');
    await store.stat('jobs/j1/none.txt');
    await expect(store.get('jobs/j1/none.txt')).rejects.toThrow(BlobNotFoundError);
    await store.list('jobs/j1/');
    expect(fs('put', 'ok') - before.put).toBe(1);
    expect(fs('stat', 'ok') - before.stat).toBe(1);
    expect(fs('stat', 'not_found') - before.missing).toBe(1);
    expect(fs('get', 'client_error') - before.get).toBe(1);
    expect(fs('list', 'ok') - before.list).toBe(1);
  });
});

describe('the S3 store counts every HTTP request, retries included', () => {
  const BUCKET = 'reelbus-metrics';
  let s3: S3rver;
  let dir: string;
  let endpoint: string;
  let failing: Server;
  let failingUrl: string;
  let failingHits = 0;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reelbus-s3rver-metrics-'));
    const port = await freePort();
    s3 = new S3rver({
      address: '127.0.0.1',
      port,
      silent: true,
      directory: dir,
      configureBuckets: [{ name: BUCKET }],
    });
    await s3.run();
    endpoint = `http://127.0.0.1:${port}`;
    // an S3 endpoint in trouble: every request gets 503 SlowDown
    failing = createServer((req, res) => {
      failingHits++;
      req.resume();
      res.writeHead(503, { 'content-type': 'application/xml' });
      res.end(
        '<?xml version="1.0"?><Error><Code>SlowDown</Code><Message>Reduce your request rate</Message></Error>',
      );
    });
    await new Promise<void>((r) => failing.listen(0, '127.0.0.1', r));
    failingUrl = `http://127.0.0.1:${(failing.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await s3?.close();
    failing?.closeAllConnections();
    await new Promise((r) => failing?.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  const store = (opts: { endpoint: string; maxAttempts?: number }) =>
    new S3BlobStore({
      bucket: BUCKET,
      region: 'us-east-1',
      endpoint: opts.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      maxAttempts: opts.maxAttempts ?? 1,
      requestTimeoutMs: 10_000,
    });
  const s3count = (operation: string, outcome: string) => count({ store: 's3', operation, outcome });

  it('counts a put, a present and a missing HeadObject, and a GetObject of a missing key', async () => {
    const s = store({ endpoint });
    const before = {
      put: s3count('PutObject', 'ok'),
      head: s3count('HeadObject', 'ok'),
      missing: s3count('HeadObject', 'not_found'),
      get: s3count('GetObject', 'client_error'),
    };
    await s.put('jobs/j1/a.txt', 'hello');
    expect(await s.stat('jobs/j1/a.txt')).toMatchObject({ size: 5 });
    expect(await s.stat('jobs/j1/none.txt')).toBeUndefined();
    await expect(s.get('jobs/j1/none.txt')).rejects.toThrow(BlobNotFoundError);
    expect(s3count('PutObject', 'ok') - before.put).toBe(1);
    expect(s3count('HeadObject', 'ok') - before.head).toBe(1);
    expect(s3count('HeadObject', 'not_found') - before.missing).toBe(1);
    expect(s3count('GetObject', 'client_error') - before.get).toBe(1);
    await s.close();
  });

  it('counts each attempt the SDK makes against a server answering 503 as a server_error', async () => {
    const s = store({ endpoint: failingUrl, maxAttempts: 3 });
    const before = s3count('PutObject', 'server_error');
    const hits = failingHits;
    await expect(s.put('jobs/j1/b.txt', 'x')).rejects.toThrow(/s3 put of "jobs\/j1\/b.txt"/);
    expect(failingHits - hits).toBe(3);
    expect(s3count('PutObject', 'server_error') - before).toBe(3);
    await s.close();
  });

  it('counts a request nobody answers as a network_error', async () => {
    const s = store({ endpoint: `http://127.0.0.1:${await freePort()}` });
    const before = s3count('HeadObject', 'network_error');
    await expect(s.stat('jobs/j1/c.txt')).rejects.toThrow(/s3 stat/);
    expect(s3count('HeadObject', 'network_error') - before).toBe(1);
    await s.close();
  });
});
