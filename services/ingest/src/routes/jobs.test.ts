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
