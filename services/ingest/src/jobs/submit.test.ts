import { silentLogger } from '@reelbus/kit';
import { collectSpans } from '@reelbus/kit/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../app.ts';
import { MemoryBlobStore, MemoryBus, MemoryJobStore } from '../testing/fakes.ts';
import {
  auth,
  makeStereoWav,
  multipartBody,
  testConfig,
  twilioCallback,
  twilioRequest,
} from '../testing/helpers.ts';

// Every job-creating route goes through jobs/submit.ts: these tests hold each route to the same
// behaviour (trace id, submittedBy, 503 + Retry-After and no job left behind when the bus refuses).

let spans: Awaited<ReturnType<typeof collectSpans>>;
let bus: MemoryBus;
let jobs: MemoryJobStore;
let blobs: MemoryBlobStore;
let app: FastifyInstance;

beforeAll(async () => {
  spans = await collectSpans('ingest-submit-test');
});
afterAll(async () => {
  await app?.close();
  await spans.stop();
});
beforeEach(async () => {
  await app?.close();
  bus = new MemoryBus();
  jobs = new MemoryJobStore();
  blobs = new MemoryBlobStore();
  app = buildApp({ config: testConfig(), bus, jobs, blobs, logger: silentLogger() });
  await blobs.put('in/story.wav', makeStereoWav());
});

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const traceparent = `00-${TRACE}-b7ad6b7169203331-01`;

/** The ways in, each sending `headers` with its request. */
const routes: Record<
  string,
  (
    headers: Record<string, string>,
  ) => Promise<{ statusCode: number; json(): { jobId: string }; headers: Record<string, unknown> }>
> = {
  twilio: (headers) => {
    const req = twilioRequest({ params: twilioCallback() });
    return app.inject({ ...req, headers: { ...req.headers, ...headers } });
  },
  upload: async (headers) => {
    const body = await multipartBody([
      { name: 'recording', filename: 'call.wav', type: 'audio/wav', bytes: makeStereoWav() },
    ]);
    return app.inject({
      method: 'POST',
      url: '/v1/recordings',
      headers: { ...auth, ...body.headers, ...headers },
      payload: body.payload,
    });
  },
  story: (headers) =>
    app.inject({
      method: 'POST',
      url: '/v1/stories',
      headers: { ...auth, ...headers },
      payload: { audio: 'in/story.wav' },
    }),
  merge: (headers) =>
    app.inject({
      method: 'POST',
      url: '/v1/merges',
      headers: { ...auth, ...headers },
      payload: { clips: ['takes/a.mp4', 'https://cdn.example.com/b.mp4'] },
    }),
  'merge upload': async (headers) => {
    const clip = (name: string) => ({
      name,
      filename: `${name}.mp4`,
      type: 'video/mp4',
      bytes: Buffer.from(name),
    });
    const body = await multipartBody([clip('clip'), clip('clip')]);
    return app.inject({
      method: 'POST',
      url: '/v1/merges',
      headers: { ...auth, ...body.headers, ...headers },
      payload: body.payload,
    });
  },
};

describe.each(Object.keys(routes))('a job made by the %s route', (name) => {
  const submit = routes[name]!;

  it('carries the request’s trace id, and the event that starts it is published once', async () => {
    const res = await submit({ traceparent });
    expect(res.statusCode).toBeLessThan(300);
    const job = await jobs.get(res.json().jobId);
    expect(job?.traceId).toBe(TRACE);
    expect(job?.status).toBe('queued');
    expect(bus.events.filter((e) => e.jobId === res.json().jobId)).toHaveLength(1);
  });

  it('is removed, with a 503 and Retry-After, when the bus refuses its event', async () => {
    vi.spyOn(bus, 'publish').mockRejectedValueOnce(new Error('no responders'));
    const res = await submit({});
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('2');
    expect((res.json() as unknown as { error: { code: string } }).error.code).toBe('bus_unavailable');
    expect(await jobs.list()).toEqual([]);
    expect(bus.events).toEqual([]);
  });
});
