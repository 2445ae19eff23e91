import { silentLogger } from '@reelbus/kit';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../app.ts';
import { MemoryBlobStore, MemoryBus, MemoryJobStore } from '../testing/fakes.ts';
import { auth, openSse, testConfig } from '../testing/helpers.ts';

let bus: MemoryBus;
let app: FastifyInstance;
let base: string;

beforeEach(async () => {
  bus = new MemoryBus();
  app = buildApp({
    config: testConfig(),
    bus,
    jobs: new MemoryJobStore(),
    blobs: new MemoryBlobStore(),
    logger: silentLogger(),
    sseHeartbeatMs: 50,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
});
afterEach(() => app.close());

describe('GET /v1/events', () => {
  it('says ready once subscribed, then streams every job’s events with their ids and types, with heartbeats', async () => {
    const sse = await openSse({ url: `${base}/v1/events`, headers: auth });
    expect(sse.status).toBe(200);
    expect(sse.headers['content-type']).toContain('text/event-stream');
    expect(sse.headers['cache-control']).toContain('no-transform');
    expect((await sse.next()).event).toBe('ready');

    await bus.publish('job.progress', 'job_a', { step: 'split', status: 'running', percent: 40 });
    await bus.publish('job.failed', 'job_b', { step: 'split', reason: 'not audio', permanent: true });
    const a = await sse.next();
    expect(a.event).toBe('job.progress');
    expect(a.data).toMatchObject({
      type: 'job.progress',
      jobId: 'job_a',
      data: { step: 'split', percent: 40 },
    });
    const b = await sse.next();
    expect(b).toMatchObject({ event: 'job.failed', data: { jobId: 'job_b', data: { reason: 'not audio' } } });
    // Finished jobs do not end this stream: it stays open for the next job.
    await bus.publish('job.completed', 'job_a', { outputs: {} });
    expect((await sse.next()).event).toBe('job.completed');
    await vi.waitFor(() => expect(sse.comments).toContain('heartbeat'), { timeout: 5000 });
    sse.close();
  });

  it('stops watching the bus when the client goes away, and when the app closes', async () => {
    const one = await openSse({ url: `${base}/v1/events`, headers: auth });
    const two = await openSse({ url: `${base}/v1/events`, headers: auth });
    await one.next();
    await two.next();
    expect(bus.watcherCount).toBe(2);
    one.close();
    await vi.waitFor(() => expect(bus.watcherCount).toBe(1), { timeout: 5000 });
    await app.close();
    await two.ended;
    expect(bus.watcherCount).toBe(0);
  });

  it('needs an API key in the Authorization header', async () => {
    const anonymous = await fetch(`${base}/v1/events`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: unknown }).error).toMatchObject({ code: 'unauthorized' });
    const wrong = await fetch(`${base}/v1/events`, { headers: { authorization: 'Bearer rb_wrong' } });
    expect(wrong.status).toBe(401);
    await wrong.body?.cancel();
    expect(bus.watcherCount).toBe(0);
  });
});
