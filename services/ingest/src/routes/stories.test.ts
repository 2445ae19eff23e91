import { silentLogger } from '@reelbus/kit';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../app.ts';
import type { IngestConfig } from '../config.ts';
import { MemoryBlobStore, MemoryBus, MemoryJobStore } from '../testing/fakes.ts';
import { auth, makeStereoWav, multipartBody, testConfig } from '../testing/helpers.ts';
import { extractStory } from './stories.ts';

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
  await blobs.put('in/story.wav', makeStereoWav());
  await blobs.put('in/me.jpg', 'jpeg');
  await blobs.put('in/ai-1.png', 'png');
  await blobs.put('in/ai-2.png', 'png');
}

const post = (payload: unknown, headers: Record<string, string> = auth) =>
  app.inject({ method: 'POST', url: '/v1/stories', headers, payload: payload as Record<string, unknown> });

beforeEach(() => start());
afterEach(async () => {
  await app.close();
});

describe('POST /v1/stories (JSON)', () => {
  it('makes a story job and publishes story.received with the defaults filled in', async () => {
    const res = await post({ audio: 'in/story.wav', images: ['in/ai-1.png'], title: 'The summer of 1969' });
    expect(res.statusCode, res.body).toBe(202);
    const { jobId, statusUrl } = res.json<{ jobId: string; statusUrl: string }>();
    expect(statusUrl).toBe(`https://calls.example.test/v1/jobs/${jobId}`);
    expect(await jobs.get(jobId)).toMatchObject({ kind: 'story', status: 'queued' });
    const [event] = bus.ofType('story.received');
    expect(event).toMatchObject({
      id: `story.received:${jobId}`,
      data: {
        audio: { key: 'in/story.wav' },
        images: [{ key: 'in/ai-1.png' }],
        title: 'The summer of 1969',
        music: { mood: 'family', gainDb: -25, duck: false },
        brand: { introSeconds: 3, outroSeconds: 2 },
        allowDegradation: false,
      },
    });
  });

  it('accepts the field names of the workflow it replaces (story_id, audio_key, photo_key, name, prompt, JSON-string image keys)', async () => {
    const res = await post({
      story_id: 'abc-123',
      audio_key: 'in/story.wav',
      photo_key: 'in/me.jpg',
      name: 'Grandma Rose',
      prompt: 'How we met',
      generatedImageKeys: JSON.stringify(['in/ai-1.png', 'in/ai-2.png']),
      musicSelection: 'Nostalgic',
      email: 'rose@example.com',
      testMode: false,
    });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toMatchObject({ jobId: 'story_abc-123' });
    const [event] = bus.ofType('story.received');
    expect(event!.data).toMatchObject({
      audio: { key: 'in/story.wav' },
      userPhoto: { key: 'in/me.jpg' },
      images: [{ key: 'in/ai-1.png' }, { key: 'in/ai-2.png' }],
      storyteller: 'Grandma Rose',
      title: 'How we met',
      music: { mood: 'nostalgic' },
    });
    // The e-mail address is not the video's business: it is not stored.
    expect(JSON.stringify((await jobs.get('story_abc-123'))!.input)).not.toContain('rose@example.com');
  });

  it('makes one job when a client retries the same story_id', async () => {
    const body = { story_id: 'retry-1', audio_key: 'in/story.wav' };
    expect((await post(body)).statusCode).toBe(202);
    expect((await post(body)).statusCode).toBe(202);
    expect(await jobs.list()).toHaveLength(1);
    expect(bus.ofType('story.received')).toHaveLength(1);
  });

  it('treats the placeholder photo "default-story-image.jpg" as no user photo', async () => {
    const res = await post({ audio_key: 'in/story.wav', photo_key: 'default-story-image.jpg' });
    expect(res.statusCode, res.body).toBe(202);
    expect(bus.ofType('story.received')[0]!.data.userPhoto).toBeUndefined();
  });

  it('takes music and brand settings as objects', async () => {
    const res = await post({
      audio: { key: 'in/story.wav' },
      music: { mood: 'reflective', gainDb: -30, duck: true },
      brand: { logo: 'in/me.jpg', background: '#112233', introSeconds: 1.5, outroSeconds: 0 },
      backend: 'mediaconvert',
      allowDegradation: true,
      callbackUrl: 'https://hooks.example.com/story',
    });
    expect(res.statusCode, res.body).toBe(202);
    const job = await jobs.get(res.json<{ jobId: string }>().jobId);
    expect(job).toMatchObject({ callbackUrl: 'https://hooks.example.com/story' });
    expect(bus.ofType('story.received')[0]!.data).toMatchObject({
      music: { mood: 'reflective', gainDb: -30, duck: true },
      brand: { logo: { key: 'in/me.jpg' }, background: '#112233', introSeconds: 1.5, outroSeconds: 0 },
      backend: 'mediaconvert',
      allowDegradation: true,
    });
  });

  it.each([
    [{}, 'audio'],
    [{ audio: 'in/missing.wav' }, 'audio'],
    [{ audio: 'in/story.wav', music: { mood: 'jazz' } }, 'music.mood'],
    [{ audio: 'in/story.wav', music: { gainDb: 6 } }, 'music.gainDb'],
    [{ audio: 'in/story.wav', gainDb: 'loud' }, 'gainDb'],
    [{ audio: 'in/story.wav', images: 'not json [' }, 'images[0]'],
    [{ audio: 'in/story.wav', generatedImageKeys: '[1,' }, 'images'],
    [{ audio: 'in/story.wav', images: [42] }, 'images[0]'],
    [{ audio: 'in/story.wav', brand: { background: 'warm' } }, 'brand.background'],
    [{ audio: 'in/story.wav', brand: { introSeconds: 99 } }, 'brand.introSeconds'],
    [{ audio: 'in/story.wav', backend: 'quicktime' }, 'backend'],
    [{ audio: 'in/story.wav', colour: 'red' }, 'colour'],
    [{ audio: 'in/story.wav', story_id: 'a/b' }, 'storyId'],
    [{ audio: 's3://bucket/story.wav' }, 'audio'],
    [{ audio: 'http://example.com/story.wav' }, 'audio'],
    [{ audio: 'https://127.0.0.1/story.wav' }, 'audio'],
    [{ audio: 'https://169.254.169.254/latest/meta-data' }, 'audio'],
    [{ audio: 'in/story.wav', images: ['https://[::1]/a.png'] }, 'images[0]'],
    [{ audio: 'in/story.wav', callbackUrl: 'https://localhost/hook' }, 'callbackUrl'],
    [{ audio: 'in/story.wav', audio_key: 'in/other.wav' }, 'audio_key'],
  ])('answers 400 naming the field for %j', async (body, field) => {
    const res = await post(body);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'invalid_input', field } });
    expect(bus.events).toHaveLength(0);
  });

  it('names every bad field in one answer: values, contract rules and media lookups', async () => {
    const res = await post({
      audio: 'in/missing.wav',
      music: { mood: 'jazz' },
      brand: { background: 'warm' },
      images: ['https://127.0.0.1/a.png', 'in/ai-1.png'],
    });
    expect(res.statusCode).toBe(400);
    const { error } = res.json<{ error: { issues: Array<{ field: string; message: string }> } }>();
    expect(error.issues.map((i) => i.field).sort()).toEqual(
      ['audio', 'brand.background', 'images[0]', 'music.mood'].sort(),
    );
    expect(error.issues.find((i) => i.field === 'audio')?.message).toContain('not in storage');
  });

  it('names every field of the wrong type or unknown at once, by JSON path', async () => {
    const res = await post({
      audio: 'in/story.wav',
      music: { mood: 5, loud: true },
      images: [42],
      colour: 'red',
    });
    expect(res.statusCode).toBe(400);
    const { error } = res.json<{ error: { issues: Array<{ field: string; message: string }> } }>();
    expect(error.issues).toEqual(
      expect.arrayContaining([
        { field: 'music.mood', message: expect.any(String) },
        { field: 'music.loud', message: 'unknown field' },
        { field: 'images[0]', message: 'must be a blob key, an https URL, or { "key": … } / { "url": … }' },
        { field: 'colour', message: 'unknown field' },
      ]),
    );
    expect(bus.events).toHaveLength(0);
  });

  it('accepts public https media URLs, and private ones only with ALLOW_PRIVATE_URLS', async () => {
    expect(
      (await post({ audio: 'https://cdn.example.com/story.mp3', images: ['https://cdn.example.com/a.jpg'] }))
        .statusCode,
    ).toBe(202);
    await start({ allowPrivateUrls: true });
    const res = await post({ audio: 'http://127.0.0.1:9000/story.mp3' });
    expect(res.statusCode, res.body).toBe(202);
    expect(bus.ofType('story.received')[0]!.data.audio).toEqual({ url: 'http://127.0.0.1:9000/story.mp3' });
  });

  it('needs an API key', async () => {
    const res = await post({ audio: 'in/story.wav' }, {});
    expect(res.statusCode).toBe(401);
  });
});

describe('POST /v1/stories (multipart)', () => {
  it('streams the audio, user photo and images into the job input and names them in story.received', async () => {
    const { payload, headers } = await multipartBody([
      { name: 'story_id', value: 'upload-7' },
      { name: 'name', value: 'Sam' },
      { name: 'music', value: JSON.stringify({ mood: 'adventurous', duck: true }) },
      { name: 'audio', filename: 'story.wav', type: 'audio/wav', bytes: makeStereoWav() },
      { name: 'userPhoto', filename: 'me.jpg', type: 'image/jpeg', bytes: Buffer.from('jpeg') },
      { name: 'images', filename: 'one.png', type: 'image/png', bytes: Buffer.from('png1') },
      { name: 'images', filename: 'two.webp', type: 'application/octet-stream', bytes: Buffer.from('webp') },
    ]);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/stories',
      headers: { ...auth, ...headers },
      payload,
    });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toMatchObject({ jobId: 'story_upload-7' });
    const p = 'jobs/story_upload-7/input/';
    expect((await blobs.list(p)).map((b) => b.key).sort()).toEqual(
      [`${p}audio.wav`, `${p}image-1.png`, `${p}image-2.webp`, `${p}user-photo.jpg`].sort(),
    );
    expect(bus.ofType('story.received')[0]!.data).toMatchObject({
      audio: { key: `${p}audio.wav` },
      userPhoto: { key: `${p}user-photo.jpg` },
      images: [{ key: `${p}image-1.png` }, { key: `${p}image-2.webp` }],
      storyteller: 'Sam',
      music: { mood: 'adventurous', duck: true },
    });
  });

  it('refuses a file that is not audio with 415 and keeps nothing', async () => {
    const { payload, headers } = await multipartBody([
      { name: 'audio', filename: 'story.txt', type: 'text/plain', bytes: Buffer.from('hello') },
    ]);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/stories',
      headers: { ...auth, ...headers },
      payload,
    });
    expect(res.statusCode).toBe(415);
    expect(res.json()).toMatchObject({ error: { field: 'audio' } });
    expect(await blobs.list('jobs/')).toHaveLength(0);
  });

  it('removes the uploads when a field is invalid', async () => {
    const { payload, headers } = await multipartBody([
      { name: 'audio', filename: 'story.wav', type: 'audio/wav', bytes: makeStereoWav() },
      { name: 'mood', value: 'jazz' },
    ]);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/stories',
      headers: { ...auth, ...headers },
      payload,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { field: 'mood' } });
    expect(await blobs.list('jobs/')).toHaveLength(0);
  });
});

describe('extractStory', () => {
  it('reads a comma list or a single key as the image list', () => {
    expect(extractStory({ body: { audio: 'a.wav', image_keys: 'x.png, y.png' } }).data.images).toEqual([
      { key: 'x.png' },
      { key: 'y.png' },
    ]);
    expect(extractStory({ body: { audio: 'a.wav', generated_images: 'x.png' } }).data.images).toEqual([
      { key: 'x.png' },
    ]);
    expect(
      extractStory({
        body: {
          audio: 'a.wav',
          generatedImageKeys: [{ convertedKey: 'c.png' }, { url: 'https://e.com/d.png' }],
        },
      }).data.images,
    ).toEqual([{ key: 'c.png' }, { url: 'https://e.com/d.png' }]);
  });
});
