import { newJob, type EventOf, type Job } from '@reelbus/contracts';
import { Bus, KvJobStore, getDeadLetter, listDeadLetters, silentLogger, type Consumer } from '@reelbus/kit';
import { randomNamespace, startNatsServer, type NatsServerHandle } from '@reelbus/kit/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app.ts';
import { MemoryBlobStore, MemoryBus, MemoryJobStore } from '../testing/fakes.ts';
import { auth, operatorAuth, testConfig } from '../testing/helpers.ts';

// The operator routes on the real parts: a nats-server, the kit Bus (dead-letter stream), the KV job
// store, and a consumer that gives up on the jobs it is told to, as a service with bad input does.
let server: NatsServerHandle;
let bus: Bus;
let jobs: KvJobStore;
let app: FastifyInstance;
let encoder: Consumer;
/** Jobs the encoder fails on (permanently: straight to the dead-letter stream). */
const broken = new Set<string>();
/** Every delivery the encoder handled, by job. */
const handled: EventOf<'job.warning'>[] = [];

beforeAll(async () => {
  server = await startNatsServer();
  bus = await Bus.connect({ servers: server.url, namespace: randomNamespace(), name: 'operator-test' });
  await bus.ensureStreams();
  jobs = await KvJobStore.open({ nc: bus.nc, bucket: bus.names.jobsBucket });
  encoder = await bus.consume({
    service: 'encoder',
    handlers: {
      'job.warning': {
        step: 'encode',
        handle: async (e) => {
          handled.push(e);
          if (broken.has(e.jobId))
            return { outcome: 'fail', step: 'encode', reason: `font missing for ${e.jobId}` };
        },
      },
    },
  });
  app = buildApp({
    config: testConfig(),
    bus,
    opsBus: bus,
    jobs,
    blobs: new MemoryBlobStore(),
    logger: silentLogger(),
  });
});
afterAll(async () => {
  await app?.close();
  await encoder?.stop(0);
  await jobs?.close();
  await bus?.close();
  await server?.stop();
});

/** Polls `check` every 25 ms until it returns something truthy, for up to 15 s. */
async function waitFor<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A job whose message the encoder dead-letters; the document says failed, as the notifier would. */
async function failedJobWithDeadLetter(jobId: string): Promise<{ seq: number; eventId: string }> {
  broken.add(jobId);
  await jobs.create({
    ...newJob({ id: jobId, kind: 'render' }),
    status: 'failed',
    steps: { encode: { status: 'failed', error: `font missing for ${jobId}` } },
    error: { step: 'encode', reason: `font missing for ${jobId}` },
  } satisfies Job);
  const event = await bus.publish('job.warning', jobId, { step: 'images', message: 'x' });
  const [letter] = await waitFor(`the dead letter of ${jobId}`, async () => {
    const l = await listDeadLetters(bus, { jobId });
    return l.length ? l : undefined;
  });
  return { seq: letter!.seq, eventId: event.id };
}

const handledCount = (jobId: string) => handled.filter((e) => e.jobId === jobId).length;

describe('GET /v1/dead-letters', () => {
  it('lists dead letters with their reasons, for operator keys only', async () => {
    const { seq, eventId } = await failedJobWithDeadLetter('job_dl_list');
    const res = await app.inject({ method: 'GET', url: '/v1/dead-letters', headers: operatorAuth });
    expect(res.statusCode, res.body).toBe(200);
    const letter = (res.json().deadLetters as Array<{ seq: number }>).find((d) => d.seq === seq);
    expect(letter).toMatchObject({
      seq,
      reason: 'font missing for job_dl_list',
      service: 'encoder',
      step: 'encode',
      type: 'job.warning',
      jobId: 'job_dl_list',
      originalId: eventId,
      originalSubject: bus.names.eventSubject('job.warning'),
      event: { id: eventId, type: 'job.warning', jobId: 'job_dl_list' },
    });

    const user = await app.inject({ method: 'GET', url: '/v1/dead-letters', headers: auth });
    expect(user.statusCode).toBe(403);
    expect(user.json().error).toMatchObject({ code: 'forbidden' });
    expect(user.json().error.message).toMatch(/needs an operator key; the key "tester" has the role "user"/);
    const anonymous = await app.inject({ method: 'GET', url: '/v1/dead-letters' });
    expect(anonymous.statusCode).toBe(401);
  });

  it('filters by job and pages with next', async () => {
    const a = await failedJobWithDeadLetter('job_dl_page_a');
    const b = await failedJobWithDeadLetter('job_dl_page_b');
    const only = await app.inject({
      method: 'GET',
      url: '/v1/dead-letters?jobId=job_dl_page_b',
      headers: operatorAuth,
    });
    expect(only.json().deadLetters.map((d: { seq: number }) => d.seq)).toEqual([b.seq]);
    expect(only.json().next).toBeUndefined();

    const first = await app.inject({
      method: 'GET',
      url: `/v1/dead-letters?limit=1&from=${a.seq}`,
      headers: operatorAuth,
    });
    expect(first.json()).toEqual({ deadLetters: [expect.objectContaining({ seq: a.seq })], next: a.seq + 1 });
    const second = await app.inject({
      method: 'GET',
      url: `/v1/dead-letters?limit=1&from=${first.json().next}`,
      headers: operatorAuth,
    });
    expect(second.json().deadLetters[0].seq).toBe(b.seq);
  });

  it('names a bad query parameter', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/v1/dead-letters?limit=0&from=x',
      headers: operatorAuth,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.issues).toEqual([
      { field: 'limit', message: 'must be a whole number from 1 to 500' },
      { field: 'from', message: 'must be a dead-letter sequence (a whole number from 1)' },
    ]);
  });
});

describe('POST /v1/dead-letters/:seq/replay', () => {
  it('sends the message to the service that gave up again and removes the dead letter; a second replay is a 404', async () => {
    const { seq, eventId } = await failedJobWithDeadLetter('job_dl_replay');
    broken.delete('job_dl_replay');
    const res = await app.inject({
      method: 'POST',
      url: `/v1/dead-letters/${seq}/replay`,
      headers: operatorAuth,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      seq,
      jobId: 'job_dl_replay',
      type: 'job.warning',
      service: 'encoder',
      replay: { stream: bus.names.eventsStream, msgId: `${eventId}:replay:${seq}` },
    });
    await waitFor('the replay handled', async () => handledCount('job_dl_replay') === 2 || undefined);
    expect(await getDeadLetter(bus, seq)).toBeUndefined();
    // The job document is not reopened by a replay (a retry does that).
    expect((await jobs.get('job_dl_replay'))!.status).toBe('failed');

    const again = await app.inject({
      method: 'POST',
      url: `/v1/dead-letters/${seq}/replay`,
      headers: operatorAuth,
    });
    expect(again.statusCode).toBe(404);
    expect(again.json().error).toEqual({
      code: 'not_found',
      message: `there is no dead letter ${seq} (it was replayed or removed already)`,
    });
  });

  it('refuses a dead letter of a cancelled job (409), a user key (403) and a sequence that is not one (400)', async () => {
    const { seq } = await failedJobWithDeadLetter('job_dl_cancelled');
    await jobs.update('job_dl_cancelled', (j) => ({ ...j, status: 'cancelled' }));
    const cancelled = await app.inject({
      method: 'POST',
      url: `/v1/dead-letters/${seq}/replay`,
      headers: operatorAuth,
    });
    expect(cancelled.statusCode).toBe(409);
    expect(cancelled.json().error.code).toBe('job_cancelled');
    expect(await getDeadLetter(bus, seq)).toBeDefined();

    const user = await app.inject({ method: 'POST', url: `/v1/dead-letters/${seq}/replay`, headers: auth });
    expect(user.statusCode).toBe(403);
    expect(await getDeadLetter(bus, seq)).toBeDefined();

    const bad = await app.inject({
      method: 'POST',
      url: '/v1/dead-letters/abc/replay',
      headers: operatorAuth,
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('seq');
  });
});

describe('POST /v1/jobs/:id/retry', () => {
  it('reopens a failed job and replays its dead letters; a second retry is a 409', async () => {
    const { seq } = await failedJobWithDeadLetter('job_retry_ok');
    broken.delete('job_retry_ok');
    const res = await app.inject({
      method: 'POST',
      url: '/v1/jobs/job_retry_ok/retry',
      headers: operatorAuth,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      jobId: 'job_retry_ok',
      status: 'running',
      step: 'encode',
      replayed: [{ seq, service: 'encoder', type: 'job.warning' }],
    });
    await waitFor('the retried message handled', async () => handledCount('job_retry_ok') === 2 || undefined);
    const job = await jobs.get('job_retry_ok');
    expect(job).toMatchObject({ status: 'running', steps: { encode: { status: 'pending' } } });
    expect(job!.error).toBeUndefined();
    expect(await getDeadLetter(bus, seq)).toBeUndefined();

    const again = await app.inject({
      method: 'POST',
      url: '/v1/jobs/job_retry_ok/retry',
      headers: operatorAuth,
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().error).toEqual({
      code: 'not_failed',
      message: 'job "job_retry_ok" is running, not failed: only a failed job can be retried',
    });
  });

  it('answers 409 naming when and the step for a failed job whose intermediates retention removed', async () => {
    const { seq } = await failedJobWithDeadLetter('job_retry_swept');
    const at = '2025-03-01T10:00:00.000Z';
    await jobs.update('job_retry_swept', (job) => ({ ...job, retention: { intermediatesRemovedAt: at } }));
    const res = await app.inject({
      method: 'POST',
      url: '/v1/jobs/job_retry_swept/retry',
      headers: operatorAuth,
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toEqual({
      code: 'intermediates_removed',
      message: `job "job_retry_swept"'s intermediates (fetched inputs, split audio, clips, converted images, chunks) were removed at ${at} by the retention sweeper (INTERMEDIATE_TTL after the job ended); it cannot be retried from step "encode": submit it again`,
    });
    expect((await jobs.get('job_retry_swept'))!.status).toBe('failed');
    expect(await getDeadLetter(bus, seq)).toBeDefined();
    expect(handledCount('job_retry_swept')).toBe(1);
  });

  it('answers 404 for no such job, 409 for a failed job without dead letters, 403 for a user key', async () => {
    const missing = await app.inject({
      method: 'POST',
      url: '/v1/jobs/job_nobody/retry',
      headers: operatorAuth,
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.message).toBe('job "job_nobody" does not exist');

    await jobs.create({
      ...newJob({ id: 'job_no_letters', kind: 'story' }),
      status: 'failed',
      error: { step: 'normalize', reason: 'not an audio file' },
    });
    const none = await app.inject({
      method: 'POST',
      url: '/v1/jobs/job_no_letters/retry',
      headers: operatorAuth,
    });
    expect(none.statusCode).toBe(409);
    expect(none.json().error.code).toBe('nothing_to_retry');
    expect(none.json().error.message).toMatch(/failed at "normalize" but has no dead letters/);

    const { seq } = await failedJobWithDeadLetter('job_retry_user');
    const user = await app.inject({ method: 'POST', url: '/v1/jobs/job_retry_user/retry', headers: auth });
    expect(user.statusCode).toBe(403);
    expect((await jobs.get('job_retry_user'))!.status).toBe('failed');
    expect(await getDeadLetter(bus, seq)).toBeDefined();
  });
});

describe('without the dead-letter stream', () => {
  it('answers 503 instead of pretending (ingest on the in-memory bus)', async () => {
    const bare = buildApp({
      config: testConfig(),
      bus: new MemoryBus(),
      jobs: new MemoryJobStore(),
      blobs: new MemoryBlobStore(),
      logger: silentLogger(),
    });
    try {
      const res = await bare.inject({ method: 'GET', url: '/v1/dead-letters', headers: operatorAuth });
      expect(res.statusCode).toBe(503);
      expect(res.json().error.message).toMatch(/no connection to the dead-letter stream/);
    } finally {
      await bare.close();
    }
  });
});
