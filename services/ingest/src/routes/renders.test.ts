import { silentLogger } from '@reelbus/kit';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../app.ts';
import type { IngestConfig } from '../config.ts';
import { MemoryBlobStore, MemoryBus, MemoryJobStore } from '../testing/fakes.ts';
import { auth, multipartBody, testConfig } from '../testing/helpers.ts';
import { rawSources, readRender, uploadKey } from './renders.ts';

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
  await blobs.put('library/intro.mp4', 'mp4');
  await blobs.put('library/music.mp3', 'mp3');
}

const post = (payload: unknown) =>
  app.inject({
    method: 'POST',
    url: '/v1/renders',
    headers: auth,
    payload: payload as Record<string, unknown>,
  });

beforeEach(() => start());
afterEach(async () => {
  await app.close();
});

/** A request Timeline with a key, a URL, an "auto" start and duration, and a transition. */
const timeline = {
  version: 1,
  output: { aspect: '9:16', poster: true },
  tracks: [
    {
      clips: [
        {
          type: 'video',
          source: { key: 'library/intro.mp4' },
          transition: { type: 'wipeleft', duration: 0.5 },
        },
        { type: 'image', source: { url: 'https://cdn.example.com/photo.jpg' }, duration: 4 },
      ],
    },
  ],
  audio: [{ name: 'music', source: { key: 'library/music.mp3' }, gainDb: -20 }],
};

describe('POST /v1/renders (JSON)', () => {
  it('makes a render job and publishes render.requested with the request Timeline as sent', async () => {
    const res = await post({ ...timeline, callbackUrl: 'https://hooks.example.com/done' });
    expect(res.statusCode, res.body).toBe(202);
    const body = res.json<{
      jobId: string;
      statusUrl: string;
      eventsUrl: string;
      urls: number;
      uploads: number;
    }>();
    expect(body).toEqual({
      jobId: expect.stringMatching(/^job_/),
      statusUrl: `https://calls.example.test/v1/jobs/${body.jobId}`,
      eventsUrl: `https://calls.example.test/v1/jobs/${body.jobId}/events`,
      uploads: 0,
      urls: 1,
    });
    expect(await jobs.get(body.jobId)).toMatchObject({
      kind: 'render',
      status: 'queued',
      callbackUrl: 'https://hooks.example.com/done',
    });
    const [event] = bus.ofType('render.requested');
    expect(event!.id).toBe(`render.requested:${body.jobId}`);
    expect(event!.data.callbackUrl).toBe('https://hooks.example.com/done');
    const clips = event!.data.timeline.tracks[0]!.clips;
    expect(clips.map((c) => [c.start, c.duration])).toEqual([
      ['auto', 'auto'],
      ['auto', 4],
    ]);
    expect(clips[1]).toMatchObject({ source: { url: 'https://cdn.example.com/photo.jpg' } });
    expect(event!.data.timeline.output).toMatchObject({ width: 720, height: 1280, poster: true });
  });

  it('names every bad field by its JSON path in one 400', async () => {
    const res = await post({
      version: 1,
      tracs: [],
      output: { width: 641, fps: 30 },
      tracks: [
        {
          clips: [
            { type: 'video', source: { key: '/etc/passwd' } },
            { type: 'image', source: { url: 'ftp://example.com/a.jpg' }, duration: 2 },
            { type: 'image', source: { key: 'library/nope.jpg' }, duration: 2, transition: { type: 'fade' } },
          ],
        },
      ],
      audio: [{ name: 'music', source: { upload: 'song' } }],
      callbackUrl: 'http://127.0.0.1/hook',
    });
    expect(res.statusCode).toBe(400);
    const { error } = res.json<{
      error: { code: string; issues: Array<{ field: string; message: string }> };
    }>();
    expect(error.code).toBe('invalid_input');
    expect(error.issues.map((i) => i.field).sort()).toEqual(
      [
        'output.width',
        'tracks[0].clips[0].source.key',
        'tracks[0].clips[1].source.url',
        'tracks[0].clips[2].transition',
        'tracs',
      ].sort(),
    );
    expect(error.issues.find((i) => i.field === 'tracks[0].clips[0].source.key')!.message).toBe(
      'must be a relative blob key without ".." segments or backslashes',
    );
    expect(error.issues.find((i) => i.field === 'tracks[0].clips[2].transition')!.message).toMatch(
      /is on the last clip of its track/,
    );
    expect(bus.ofType('render.requested')).toEqual([]);
  });

  it('then names missing keys, uploads without files, private URLs and a private callback together', async () => {
    const res = await post({
      version: 1,
      tracks: [
        {
          clips: [
            { type: 'image', source: { key: 'library/nope.jpg' }, duration: 2 },
            { type: 'image', source: { url: 'https://10.0.0.8/a.jpg' }, duration: 2 },
            { type: 'image', source: { url: 'http://cdn.example.com/b.jpg' }, duration: 2 },
          ],
        },
      ],
      audio: [{ name: 'music', source: { upload: 'song' } }],
      callbackUrl: 'http://127.0.0.1/hook',
    });
    expect(res.statusCode).toBe(400);
    const { error } = res.json<{ error: { issues: Array<{ field: string; message: string }> } }>();
    expect(error.issues).toEqual([
      {
        field: 'tracks[0].clips[1].source',
        message: 'host "10.0.0.8" is private or loopback; use a public host',
      },
      { field: 'tracks[0].clips[2].source', message: 'must be an https URL (got http)' },
      {
        field: 'audio[0].source',
        message:
          'names the upload "song", but no file was sent: send multipart/form-data with the file in the field "song"',
      },
      {
        field: 'tracks[0].clips[0].source',
        message: 'blob "library/nope.jpg" is not in storage; upload it, or give an https URL',
      },
      { field: 'callbackUrl', message: expect.stringMatching(/^host "127.0.0.1" is private or loopback/) },
    ]);
  });

  it('refuses a misspelt field at any depth, naming each by its JSON path', async () => {
    const res = await post({
      ...timeline,
      output: { ...timeline.output, fsp: 30 },
      tracks: [{ clips: [{ ...timeline.tracks[0]!.clips[1]!, transtion: { type: 'fade' } }] }],
      audio: [{ ...timeline.audio[0]!, volumee: 0.5 }],
    });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ error: { issues: unknown[] } }>().error.issues).toEqual([
      { field: 'output.fsp', message: 'unknown field' },
      { field: 'tracks[0].clips[0].transtion', message: 'unknown field' },
      { field: 'audio[0].volumee', message: 'unknown field' },
    ]);
    expect(bus.ofType('render.requested')).toEqual([]);
  });

  it('tags a job with testMode: true as a test run and leaves the flag out of the Timeline', async () => {
    const res = await post({ ...timeline, testMode: true });
    expect(res.statusCode, res.body).toBe(202);
    const { jobId } = res.json<{ jobId: string }>();
    expect(await jobs.get(jobId)).toMatchObject({ kind: 'render', testMode: true });
    const [event] = bus.ofType('render.requested');
    expect(event).toMatchObject({ testMode: true });
    expect(event!.data.timeline).not.toHaveProperty('testMode');

    const plain = await post(timeline);
    expect((await jobs.get(plain.json<{ jobId: string }>().jobId))!.testMode).toBe(false);
    expect(bus.ofType('render.requested')[1]!.testMode).toBeUndefined();

    const bad = await post({ ...timeline, testMode: 'yes' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.issues).toEqual([{ field: 'testMode', message: 'must be true or false' }]);
  });

  it('accepts private URLs when ALLOW_PRIVATE_URLS is set (local development)', async () => {
    await start({ allowPrivateUrls: true });
    const res = await post({
      version: 1,
      tracks: [{ clips: [{ type: 'video', source: { url: 'http://127.0.0.1:9000/a.mp4' } }] }],
    });
    expect(res.statusCode, res.body).toBe(202);
  });
});

describe('POST /v1/renders (multipart)', () => {
  it('streams each file to jobs/<id>/input/<field><ext> and names it by key in render.requested', async () => {
    const { payload, headers } = await multipartBody([
      {
        name: 'timeline',
        value: JSON.stringify({
          version: 1,
          tracks: [
            {
              clips: [
                { type: 'video', source: { upload: 'clip' } },
                { type: 'image', source: { upload: 'photo.png' }, duration: 3 },
              ],
            },
          ],
          audio: [{ name: 'music', source: { key: 'library/music.mp3' } }],
        }),
      },
      { name: 'clip', filename: 'holiday.MOV', type: 'video/quicktime', bytes: Buffer.from('mov bytes') },
      { name: 'photo.png', filename: 'x.png', type: 'image/png', bytes: Buffer.from('png bytes') },
      { name: 'callbackUrl', value: 'https://hooks.example.com/r' },
      { name: 'testMode', value: 'true' },
    ]);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/renders',
      headers: { ...auth, ...headers },
      payload,
    });
    expect(res.statusCode, res.body).toBe(202);
    const { jobId, uploads } = res.json<{ jobId: string; uploads: number }>();
    expect(uploads).toBe(2);
    const [event] = bus.ofType('render.requested');
    expect(event!.data.timeline.tracks[0]!.clips.map((c) => ('source' in c ? c.source : undefined))).toEqual([
      { key: `jobs/${jobId}/input/clip.mov` },
      { key: `jobs/${jobId}/input/photo.png` },
    ]);
    expect(event!.data.callbackUrl).toBe('https://hooks.example.com/r');
    expect(event).toMatchObject({ testMode: true });
    expect(await jobs.get(jobId)).toMatchObject({ testMode: true });
    expect((await blobs.stat(`jobs/${jobId}/input/clip.mov`))?.size).toBe(9);
    expect((await blobs.stat(`jobs/${jobId}/input/photo.png`))?.size).toBe(9);
  });

  it('refuses a file no source names and a source without its file, and removes what was stored', async () => {
    const { payload, headers } = await multipartBody([
      {
        name: 'timeline',
        value: JSON.stringify({
          version: 1,
          tracks: [{ clips: [{ type: 'video', source: { upload: 'clip' } }] }],
        }),
      },
      { name: 'clip2', filename: 'a.mp4', type: 'video/mp4', bytes: Buffer.from('mp4') },
    ]);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/renders',
      headers: { ...auth, ...headers },
      payload,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.issues).toEqual([
      { field: 'tracks[0].clips[0].source', message: 'no file was uploaded in the multipart field "clip"' },
      { field: 'clip2', message: 'this uploaded file is not named by any source ({ "upload": "<field>" })' },
    ]);
    expect(await blobs.list('jobs/')).toEqual([]);
    expect(await jobs.list()).toEqual([]);
  });

  it('says when the timeline field is missing or not JSON', async () => {
    for (const [value, message] of [
      [undefined, 'is required: the Timeline as JSON'],
      ['{ nope', /^is not JSON/],
    ] as const) {
      const { payload, headers } = await multipartBody(
        value === undefined
          ? [{ name: 'callbackUrl', value: 'https://x.example.com' }]
          : [{ name: 'timeline', value }],
      );
      const res = await app.inject({
        method: 'POST',
        url: '/v1/renders',
        headers: { ...auth, ...headers },
        payload,
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.field).toBe('timeline');
      expect(res.json().error.issues[0].message).toMatch(message);
    }
  });
});

describe('the pure parts', () => {
  it('finds sources in a malformed body too, so upload and URL problems come with the schema problems', () => {
    const body = { version: 2, tracks: [{ clips: [{ type: 'nope', source: { upload: 'a' } }] }] };
    expect(rawSources(body)).toEqual([{ path: 'tracks[0].clips[0].source', source: { upload: 'a' } }]);
    const read = readRender({ body, uploads: new Map(), allowPrivateUrls: false });
    expect(read.issues.map((i) => i.field)).toEqual([
      'version',
      'tracks[0].clips[0].type',
      'tracks[0].clips[0].source',
    ]);
  });

  it('stores an upload under its field with the extension of its file or type', () => {
    const key = (field: string, filename: string, mimetype: string) =>
      uploadKey({ jobId: 'j', field, filename, mimetype });
    expect(key('clip', 'a.MP4', 'video/mp4')).toBe('jobs/j/input/clip.mp4');
    expect(key('photo.jpg', 'IMG_1.HEIC', 'image/heic')).toBe('jobs/j/input/photo.jpg');
    expect(key('voice', 'blob', 'audio/wav')).toBe('jobs/j/input/voice.wav');
    expect(key('x', 'blob', 'application/octet-stream')).toBe('jobs/j/input/x');
  });
});
