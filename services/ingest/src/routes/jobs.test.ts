import { newJob } from '@reelbus/contracts';
import { silentLogger } from '@reelbus/kit';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../app.ts';
import type { IngestConfig } from '../config.ts';
import { MemoryBlobStore, MemoryBus, MemoryJobStore } from '../testing/fakes.ts';
import { auth, PUBLIC_BASE_URL, testConfig } from '../testing/helpers.ts';

// What the studio reads from the job API: the kind filter, the trace link, the poster.
let app: FastifyInstance;
let jobs: MemoryJobStore;
let blobs: MemoryBlobStore;

function start(over: Partial<IngestConfig> = {}) {
  jobs = new MemoryJobStore();
  blobs = new MemoryBlobStore();
  app = buildApp({ config: testConfig(over), bus: new MemoryBus(), jobs, blobs, logger: silentLogger() });
}
beforeEach(() => start({ jaegerUrl: 'http://jaeger.test:16686' }));
afterEach(() => app.close());

describe('GET /v1/jobs?kind=', () => {
  it('lists only jobs of that kind (with status too), and names a kind that does not exist', async () => {
    await jobs.create(newJob({ id: 'job_call', kind: 'call', status: 'completed' }));
    await jobs.create(newJob({ id: 'job_story', kind: 'story', status: 'completed' }));
    await jobs.create(newJob({ id: 'job_story_run', kind: 'story' }));
    const ids = async (url: string) =>
      (await app.inject({ method: 'GET', url, headers: auth })).json().jobs.map((j: { id: string }) => j.id);
    expect((await ids('/v1/jobs?kind=story')).sort()).toEqual(['job_story', 'job_story_run']);
    expect(await ids('/v1/jobs?kind=story&status=completed')).toEqual(['job_story']);
    const bad = await app.inject({ method: 'GET', url: '/v1/jobs?kind=podcast', headers: auth });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatchObject({ code: 'invalid_input', field: 'kind' });
    expect(bad.json().error.message).toContain('call, story');
  });
});

describe('job links', () => {
  it('links the job’s trace in Jaeger when it has one and JAEGER_URL is set', async () => {
    await jobs.create(newJob({ id: 'job_t', kind: 'call', traceId: '4bf92f3577b34da6a3ce929d0e0e4736' }));
    const job = (await app.inject({ method: 'GET', url: '/v1/jobs/job_t', headers: auth })).json();
    expect(job.links.trace).toBe('http://jaeger.test:16686/trace/4bf92f3577b34da6a3ce929d0e0e4736');
    await app.close();
    start({ jaegerUrl: undefined });
    await jobs.create(newJob({ id: 'job_t', kind: 'call', traceId: '4bf92f3577b34da6a3ce929d0e0e4736' }));
    const without = (await app.inject({ method: 'GET', url: '/v1/jobs/job_t', headers: auth })).json();
    expect(without.links.trace).toBeUndefined();
  });

  it('serves the poster a job made, with a signed link on the job that needs no key', async () => {
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 0xff, 0xd9]);
    const key = 'jobs/job_p/generation/poster.jpg';
    await blobs.put(key, jpeg, { contentType: 'image/jpeg' });
    await jobs.create(
      newJob({
        id: 'job_p',
        kind: 'generation',
        status: 'completed',
        outputs: { poster: { key, durationSec: 0, sizeBytes: jpeg.length, width: 640, height: 360 } },
      }),
    );
    const job = (await app.inject({ method: 'GET', url: '/v1/jobs/job_p', headers: auth })).json();
    expect(job.links.poster).toMatch(
      new RegExp(`^${PUBLIC_BASE_URL}/v1/jobs/job_p/poster\\.jpg\\?expires=\\d+&signature=[0-9a-f]{64}$`),
    );
    const viaLink = await app.inject({ method: 'GET', url: job.links.poster.slice(PUBLIC_BASE_URL.length) });
    expect(viaLink.statusCode).toBe(200);
    expect(viaLink.headers['content-type']).toBe('image/jpeg');
    expect(viaLink.rawPayload.equals(jpeg)).toBe(true);
    // A poster link does not open the video, and the video link is not offered without a video.
    expect(job.links.video).toBeUndefined();
    const wrongPath = job.links.poster.slice(PUBLIC_BASE_URL.length).replace('poster.jpg', 'video.mp4');
    expect((await app.inject({ method: 'GET', url: wrongPath })).statusCode).toBe(403);
    const none = await app.inject({ method: 'GET', url: '/v1/jobs/job_p/poster.jpg' });
    expect(none.statusCode).toBe(401);
  });

  it('answers 404 for the poster of a job without one', async () => {
    await jobs.create(newJob({ id: 'job_np', kind: 'call' }));
    const res = await app.inject({ method: 'GET', url: '/v1/jobs/job_np/poster.jpg', headers: auth });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.message).toContain('no poster yet');
  });
});

describe('a generation’s audio', () => {
  // A speech generation stores a WAV; music an M4A: each is served with its stored type.
  const wav = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(60, 7)]);
  const withAudio = async (contentType?: string) => {
    const key = 'jobs/job_a/generate/audio.wav';
    await blobs.put(key, wav, { contentType: contentType ?? 'audio/wav' });
    await jobs.create(
      newJob({
        id: 'job_a',
        kind: 'generation',
        status: 'completed',
        outputs: {
          audio: {
            key,
            durationSec: 1.2,
            sizeBytes: wav.length,
            ...(contentType ? { contentType } : {}),
          },
        },
      }),
    );
  };

  it('is served with its stored type and byte ranges, over a signed link on the job that needs no key', async () => {
    await withAudio('audio/wav');
    const job = (await app.inject({ method: 'GET', url: '/v1/jobs/job_a', headers: auth })).json();
    expect(job.links.audio).toMatch(
      new RegExp(`^${PUBLIC_BASE_URL}/v1/jobs/job_a/audio\\?expires=\\d+&signature=[0-9a-f]{64}$`),
    );
    expect(job.links.video).toBeUndefined();
    const path = job.links.audio.slice(PUBLIC_BASE_URL.length);
    const whole = await app.inject({ method: 'GET', url: path });
    expect(whole.statusCode).toBe(200);
    expect(whole.headers['content-type']).toBe('audio/wav');
    expect(whole.headers['accept-ranges']).toBe('bytes');
    expect(whole.rawPayload.equals(wav)).toBe(true);
    // A player asks for ranges (Safari always does).
    const part = await app.inject({ method: 'GET', url: path, headers: { range: 'bytes=0-3' } });
    expect(part.statusCode).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 0-3/${wav.length}`);
    expect(part.rawPayload.toString()).toBe('RIFF');
    // With the key instead of a signature; without either, 401; the audio link does not open the video.
    const keyed = await app.inject({ method: 'GET', url: '/v1/jobs/job_a/audio', headers: auth });
    expect(keyed.statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/v1/jobs/job_a/audio' })).statusCode).toBe(401);
    expect(
      (await app.inject({ method: 'GET', url: path.replace('/audio?', '/video.mp4?') })).statusCode,
    ).toBe(403);
  });

  it('names a job without audio, and serves audio without a recorded type as bytes', async () => {
    await jobs.create(newJob({ id: 'job_na', kind: 'generation' }));
    const none = await app.inject({ method: 'GET', url: '/v1/jobs/job_na/audio', headers: auth });
    expect(none.statusCode).toBe(404);
    expect(none.json().error.message).toBe('job "job_na" has no audio yet (status: queued)');
    await withAudio(undefined);
    const res = await app.inject({ method: 'GET', url: '/v1/jobs/job_a/audio', headers: auth });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/octet-stream');
  });
});
