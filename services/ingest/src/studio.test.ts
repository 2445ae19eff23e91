import { newJob } from '@reelbus/contracts';
import { silentLogger } from '@reelbus/kit';
import type { FastifyInstance } from 'fastify';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from './app.ts';
import type { IngestConfig } from './config.ts';
import { s3MediaOrigin, studioCsp, studioPathKind } from './studio.ts';
import { MemoryBlobStore, MemoryBus, MemoryJobStore } from './testing/fakes.ts';
import { auth, testConfig } from './testing/helpers.ts';

const INDEX =
  '<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body><div id="app"></div></body></html>';
const SCRIPT = 'console.log("studio")';

let dir: string;
let app: FastifyInstance;
let jobs: MemoryJobStore;
let blobs: MemoryBlobStore;

function start(over: Partial<IngestConfig> = {}) {
  jobs = new MemoryJobStore();
  blobs = new MemoryBlobStore();
  app = buildApp({
    config: testConfig({ studio: { dir, mediaOrigins: ['https://cdn.example.test'] }, ...over }),
    bus: new MemoryBus(),
    jobs,
    blobs,
    logger: silentLogger(),
  });
  return app;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'reelbus-studio-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), INDEX);
  writeFileSync(join(dir, 'assets', 'index-abc123.js'), SCRIPT);
  writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  start();
});
afterEach(async () => {
  await app.close();
  rmSync(dir, { recursive: true, force: true });
});

const EXPECTED_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https://cdn.example.test blob:; media-src 'self' https://cdn.example.test; connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

describe('the studio at /', () => {
  it('serves the app at / and at every page path, under a strict Content-Security-Policy', async () => {
    for (const url of ['/', '/jobs', '/jobs/job_123', '/watch/job_123?expires=1&signature=ab', '/sign-in']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type'], url).toMatch(/^text\/html/);
      expect(res.body, url).toBe(INDEX);
      expect(res.headers['content-security-policy'], url).toBe(EXPECTED_CSP);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['cache-control']).toBe('no-cache');
    }
  });

  it('serves the build’s files, hashed assets cached for good, and 404 for a file that is not there', async () => {
    const js = await app.inject({ method: 'GET', url: '/assets/index-abc123.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toMatch(/javascript/);
    expect(js.body).toBe(SCRIPT);
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.headers['content-security-policy']).toBe(EXPECTED_CSP);
    const icon = await app.inject({ method: 'GET', url: '/favicon.svg' });
    expect(icon.headers['content-type']).toMatch(/^image\/svg\+xml/);
    expect(icon.headers['cache-control']).toBe('no-cache');
    for (const url of ['/assets/missing.js', '/robots.txt']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
    }
    // Files outside the build are refused, however the path is spelt.
    for (const url of [
      '/assets/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/host.conf',
      '/..%2f..%2f..%2f..%2f..%2f..%2fetc%2fhost.conf',
      '/assets/..%5c..%5c..%5c..%5cetc%5chost.conf',
    ]) {
      const res = await app.inject({ method: 'GET', url });
      expect([403, 404], url).toContain(res.statusCode);
    }
    // Nothing outside the build is ever served: a path climbing out is the app's page at most.
    for (const url of [
      '/assets/../../../etc/passwd',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/..%2f..%2fetc%2fpasswd',
    ]) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.body, url).not.toContain('root:');
      expect(res.statusCode === 404 || res.body === INDEX, url).toBe(true);
    }
  });

  it('leaves /v1 to the API: an unknown API path is a JSON 404, not the app', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/nothing-here', headers: auth });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('not_found');
    const post = await app.inject({ method: 'POST', url: '/jobs' });
    expect(post.statusCode).toBe(404);
  });

  it('never compresses, so a video Range request still gets exactly its bytes with 206', async () => {
    const video = Buffer.from(Array.from({ length: 4000 }, (_, i) => i % 253));
    const key = 'jobs/job_v/final.mp4';
    await blobs.put(key, video, { contentType: 'video/mp4' });
    await jobs.create(
      newJob({
        id: 'job_v',
        kind: 'call',
        status: 'completed',
        outputs: { video: { key, durationSec: 1, sizeBytes: video.length } },
      }),
    );
    const headers = { ...auth, 'accept-encoding': 'gzip, deflate, br, zstd' };
    const part = await app.inject({
      method: 'GET',
      url: '/v1/jobs/job_v/video.mp4',
      headers: { ...headers, range: 'bytes=1000-1999' },
    });
    expect(part.statusCode).toBe(206);
    expect(part.headers['content-encoding']).toBeUndefined();
    expect(part.headers['content-range']).toBe('bytes 1000-1999/4000');
    expect(part.rawPayload.equals(video.subarray(1000, 2000))).toBe(true);
    const whole = await app.inject({ method: 'GET', url: '/v1/jobs/job_v/video.mp4', headers });
    expect(whole.statusCode).toBe(200);
    expect(whole.headers['content-encoding']).toBeUndefined();
    expect(whole.rawPayload.equals(video)).toBe(true);
    // The app's own files are not compressed either (nothing here compresses).
    const page = await app.inject({ method: 'GET', url: '/', headers: { 'accept-encoding': 'gzip, br' } });
    expect(page.headers['content-encoding']).toBeUndefined();
  });

  it('says how to build the studio when it is not built, and the API still works', async () => {
    rmSync(join(dir, 'index.html'));
    const res = await app.inject({ method: 'GET', url: '/jobs' });
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('npm run build');
    expect((await app.inject({ method: 'GET', url: '/v1/jobs', headers: auth })).statusCode).toBe(200);
    // Built later (npm run build while ingest runs): served without a restart.
    writeFileSync(join(dir, 'index.html'), INDEX);
    expect((await app.inject({ method: 'GET', url: '/jobs' })).statusCode).toBe(200);
  });

  it('stays out of the API description', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/v1/openapi.json' })).json() as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(doc.paths).filter((p) => !p.startsWith('/v1/'))).toEqual([]);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/events', '/v1/kinds']));
  });

  it('is not served when STUDIO_ENABLED is false', async () => {
    await app.close();
    start({ studio: undefined });
    const res = await app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('not_found');
  });
});

describe('studio decisions', () => {
  it('tells files, pages and the API apart', () => {
    expect(
      ['/', '/jobs', '/jobs/job_1', '/assets/index-1.js', '/favicon.svg', '/v1', '/v1/jobs', '/v1x'].map(
        studioPathKind,
      ),
    ).toEqual(['page', 'page', 'page', 'file', 'file', 'none', 'none', 'page']);
  });

  it('adds the media origins to img-src and media-src only', () => {
    expect(studioCsp({ mediaOrigins: [] })).toContain("media-src 'self';");
    expect(studioCsp({ mediaOrigins: ['https://a.test', 'https://b.test'] })).toContain(
      "media-src 'self' https://a.test https://b.test;",
    );
  });

  it('knows where presigned S3 URLs point: AWS, a path-style endpoint, a virtual-hosted one', () => {
    const s3 = { bucket: 'media', region: 'eu-west-1', endpoint: undefined, forcePathStyle: false };
    expect(s3MediaOrigin(s3)).toBe('https://media.s3.eu-west-1.amazonaws.com');
    expect(s3MediaOrigin({ ...s3, endpoint: 'http://minio:9000', forcePathStyle: true })).toBe(
      'http://minio:9000',
    );
    expect(s3MediaOrigin({ ...s3, endpoint: 'https://r2.example.com/' })).toBe(
      'https://media.r2.example.com',
    );
    expect(s3MediaOrigin({ ...s3, bucket: undefined })).toBeUndefined();
  });
});
