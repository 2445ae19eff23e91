import { silentLogger } from '@reelbus/kit';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../app.ts';
import type { IngestConfig } from '../config.ts';
import { MemoryBlobStore, MemoryBus, MemoryJobStore } from '../testing/fakes.ts';
import { auth, multipartBody, testConfig, type FormPart } from '../testing/helpers.ts';
import { clipUrlProblem, readClipRef } from './merges.ts';

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
  vi.restoreAllMocks();
  await app.close();
});

type Issues = Array<{ field: string; message: string }>;
const post = (payload: unknown, headers: Record<string, string> = auth) =>
  app.inject({ method: 'POST', url: '/v1/merges', headers, payload: payload as Record<string, unknown> });
const postForm = async (parts: FormPart[]) => {
  const { payload, headers } = await multipartBody(parts);
  return app.inject({ method: 'POST', url: '/v1/merges', headers: { ...auth, ...headers }, payload });
};
const file = (name: string, bytes = name, filename = `${name}.mp4`) => ({
  name,
  filename,
  type: 'video/mp4',
  bytes: Buffer.from(bytes),
});
const issuesOf = (res: { json(): unknown }) => (res.json() as { error: { issues: Issues } }).error.issues;

describe('clip references', () => {
  const rules = { allowPrivateUrls: false, uploads: new Set(['intro']) };

  it('read a string with a scheme as a URL and anything else as a blob key', () => {
    expect(readClipRef('takes/a.mp4', rules)).toEqual({ clip: { key: 'takes/a.mp4' } });
    expect(readClipRef(' https://cdn.example.com/a.mp4 ', rules)).toEqual({
      clip: { url: 'https://cdn.example.com/a.mp4' },
    });
    expect(readClipRef({ key: 'takes/a.mp4' }, rules)).toEqual({ clip: { key: 'takes/a.mp4' } });
    expect(readClipRef({ upload: 'intro' }, rules)).toEqual({ clip: { upload: 'intro' } });
  });

  it('say what is wrong and where', () => {
    expect(readClipRef('/etc/passwd', rules)).toEqual({
      path: [],
      message: '"/etc/passwd" must be a relative blob key without ".." segments or backslashes',
    });
    expect(readClipRef({ url: 'http://cdn.example.com/a.mp4' }, rules)).toEqual({
      path: ['url'],
      message: 'must be an https URL (got http)',
    });
    expect(readClipRef({ key: 'a.mp4', url: 'https://cdn.example.com/a.mp4' }, rules)).toEqual({
      path: [],
      message: 'give only one of key, url or upload (got key, url)',
    });
    expect(readClipRef({}, rules)).toEqual({ path: [], message: 'give one of key, url or upload' });
    expect(readClipRef({ upload: 'outro' }, rules)).toEqual({
      path: ['upload'],
      message: 'no file was uploaded in the multipart field "outro"',
    });
    expect(readClipRef({ upload: 'intro' }, { ...rules, uploads: undefined })).toMatchObject({
      path: ['upload'],
      message: expect.stringContaining('a JSON request carries no files'),
    });
  });

  it('let URLs be http or private only when ALLOW_PRIVATE_URLS is on', () => {
    expect(clipUrlProblem('https://cdn.example.com/a.mp4', false)).toBeUndefined();
    expect(clipUrlProblem('https://10.0.0.7/a.mp4', false)).toMatch(/host "10.0.0.7" is private/);
    expect(clipUrlProblem('https://169.254.169.254/latest', false)).toMatch(/is private or loopback/);
    expect(clipUrlProblem('http://127.0.0.1:9/a.mp4', true)).toBeUndefined();
    expect(clipUrlProblem('https://user:pw@cdn.example.com/a.mp4', true)).toBe(
      'must not contain credentials',
    );
    expect(clipUrlProblem('ftp://x.example/a.mp4', true)).toBe(
      '"ftp://x.example/a.mp4" is neither an http(s) URL nor a blob key',
    );
  });
});

describe('POST /v1/merges', () => {
  it('makes a merge job from keys and URLs through the one submit path and publishes merge.requested', async () => {
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
      submittedBy: { name: 'tester', role: 'user' },
    });
    expect(bus.ofType('merge.requested')).toMatchObject([
      {
        id: `merge.requested:${jobId}`,
        data: {
          clips: [{ key: 'takes/a.mp4' }, { key: 'takes/b.mp4' }, { url: 'https://cdn.example.com/c.mp4' }],
          callbackUrl: 'https://example.com/hook',
        },
      },
    ]);
  });

  it('names every bad clip at once, by its JSON path', async () => {
    const res = await post({
      clips: [
        '../etc/passwd',
        'ftp://x.example/a.mp4',
        'http://127.0.0.1/a.mp4',
        { upload: 'nope' },
        'takes/fine.mp4',
        { url: 'https://10.1.2.3/b.mp4' },
        42,
        { url: 7 },
      ],
      callbackUrl: 'http://localhost/hook',
    });
    expect(res.statusCode).toBe(400);
    const { error } = res.json();
    expect(error.code).toBe('invalid_input');
    expect(error.field).toBe('clips[0]');
    expect(error.issues).toEqual([
      {
        field: 'clips[0]',
        message: '"../etc/passwd" must be a relative blob key without ".." segments or backslashes',
      },
      { field: 'clips[1]', message: '"ftp://x.example/a.mp4" is neither an http(s) URL nor a blob key' },
      { field: 'clips[2]', message: 'must be an https URL (got http)' },
      {
        field: 'clips[3].upload',
        message:
          'no file was uploaded in the multipart field "nope" (a JSON request carries no files: send multipart/form-data)',
      },
      {
        field: 'clips[5].url',
        message:
          'host "10.1.2.3" is private or loopback; use a public host (or ALLOW_PRIVATE_URLS=true for local development)',
      },
      {
        field: 'clips[6]',
        message:
          'must be a blob key, an https URL, { "key": … }, { "url": … } or { "upload": "<file field>" }',
      },
      { field: 'clips[7].url', message: 'Invalid input: expected string, received number' },
      {
        field: 'callbackUrl',
        message:
          'host "localhost" is private or loopback; use a public host (or set ALLOW_PRIVATE_CALLBACKS=true for local development)',
      },
    ]);
    expect(error.message).toContain('clips[2]: must be an https URL (got http); clips[3].upload: no file');
    expect(bus.ofType('merge.requested')).toHaveLength(0);
    expect(await jobs.list()).toEqual([]);
  });

  it.each([
    [{ clips: ['a.mp4'] }, [{ field: 'clips', message: 'a merge needs at least 2 clips' }]],
    [
      { clips: Array.from({ length: 501 }, (_, i) => `c/${i}.mp4`) },
      [{ field: 'clips', message: 'a merge takes at most 500 clips' }],
    ],
    [{ clips: ['a.mp4', 'b.mp4'], extra: 1 }, [{ field: 'extra', message: 'unknown field' }]],
    [{}, [{ field: 'clips', message: 'Invalid input: expected array, received undefined' }]],
    [
      { clips: ['a.mp4', { key: 'a.mp4', upload: 'x' }] },
      [{ field: 'clips[1]', message: 'give only one of key, url or upload (got key, upload)' }],
    ],
    [
      { clips: ['a.mp4', { file: 'b.mp4' }] },
      [
        { field: 'clips[1].file', message: 'unknown field' },
        { field: 'clips[1]', message: 'give one of key, url or upload' },
      ],
    ],
  ])('refuses a bad body (%#), naming the field', async (body, issues) => {
    const res = await post(body);
    expect(res.statusCode).toBe(400);
    expect(issuesOf(res)).toEqual(issues);
  });

  it('accepts private http URLs only when ALLOW_PRIVATE_URLS is on', async () => {
    expect((await post({ clips: ['http://127.0.0.1:9/a.mp4', 'k/b.mp4'] })).statusCode).toBe(400);
    await start({ allowPrivateUrls: true });
    const res = await post({ clips: ['http://127.0.0.1:9/a.mp4', 'k/b.mp4'] });
    expect(res.statusCode, res.body).toBe(202);
  });

  it('stores uploaded files in the job and uses them in order, mixed with keys', async () => {
    const res = await postForm([
      { name: 'clips', value: JSON.stringify([{ upload: 'first' }, 'takes/middle.mp4', { upload: 'last' }]) },
      file('first', 'AAAA'),
      file('last', 'BBBB'),
    ]);
    expect(res.statusCode, res.body).toBe(202);
    const { jobId } = res.json();
    const [event] = bus.ofType('merge.requested');
    expect(event!.data.clips).toEqual([
      { key: `jobs/${jobId}/input/clip-000.mp4` },
      { key: 'takes/middle.mp4' },
      { key: `jobs/${jobId}/input/clip-001.mp4` },
    ]);
    expect(await blobs.stat(`jobs/${jobId}/input/clip-001.mp4`)).toMatchObject({ size: 4 });
    expect((await jobs.get(jobId))?.submittedBy).toEqual({ name: 'tester', role: 'user' });
  });

  it('takes the uploaded files as the clips, in order, when no clips field is sent (curl -F clip=@a.mp4 -F clip=@b.mp4)', async () => {
    const res = await postForm([
      { name: 'clip', filename: 'a.mov', type: 'video/quicktime', bytes: Buffer.from('a') },
      { name: 'clip', filename: 'b.mp4', type: 'video/mp4', bytes: Buffer.from('b') },
    ]);
    expect(res.statusCode, res.body).toBe(202);
    const { jobId } = res.json();
    expect(bus.ofType('merge.requested')[0]!.data.clips).toEqual([
      { key: `jobs/${jobId}/input/clip-000.mov` },
      { key: `jobs/${jobId}/input/clip-001.mp4` },
    ]);
  });

  it('names, in one answer, the bad clips of a multipart request, a file used twice and a file no clip uses, and keeps none of the files', async () => {
    const res = await postForm([
      {
        name: 'clips',
        value: JSON.stringify([{ upload: 'a' }, 'ftp://x.example/b.mp4', { upload: 'a' }, { upload: 'c' }]),
      },
      file('a'),
      file('spare'),
    ]);
    expect(res.statusCode).toBe(400);
    expect(issuesOf(res)).toEqual([
      { field: 'clips[1]', message: '"ftp://x.example/b.mp4" is neither an http(s) URL nor a blob key' },
      { field: 'clips[3].upload', message: 'no file was uploaded in the multipart field "c"' },
      {
        field: 'clips[2].upload',
        message: 'the file "a" is already clips[0]; upload it again under another name to use it twice',
      },
      { field: 'spare', message: 'this uploaded file is not used by any clip ({ "upload": "<field>" })' },
    ]);
    expect(await blobs.list('jobs/')).toEqual([]);
  });

  it('names a clips field that is not JSON, and an unknown text field', async () => {
    const notJson = await postForm([{ name: 'clips', value: '[a.mp4' }, file('a')]);
    expect(issuesOf(notJson)).toEqual([
      { field: 'clips', message: 'must be a JSON list of clips (blob keys, URLs, { "upload": "<field>" })' },
    ]);
    const unknown = await postForm([{ name: 'title', value: 'x' }]);
    expect(issuesOf(unknown)).toEqual([
      { field: 'title', message: 'unknown field; expected clips (JSON list), callbackUrl, and files' },
    ]);
    expect(await blobs.list('jobs/')).toEqual([]);
  });

  it('answers 413 for a file over UPLOAD_MAX_BYTES and keeps nothing', async () => {
    await start({ uploadMaxBytes: 1000 });
    const res = await postForm([file('clip', 'x'.repeat(2000)), file('clip', 'y')]);
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('too_large');
    expect(await blobs.list('jobs/')).toEqual([]);
    expect(await jobs.list()).toEqual([]);
  });

  it('answers 503 with Retry-After when the bus refuses merge.requested, keeping neither the job nor the uploads', async () => {
    vi.spyOn(bus, 'publish').mockRejectedValueOnce(new Error('no responders'));
    const res = await postForm([file('clip'), file('clip')]);
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('2');
    expect(res.json().error.code).toBe('bus_unavailable');
    expect(await jobs.list()).toEqual([]);
    expect(await blobs.list('jobs/')).toEqual([]);
  });

  it("counts against the key's unfinished jobs: 429 with Retry-After, and the uploads are removed", async () => {
    await start({ limits: { requestsPerMinute: 3000, scope: 'replica', maxActiveJobs: 1 } });
    expect((await post({ clips: ['a.mp4', 'b.mp4'] })).statusCode).toBe(202);
    const res = await postForm([file('clip'), file('clip')]);
    expect(res.statusCode).toBe(429);
    expect(res.json().error.code).toBe('too_many_active_jobs');
    expect(res.headers['retry-after']).toBe('30');
    expect(await blobs.list('jobs/')).toEqual([]);
  });

  it('needs an API key', async () => {
    const res = await post({ clips: ['a.mp4', 'b.mp4'] }, {});
    expect(res.statusCode).toBe(401);
  });

  it('is described in the OpenAPI document: JSON and multipart bodies, the 202 answer, user access', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/v1/openapi.json' })).json();
    const op = doc.paths['/v1/merges'].post;
    expect(op['x-reelbus-access']).toBe('user');
    expect(op.tags).toEqual(['merges']);
    expect(Object.keys(op.requestBody.content).sort()).toEqual(['application/json', 'multipart/form-data']);
    const json = op.requestBody.content['application/json'].schema;
    expect(json.required).toEqual(['clips']);
    expect(json.properties.clips).toMatchObject({ type: 'array', minItems: 2, maxItems: 500 });
    const form = op.requestBody.content['multipart/form-data'].schema;
    expect(form.properties.clip).toMatchObject({ type: 'array', items: { format: 'binary' } });
    expect(form.additionalProperties).toMatchObject({ type: 'string', format: 'binary' });
    const accepted = op.responses['202'].content['application/json'].schema;
    expect(
      Object.keys(accepted.properties ?? doc.components.schemas[accepted.$ref?.split('/').pop()]?.properties),
    ).toEqual(expect.arrayContaining(['jobId', 'statusUrl', 'eventsUrl', 'clips']));
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['202', '401', '429', '503', '4XX']));
  });
});
