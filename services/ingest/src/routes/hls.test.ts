import { newJob } from '@reelbus/contracts';
import { silentLogger } from '@reelbus/kit';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../app.ts';
import { MemoryBlobStore, MemoryBus, MemoryJobStore } from '../testing/fakes.ts';
import { auth, testConfig } from '../testing/helpers.ts';
import { hlsFileKey, hlsSignature, signHlsLink, verifyHlsSignature } from './hls.ts';

const SECRET = testConfig().linkSigningSecret;
let app: FastifyInstance;
let blobs: MemoryBlobStore;
let jobs: MemoryJobStore;

beforeEach(async () => {
  blobs = new MemoryBlobStore();
  jobs = new MemoryJobStore();
  app = buildApp({ config: testConfig(), bus: new MemoryBus(), jobs, blobs, logger: silentLogger() });
  await blobs.put('jobs/job_h/hls/master.m3u8', '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n720p/index.m3u8\n');
  await blobs.put(
    'jobs/job_h/hls/720p/index.m3u8',
    '#EXTM3U\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:4,\nseg_000.m4s\n',
  );
  await blobs.put('jobs/job_h/hls/720p/init.mp4', 'init');
  await blobs.put('jobs/job_h/hls/720p/seg_000.m4s', 'segment-bytes');
  await blobs.put('jobs/job_other/hls/720p/seg_000.m4s', 'someone else');
});
afterEach(async () => {
  await app.close();
});

const path = (url: string) => new URL(url).pathname;

describe('signed HLS paths', () => {
  it('sign the job and expiry, and are refused when tampered with or expired', () => {
    const now = Date.UTC(2026, 0, 1);
    const link = signHlsLink({
      baseUrl: 'https://r.example',
      jobId: 'job_h',
      secret: SECRET,
      ttlSec: 60,
      now,
    });
    const [, , , jobId, expires, signature, file] = new URL(link.url).pathname.split('/');
    expect([jobId, file]).toEqual(['job_h', 'master.m3u8']);
    expect(signature).toBe(hlsSignature({ jobId: 'job_h', expires: Number(expires), secret: SECRET }));
    const check = (o: Partial<Parameters<typeof verifyHlsSignature>[0]>) =>
      verifyHlsSignature({
        jobId: 'job_h',
        expires: expires!,
        signature: signature!,
        secret: SECRET,
        now,
        ...o,
      });
    expect(check({})).toEqual({ ok: true });
    expect(check({ jobId: 'job_other' })).toEqual({ ok: false, reason: 'invalid' });
    expect(check({ expires: String(Number(expires) + 1) })).toEqual({ ok: false, reason: 'invalid' });
    expect(check({ now: now + 61_000 })).toEqual({ ok: false, reason: 'expired' });
    expect(check({ signature: 'zz' })).toEqual({ ok: false, reason: 'malformed' });
  });

  it('map only plain relative names to the job’s HLS folder', () => {
    expect(hlsFileKey({ jobId: 'job_h', path: '720p/seg_000.m4s' })).toBe('jobs/job_h/hls/720p/seg_000.m4s');
    for (const bad of [
      '../x/hls/master.m3u8',
      '720p/../../job_other/hls/a.m4s',
      '',
      '.hidden',
      'a//b',
      'a/b/c/d/e',
    ])
      expect(hlsFileKey({ jobId: 'job_h', path: bad }), bad).toBeUndefined();
  });
});

describe('GET /v1/hls/<jobId>/<expires>/<signature>/*', () => {
  const link = () => signHlsLink({ baseUrl: 'http://x', jobId: 'job_h', secret: SECRET, ttlSec: 600 }).url;
  const get = (url: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'GET', url, headers });

  it('serves the master playlist and every nested file under the signed prefix, without an API key', async () => {
    const master = await get(path(link()));
    expect(master.statusCode, master.body).toBe(200);
    expect(master.headers['content-type']).toBe('application/vnd.apple.mpegurl');
    expect(master.headers['access-control-allow-origin']).toBe('*');
    // what a player resolves the relative URIs to
    const base = path(link()).replace(/master\.m3u8$/, '');
    const media = await get(`${base}720p/index.m3u8`);
    expect(media.body).toContain('seg_000.m4s');
    const seg = await get(`${base}720p/seg_000.m4s`);
    expect(seg.statusCode).toBe(200);
    expect(seg.headers['content-type']).toBe('video/iso.segment');
    expect(seg.body).toBe('segment-bytes');
    expect((await get(`${base}720p/init.mp4`)).body).toBe('init');
  });

  it('refuses a tampered signature, another job with this signature, an expired link, and paths out of the folder', async () => {
    const good = path(link());
    const [, , , , expires, signature] = good.split('/');
    const flipped = `${signature!.slice(0, -1)}${signature!.endsWith('0') ? '1' : '0'}`;
    const tampered = await get(good.replace(signature!, flipped));
    expect(tampered.statusCode).toBe(403);
    expect(tampered.json().error.code).toBe('link_invalid');
    const otherJob = await get(`/v1/hls/job_other/${expires}/${signature}/720p/seg_000.m4s`);
    expect(otherJob.statusCode).toBe(403);
    const old = signHlsLink({
      baseUrl: 'http://x',
      jobId: 'job_h',
      secret: SECRET,
      ttlSec: 60,
      now: Date.now() - 3_600_000,
    });
    const expired = await get(path(old.url));
    expect(expired.statusCode).toBe(403);
    expect(expired.json().error.code).toBe('link_expired');
    expect(expired.json().error.message).toContain('POST /v1/jobs/:id/hls/links');
    const escape = await get(good.replace('master.m3u8', '..%2F..%2Fjob_other%2Fhls%2F720p%2Fseg_000.m4s'));
    expect([400, 404]).toContain(escape.statusCode);
    expect(escape.body).not.toContain('someone else');
    expect((await get(good.replace('master.m3u8', '720p/missing.m4s'))).statusCode).toBe(404);
    // Not an HLS file type, even one that names a property every object has.
    expect((await get(good.replace('master.m3u8', '720p/seg.constructor'))).statusCode).toBe(404);
  });

  it('checks the signature before anything else: a malformed expiry or signature is a 403, not a 400', async () => {
    for (const url of [
      '/v1/hls/job_h/soon/abc/master.m3u8',
      `/v1/hls/job_h/${Math.floor(Date.now() / 1000) + 600}/${'0'.repeat(64)}/master.m3u8`,
      '/v1/hls/not%20a%20job/123/abc/master.m3u8',
    ]) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(403);
      expect(res.json().error.code).toBe('link_invalid');
    }
  });
});

describe('GET /v1/jobs/:id/hls/* and POST /v1/jobs/:id/hls/links', () => {
  it('serve the files with an API key and refuse without one', async () => {
    expect(
      (await app.inject({ method: 'GET', url: '/v1/jobs/job_h/hls/master.m3u8', headers: auth })).statusCode,
    ).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/v1/jobs/job_h/hls/master.m3u8' })).statusCode).toBe(401);
  });

  it('hands out a signed link for a job that has HLS, and 404 for one that has none', async () => {
    await jobs.create(
      newJob({
        id: 'job_h',
        kind: 'render',
        outputs: { hls: { key: 'jobs/job_h/hls/master.m3u8', durationSec: 4, sizeBytes: 100 } },
      }),
    );
    await jobs.create(newJob({ id: 'job_none', kind: 'render' }));
    const res = await app.inject({
      method: 'POST',
      url: '/v1/jobs/job_h/hls/links',
      headers: auth,
      payload: { ttlSec: 120 },
    });
    expect(res.statusCode, res.body).toBe(200);
    const { url } = res.json<{ url: string }>();
    expect(url).toMatch(/^https:\/\/calls\.example\.test\/v1\/hls\/job_h\/\d+\/[0-9a-f]{64}\/master\.m3u8$/);
    expect((await app.inject({ method: 'GET', url: path(url) })).statusCode).toBe(200);
    const none = await app.inject({ method: 'POST', url: '/v1/jobs/job_none/hls/links', headers: auth });
    expect(none.statusCode).toBe(404);
    const bad = await app.inject({
      method: 'POST',
      url: '/v1/jobs/job_h/hls/links',
      headers: auth,
      payload: { ttlSec: 0, for: 'player' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.issues).toEqual([
      { field: 'ttlSec', message: 'must be a whole number of seconds from 1 to 604800' },
      { field: 'for', message: 'unknown field' },
    ]);
  });

  it('put a signed links.hls on a job that has HLS (as links.video), and none on a job without', async () => {
    await jobs.create(
      newJob({
        id: 'job_h',
        kind: 'render',
        status: 'completed',
        outputs: {
          video: { key: 'jobs/job_h/final.mp4', durationSec: 4, sizeBytes: 100 },
          hls: { key: 'jobs/job_h/hls/master.m3u8', durationSec: 4, sizeBytes: 100 },
        },
      }),
    );
    await jobs.create(
      newJob({
        id: 'job_mp4',
        kind: 'render',
        outputs: { video: { key: 'jobs/job_mp4/final.mp4', durationSec: 4, sizeBytes: 100 } },
      }),
    );
    const res = await app.inject({ method: 'GET', url: '/v1/jobs/job_h', headers: auth });
    expect(res.statusCode, res.body).toBe(200);
    const { links } = res.json<{ links: { hls?: string; video?: string } }>();
    expect(links.video).toBeDefined();
    expect(links.hls).toMatch(
      /^https:\/\/calls\.example\.test\/v1\/hls\/job_h\/\d+\/[0-9a-f]{64}\/master\.m3u8$/,
    );
    const master = await app.inject({ method: 'GET', url: path(links.hls!) });
    expect(master.statusCode).toBe(200);
    expect(master.body).toContain('720p/index.m3u8');
    const listed = await app.inject({ method: 'GET', url: '/v1/jobs?limit=5', headers: auth });
    const byId = new Map(
      listed.json<{ jobs: Array<{ id: string; links: { hls?: string } }> }>().jobs.map((j) => [j.id, j]),
    );
    expect(byId.get('job_h')?.links.hls).toBeDefined();
    const mp4Only = await app.inject({ method: 'GET', url: '/v1/jobs/job_mp4', headers: auth });
    expect(mp4Only.json().links.hls).toBeUndefined();
  });
});

describe('the HLS routes in the OpenAPI document', () => {
  it('give the file types, the signed path as public with its 403, and the keyed routes as user routes', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/v1/openapi.json' })).json();
    const signed = doc.paths['/v1/hls/{id}/{expires}/{signature}/{*}'].get;
    expect(signed['x-reelbus-access']).toBe('public');
    expect(signed.security).toEqual([]);
    expect(
      signed.parameters.filter((p: { in: string }) => p.in === 'path').map((p: { name: string }) => p.name),
    ).toEqual(expect.arrayContaining(['id', 'expires', 'signature', '*']));
    expect(Object.keys(signed.responses['200'].content).sort()).toEqual([
      'application/vnd.apple.mpegurl',
      'video/iso.segment',
      'video/mp4',
    ]);
    expect(Object.keys(signed.responses)).toEqual(
      expect.arrayContaining(['200', '302', '403', '429', '4XX']),
    );
    const keyed = doc.paths['/v1/jobs/{id}/hls/{*}'].get;
    expect(keyed['x-reelbus-access']).toBe('user');
    expect(keyed.security).toEqual([{ apiKey: [] }]);
    const links = doc.paths['/v1/jobs/{id}/hls/links'].post;
    expect(links['x-reelbus-access']).toBe('user');
    expect(Object.keys(links.requestBody.content)).toEqual(['application/json']);
    const jobView = doc.components.schemas.JobView;
    expect(jobView.properties.links.properties.hls).toMatchObject({ type: 'string', format: 'uri' });
  });
});

describe('HLS on S3', () => {
  it('serves playlists itself (relative URLs stay on the signed prefix) and redirects other files to presigned S3 URLs', async () => {
    await app.close();
    blobs = new MemoryBlobStore({ presignBase: 'https://bucket.s3.example' });
    app = buildApp({ config: testConfig(), bus: new MemoryBus(), jobs, blobs, logger: silentLogger() });
    await blobs.put('jobs/job_h/hls/720p/index.m3u8', '#EXTM3U\n');
    await blobs.put('jobs/job_h/hls/720p/seg_000.m4s', 'segment-bytes');
    const base = path(
      signHlsLink({ baseUrl: 'http://x', jobId: 'job_h', secret: SECRET, ttlSec: 600 }).url,
    ).replace(/master\.m3u8$/, '');
    const playlist = await app.inject({ method: 'GET', url: `${base}720p/index.m3u8` });
    expect(playlist.statusCode).toBe(200);
    const seg = await app.inject({ method: 'GET', url: `${base}720p/seg_000.m4s` });
    expect(seg.statusCode).toBe(302);
    expect(seg.headers.location).toBe(
      'https://bucket.s3.example/jobs/job_h/hls/720p/seg_000.m4s?X-Amz-Signature=fake',
    );
  });
});
