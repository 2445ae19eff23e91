import { silentLogger } from '@reelbus/kit';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../app.ts';
import type { IngestConfig } from '../config.ts';
import { MemoryBlobStore, MemoryBus, MemoryJobStore } from '../testing/fakes.ts';
import { auth, multipartBody, testConfig } from '../testing/helpers.ts';

let bus: MemoryBus;
let jobs: MemoryJobStore;
let blobs: MemoryBlobStore;
let app: FastifyInstance;

async function start(over: Partial<IngestConfig> = {}) {
  await app?.close();
  bus = new MemoryBus();
  jobs = new MemoryJobStore();
  blobs = new MemoryBlobStore();
  app = buildApp({
    config: testConfig({ uploadMaxBytes: 1024 * 1024, ...over }),
    bus,
    jobs,
    blobs,
    logger: silentLogger(),
  });
}
beforeEach(() => start());
afterEach(async () => {
  await app.close();
});

const post = (payload: unknown, headers: Record<string, string> = auth) =>
  app.inject({ method: 'POST', url: '/v1/merges', headers, payload: payload as Record<string, unknown> });

describe('POST /v1/merges', () => {
  it('makes a merge job from keys and URLs and publishes merge.requested', async () => {
    const res = await post({
      clips: ['takes/a.mp4', { key: 'takes/b.mp4' }, 'https://cdn.example.com/c.mp4'],
      callbackUrl: 'https://example.com/hook',
    });
    expect(res.statusCode, res.body).toBe(202);
    const { jobId, statusUrl, eventsUrl, clips } = res.json();
    expect(clips).toBe(3);
    expect(statusUrl).toBe(`https://calls.example.test/v1/jobs/${jobId}`);
    expect(eventsUrl).toBe(`${statusUrl}/events`);
    expect(await jobs.get(jobId)).toMatchObject({
      kind: 'merge',
      status: 'queued',
      callbackUrl: 'https://example.com/hook',
    });
    expect(bus.ofType('merge.requested')).toMatchObject([
      {
        id: `merge.requested:${jobId}`,
        data: {
          clips: [{ key: 'takes/a.mp4' }, { key: 'takes/b.mp4' }, { url: 'https://cdn.example.com/c.mp4' }],
        },
      },
    ]);
  });

  it('names every bad clip at once, by its JSON path', async () => {
    const res = await post({
      clips: ['../etc/passwd', 'ftp://x.example/a.mp4', 'http://127.0.0.1/a.mp4', { upload: 'nope' }],
    });
    expect(res.statusCode).toBe(400);
    const { error } = res.json();
    expect(error.code).toBe('invalid_input');
    expect(error.field).toBe('clips[0]');
    expect(error.message).toContain('clips[0]: "../etc/passwd" must be a relative blob key');
    expect(error.message).toContain(
      'clips[1]: "ftp://x.example/a.mp4" is neither an http(s) URL nor a blob key',
    );
    expect(error.message).toContain('clips[2]: must be an https URL (got http)');
    expect(error.message).toContain('clips[3].upload: no file was uploaded in the multipart field "nope"');
    expect(bus.ofType('merge.requested')).toHaveLength(0);
  });

  it.each([
    [{ clips: ['a.mp4'] }, 'clips: a merge needs at least 2 clips'],
    [
      { clips: Array.from({ length: 501 }, (_, i) => `c/${i}.mp4`) },
      'clips: a merge takes at most 500 clips',
    ],
    [{ clips: ['a.mp4', 'b.mp4'], extra: 1 }, 'Unrecognized key'],
    [{}, 'clips:'],
    [{ clips: ['a.mp4', { url: 'ftp://x.example/b.mp4' }] }, 'clips[1]'],
  ])('refuses a bad body (%#)', async (body, message) => {
    const res = await post(body);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toContain(message);
  });

  it('accepts private http URLs only when ALLOW_PRIVATE_URLS is on', async () => {
    await start({ allowPrivateUrls: true });
    const res = await post({ clips: ['http://127.0.0.1:9/a.mp4', 'k/b.mp4'] });
    expect(res.statusCode, res.body).toBe(202);
  });

  it('stores uploaded files in the job and uses them in order, mixed with keys', async () => {
    const file = (name: string, bytes: string) => ({
      name,
      filename: `${name}.mp4`,
      type: 'video/mp4',
      bytes: Buffer.from(bytes),
    });
    const { payload, headers } = await multipartBody([
      { name: 'clips', value: JSON.stringify([{ upload: 'first' }, 'takes/middle.mp4', { upload: 'last' }]) },
      file('first', 'AAAA'),
      file('last', 'BBBB'),
    ]);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/merges',
      headers: { ...auth, ...headers },
      payload,
    });
    expect(res.statusCode, res.body).toBe(202);
    const { jobId } = res.json();
    const [event] = bus.ofType('merge.requested');
    expect(event!.data.clips).toEqual([
      { key: `jobs/${jobId}/input/clip-000.mp4` },
      { key: 'takes/middle.mp4' },
      { key: `jobs/${jobId}/input/clip-001.mp4` },
    ]);
    expect(await blobs.stat(`jobs/${jobId}/input/clip-001.mp4`)).toMatchObject({ size: 4 });
  });

  it('takes the uploaded files as the clips, in order, when no clips field is sent (curl -F clip=@a.mp4 -F clip=@b.mp4)', async () => {
    const { payload, headers } = await multipartBody([
      { name: 'clip', filename: 'a.mov', type: 'video/quicktime', bytes: Buffer.from('a') },
      { name: 'clip', filename: 'b.mp4', type: 'video/mp4', bytes: Buffer.from('b') },
    ]);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/merges',
      headers: { ...auth, ...headers },
      payload,
    });
    expect(res.statusCode, res.body).toBe(202);
    const { jobId } = res.json();
    expect(bus.ofType('merge.requested')[0]!.data.clips).toEqual([
      { key: `jobs/${jobId}/input/clip-000.mov` },
      { key: `jobs/${jobId}/input/clip-001.mp4` },
    ]);
  });

  it('removes the uploads of a refused request', async () => {
    const { payload, headers } = await multipartBody([
      { name: 'clips', value: JSON.stringify([{ upload: 'a' }]) },
      { name: 'a', filename: 'a.mp4', type: 'video/mp4', bytes: Buffer.from('a') },
    ]);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/merges',
      headers: { ...auth, ...headers },
      payload,
    });
    expect(res.statusCode).toBe(400);
    expect(await blobs.list('jobs/')).toEqual([]);
  });

  it('needs an API key', async () => {
    const res = await post({ clips: ['a.mp4', 'b.mp4'] }, {});
    expect(res.statusCode).toBe(401);
  });
});
