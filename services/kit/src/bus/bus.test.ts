import { headers as natsHeaders } from '@nats-io/transport-node';
import { HEADERS, type EventOf } from '@reelbus/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError, TransientError } from '../errors.ts';
import { startTelemetry, tracer, type Telemetry } from '../telemetry/telemetry.ts';
import { randomNamespace, startNatsServer, type NatsServerHandle } from '../testing/nats.ts';
import { Bus } from './bus.ts';
import { deleteDeadLetter, getDeadLetter, listDeadLetters, replayDeadLetter } from './dead-letters.ts';
import { deferred, waitFor } from './test-helpers.ts';
import type { Consumer } from './types.ts';

let server: NatsServerHandle;
let telemetry: Telemetry;
const open: Array<{ bus: Bus; consumers: Consumer[] }> = [];

beforeAll(async () => {
  server = await startNatsServer();
  telemetry = await startTelemetry({ serviceName: 'bus-test' });
});

afterAll(async () => {
  await telemetry.shutdown();
  await server.stop();
});

afterEach(async () => {
  for (const { bus, consumers } of open.splice(0)) {
    await Promise.all(consumers.map((c) => c.stop(0)));
    await bus.close();
  }
});

async function newBus(namespace: string, name = 'test'): Promise<{ bus: Bus; consumers: Consumer[] }> {
  const bus = await Bus.connect({ servers: server.url, namespace, name });
  await bus.ensureStreams();
  const entry = { bus, consumers: [] as Consumer[] };
  open.push(entry);
  return entry;
}

/** Collects `job.failed` events through a consumer of their own, as the notifier would. */
async function collectFailures(entry: { bus: Bus; consumers: Consumer[] }) {
  const failures: Array<EventOf<'job.failed'>> = [];
  entry.consumers.push(
    await entry.bus.consume({
      service: 'observer',
      handlers: { 'job.failed': { step: 'notify', handle: async (e) => void failures.push(e) } },
    }),
  );
  return failures;
}

function traceIdOf(traceparent: string | undefined): string | undefined {
  return traceparent?.split('-')[1];
}

describe('bus', () => {
  it('delivers a typed event with its trace context, and the handler publishes in the same trace', async () => {
    const ns = randomNamespace();
    const entry = await newBus(ns);
    const { bus } = entry;
    const got = deferred<{ event: EventOf<'job.warning'>; traceId: string | undefined; logged: boolean }>();
    entry.consumers.push(
      await bus.consume({
        service: 'worker',
        handlers: {
          'job.warning': {
            step: 'compose',
            handle: async (event, ctx) => {
              await ctx.progress('compose', 'completed', 100);
              got.resolve({ event, traceId: ctx.traceId, logged: typeof ctx.logger.info === 'function' });
            },
          },
        },
      }),
    );
    let publisherTraceId = '';
    const published = await tracer().startActiveSpan('test request', async (span) => {
      publisherTraceId = span.spanContext().traceId;
      try {
        return await bus.publish('job.warning', 'job-1', { step: 'images', message: 'image 3 skipped' });
      } finally {
        span.end();
      }
    });
    const { event, traceId } = await got.promise;
    expect(event).toEqual(published);
    expect(event.data).toEqual({ step: 'images', message: 'image 3 skipped' });
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(traceId).toBe(publisherTraceId);

    const stored = await bus.jsm.streams.getMessage(bus.names.eventsStream, {
      last_by_subj: bus.names.eventSubject('job.warning'),
    });
    expect(stored?.header.get(HEADERS.msgId)).toBe(published.id);
    expect(stored?.header.get(HEADERS.type)).toBe('job.warning');
    expect(stored?.header.get(HEADERS.version)).toBe('1');
    expect(stored?.header.get(HEADERS.jobId)).toBe('job-1');
    expect(traceIdOf(stored?.header.get('traceparent'))).toBe(publisherTraceId);

    const progress = await waitFor(
      () =>
        bus.jsm.streams.getMessage(bus.names.eventsStream, {
          last_by_subj: bus.names.eventSubject('job.progress'),
        }),
      { what: 'job.progress from the handler' },
    );
    expect(traceIdOf(progress?.header.get('traceparent'))).toBe(publisherTraceId);
    expect(progress?.json<EventOf<'job.progress'>>().data).toMatchObject({
      step: 'compose',
      status: 'completed',
      percent: 100,
      attempt: 1,
    });
  });

  it('refuses to publish invalid data with an error naming the field', async () => {
    const { bus } = await newBus(randomNamespace());
    await expect(bus.publish('job.warning', 'job-1', { step: 'images', message: '' })).rejects.toThrow(
      PermanentError,
    );
    await expect(bus.publish('job.warning', 'job-1', { step: 'images', message: '' })).rejects.toThrow(
      /data\.message/,
    );
    await expect(bus.publish('job.warning', 'bad id!', { step: 'images', message: 'x' })).rejects.toThrow(
      /jobId/,
    );
  });

  it('delivers an event published twice with the same id once', async () => {
    const entry = await newBus(randomNamespace());
    const { bus } = entry;
    const seen: string[] = [];
    const last = deferred();
    entry.consumers.push(
      await bus.consume({
        service: 'worker',
        handlers: {
          'job.warning': {
            step: 'compose',
            handle: async (e) => {
              seen.push(e.id);
              if (e.id === 'sentinel') last.resolve();
            },
          },
        },
      }),
    );
    const a = await bus.publish(
      'job.warning',
      'job-1',
      { step: 'images', message: 'first' },
      { id: 'warn:job-1:images' },
    );
    const b = await bus.publish(
      'job.warning',
      'job-1',
      { step: 'images', message: 'again' },
      { id: 'warn:job-1:images' },
    );
    expect(b.id).toBe(a.id);
    await bus.publish('job.warning', 'job-1', { step: 'images', message: 'after' }, { id: 'sentinel' });
    await last.promise;
    expect(seen).toEqual(['warn:job-1:images', 'sentinel']);
  });

  it('redelivers to another replica a message whose first consumer died without acking, and handles it once', async () => {
    const ns = randomNamespace();
    const first = await newBus(ns, 'replica-1');
    const second = await newBus(ns, 'replica-2');
    const started = deferred<number>();
    let firstFinished = false;
    const handledBySecond: number[] = [];
    const handledOnce = deferred();
    const opts = { service: 'worker', ackWaitMs: 1_000, maxDeliver: 5 };
    first.consumers.push(
      await first.bus.consume({
        ...opts,
        handlers: {
          'job.warning': {
            step: 'compose',
            handle: async (_e, ctx) => {
              started.resolve(ctx.deliveryCount);
              await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
              firstFinished = true;
            },
          },
        },
      }),
    );
    await second.bus.publish('job.warning', 'job-9', { step: 'images', message: 'work' });
    expect(await started.promise).toBe(1);
    // the first replica dies: its connection goes away mid-handler, no ack ever sent
    await first.bus.nc.close();
    second.consumers.push(
      await second.bus.consume({
        ...opts,
        handlers: {
          'job.warning': {
            step: 'compose',
            handle: async (_e, ctx) => {
              handledBySecond.push(ctx.deliveryCount);
              handledOnce.resolve();
            },
          },
        },
      }),
    );
    await handledOnce.promise;
    const consumerName = second.bus.names.consumerName('worker', 'job.warning');
    await waitFor(
      async () => {
        const info = await second.bus.jsm.consumers.info(second.bus.names.eventsStream, consumerName);
        return info.num_ack_pending === 0 && info.num_pending === 0 && info.num_redelivered === 0;
      },
      { what: 'the consumer to have nothing pending' },
    );
    expect(handledBySecond).toEqual([2]);
    expect(firstFinished).toBe(false);
  });

  it('dead-letters poison messages with job.failed and goes on with the next good message', async () => {
    const ns = randomNamespace();
    const entry = await newBus(ns);
    const { bus } = entry;
    const failures = await collectFailures(entry);
    const good = deferred<string>();
    entry.consumers.push(
      await bus.consume({
        service: 'worker',
        handlers: { 'job.warning': { step: 'compose', handle: async (e) => good.resolve(e.jobId) } },
      }),
    );
    const subject = bus.names.eventSubject('job.warning');
    const envelope = (jobId: string, extra: object) => ({
      id: `poison-${jobId}`,
      type: 'job.warning',
      version: 1,
      jobId,
      occurredAt: new Date().toISOString(),
      data: { step: 'images', message: 'x' },
      ...extra,
    });
    const h = natsHeaders();
    h.set(HEADERS.jobId, 'job-json');
    await bus.js.publish(subject, '{"this is": not json', { headers: h, msgID: 'p1' });
    await bus.js.publish(subject, JSON.stringify(envelope('job-version', { version: 9 })), { msgID: 'p2' });
    await bus.js.publish(
      subject,
      JSON.stringify(envelope('job-invalid', { data: { step: 'Not A Step', message: 'x' } })),
      {
        msgID: 'p3',
      },
    );
    await bus.js.publish(subject, '[]', { msgID: 'p4' }); // no job id anywhere
    await bus.publish('job.warning', 'job-good', { step: 'images', message: 'fine' });
    expect(await good.promise).toBe('job-good');

    await waitFor(() => failures.length >= 3, { what: 'three job.failed events' });
    const byJob = Object.fromEntries(failures.map((f) => [f.jobId, f.data]));
    expect(Object.keys(byJob).sort()).toEqual(['job-invalid', 'job-json', 'job-version']);
    expect(byJob['job-json']).toMatchObject({
      step: 'compose',
      permanent: true,
      service: 'worker',
      attempts: 1,
    });
    expect(byJob['job-json']?.reason).toMatch(/not valid JSON/);
    expect(byJob['job-version']?.reason).toMatch(/unknown version v9 of "job.warning"/);
    expect(byJob['job-invalid']?.reason).toMatch(/data\.step/);
    // One job.failed per dead letter: a later failure of the same step (after a replay) is not deduped away.
    for (const f of failures) expect(f.id).toBe(`job.failed:${f.jobId}:compose:${f.data.deadLetter?.seq}`);

    const letters = await waitFor(
      async () => {
        const l = await listDeadLetters(bus);
        return l.length === 4 ? l : undefined;
      },
      { what: 'four dead letters' },
    );
    for (const f of failures) {
      const dl = letters.find((l) => l.seq === f.data.deadLetter?.seq);
      expect(dl?.jobId).toBe(f.jobId);
      expect(dl?.reason).toBe(f.data.reason.replace(/[\r\n]+/g, ' '));
    }
    const json = letters.find((l) => l.jobId === 'job-json')!;
    expect(json.raw).toBe('{"this is": not json');
    expect(json.service).toBe('worker');
    expect(json.originalSubject).toBe(subject);
    expect(json.deliveries).toBe(1);
    expect(json.originalId).toBe('p1');
    expect(letters.find((l) => l.raw === '[]')?.jobId).toBeUndefined();
  });

  it('retries a handler that keeps throwing with backoff up to MaxDeliver, then dead-letters it', async () => {
    const entry = await newBus(randomNamespace());
    const { bus } = entry;
    const failures = await collectFailures(entry);
    const attempts: Array<{ n: number; at: number; last: boolean }> = [];
    entry.consumers.push(
      await bus.consume({
        service: 'worker',
        maxDeliver: 3,
        backoffMs: [150, 300],
        handlers: {
          'job.warning': {
            step: 'generate',
            handle: async (_e, ctx) => {
              attempts.push({ n: ctx.deliveryCount, at: Date.now(), last: ctx.lastAttempt });
              throw new TransientError('provider timed out');
            },
          },
        },
      }),
    );
    await bus.publish('job.warning', 'job-retry', { step: 'images', message: 'x' });
    await waitFor(() => failures.length === 1, { what: 'job.failed' });
    expect(attempts.map((a) => a.n)).toEqual([1, 2, 3]);
    expect(attempts.map((a) => a.last)).toEqual([false, false, true]);
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(140);
    expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(290);
    const f = failures[0]!;
    expect(f.data).toMatchObject({ step: 'generate', permanent: false, attempts: 3, service: 'worker' });
    expect(f.data.reason).toBe('gave up after 3 attempts: provider timed out');
    const dl = await getDeadLetter(bus, f.data.deadLetter!.seq);
    expect(dl?.event?.jobId).toBe('job-retry');
    expect(dl?.deliveries).toBe(3);
  });

  it('dead-letters at once on a PermanentError and on a fail outcome', async () => {
    const entry = await newBus(randomNamespace());
    const { bus } = entry;
    const failures = await collectFailures(entry);
    const calls: string[] = [];
    entry.consumers.push(
      await bus.consume({
        service: 'worker',
        handlers: {
          'job.warning': {
            step: 'split',
            handle: async (e) => {
              calls.push(e.jobId);
              if (e.jobId === 'job-throw')
                throw new PermanentError('recording.wav is not audio', { step: 'download' });
              return {
                outcome: 'fail',
                step: 'split',
                reason: 'the recording has one channel; a call needs two',
              };
            },
          },
        },
      }),
    );
    await bus.publish('job.warning', 'job-throw', { step: 'images', message: 'x' });
    await bus.publish('job.warning', 'job-outcome', { step: 'images', message: 'x' });
    await waitFor(() => failures.length === 2, { what: 'two job.failed' });
    expect(calls.sort()).toEqual(['job-outcome', 'job-throw']);
    const byJob = Object.fromEntries(failures.map((f) => [f.jobId, f.data]));
    expect(byJob['job-throw']).toMatchObject({
      step: 'download',
      permanent: true,
      attempts: 1,
      reason: 'recording.wav is not audio',
    });
    expect(byJob['job-outcome']).toMatchObject({
      step: 'split',
      permanent: true,
      reason: 'the recording has one channel; a call needs two',
    });
  });

  it('handles a replayed dead letter again, in the service that gave up on it only', async () => {
    const entry = await newBus(randomNamespace());
    const { bus } = entry;
    const failures = await collectFailures(entry);
    const calls: Array<{ n: number; id: string }> = [];
    const otherCalls: string[] = [];
    let broken = true;
    const handledAfterFix = deferred<EventOf<'job.warning'>>();
    entry.consumers.push(
      await bus.consume({
        service: 'worker',
        handlers: {
          'job.warning': {
            step: 'encode',
            handle: async (e, ctx) => {
              calls.push({ n: ctx.deliveryCount, id: e.id });
              if (broken) return { outcome: 'fail', step: 'encode', reason: 'font missing' };
              handledAfterFix.resolve(e);
            },
          },
        },
      }),
      await bus.consume({
        service: 'other',
        handlers: { 'job.warning': { step: 'notify', handle: async (e) => void otherCalls.push(e.id) } },
      }),
    );
    const published = await bus.publish('job.warning', 'job-replay', { step: 'images', message: 'x' });
    await waitFor(() => failures.length === 1, { what: 'job.failed' });
    const seq = failures[0]!.data.deadLetter!.seq;
    broken = false;
    const replay = await replayDeadLetter(bus, seq);
    expect(replay.msgId).toBe(`${published.id}:replay:${seq}`);
    const again = await handledAfterFix.promise;
    expect(again).toEqual(published);
    expect(calls).toEqual([
      { n: 1, id: published.id },
      { n: 1, id: published.id },
    ]);
    const otherName = bus.names.consumerName('other', 'job.warning');
    await waitFor(
      async () =>
        (await bus.jsm.consumers.info(bus.names.eventsStream, otherName)).num_ack_pending === 0 &&
        (await bus.jsm.consumers.info(bus.names.eventsStream, otherName)).num_pending === 0,
      { what: 'other consumer idle' },
    );
    expect(otherCalls).toEqual([published.id]);
    expect(await deleteDeadLetter(bus, seq)).toBe(true);
    expect(await getDeadLetter(bus, seq)).toBeUndefined();
    await expect(replayDeadLetter(bus, seq)).rejects.toThrow(/no dead letter at sequence/);
  });

  it('pulls only what it can work on: with concurrency 1 and 5 queued, one message is in hand', async () => {
    const entry = await newBus(randomNamespace());
    const { bus } = entry;
    for (let i = 0; i < 5; i++)
      await bus.publish('job.warning', `job-${i}`, { step: 'images', message: `m${i}` });
    const gates: Array<() => void> = [];
    const running = deferred();
    const done: string[] = [];
    const consumer = await bus.consume({
      service: 'encoder',
      concurrency: 1,
      handlers: {
        'job.warning': {
          step: 'encode',
          handle: async (e) => {
            await new Promise<void>((resolve) => {
              gates.push(resolve);
              running.resolve();
            });
            done.push(e.jobId);
          },
        },
      },
    });
    entry.consumers.push(consumer);
    await running.promise;
    const name = bus.names.consumerName('encoder', 'job.warning');
    const info = await bus.jsm.consumers.info(bus.names.eventsStream, name);
    expect(info.num_ack_pending).toBe(1);
    expect(info.num_pending).toBe(4);
    expect(consumer.inFlight).toBe(1);
    for (let i = 0; i < 5; i++) {
      await waitFor(() => gates.length === 1 && done.length === i, { what: `handler ${i + 1} to run` });
      const now = await bus.jsm.consumers.info(bus.names.eventsStream, name);
      expect([now.num_ack_pending, now.num_pending]).toEqual([1, 4 - i]);
      gates.shift()!();
    }
    await waitFor(() => done.length === 5, { what: 'all five handled' });
    expect(done).toEqual(['job-0', 'job-1', 'job-2', 'job-3', 'job-4']);
  });

  it('keeps overlapping pulls within the free slots: with concurrency 3 and 7 queued, three in hand', async () => {
    const entry = await newBus(randomNamespace());
    const { bus } = entry;
    for (let i = 0; i < 7; i++)
      await bus.publish('job.warning', `job-${i}`, { step: 'images', message: `m${i}` });
    const gates: Array<() => void> = [];
    const done: string[] = [];
    const consumer = await bus.consume({
      service: 'encoder',
      concurrency: 3,
      handlers: {
        'job.warning': {
          step: 'encode',
          handle: async (e) => {
            await new Promise<void>((resolve) => gates.push(resolve));
            done.push(e.jobId);
          },
        },
      },
    });
    entry.consumers.push(consumer);
    const name = bus.names.consumerName('encoder', 'job.warning');
    for (let finished = 0; finished < 7; finished++) {
      const inHand = Math.min(3, 7 - finished);
      await waitFor(() => gates.length === inHand && done.length === finished, {
        what: `${inHand} handlers running after ${finished} finished`,
      });
      const info = await bus.jsm.consumers.info(bus.names.eventsStream, name);
      // Never more delivered than slots, and the open pulls ask for no more than the free slots.
      expect([info.num_ack_pending, info.num_pending], `after ${finished}`).toEqual([
        inHand,
        7 - finished - inHand,
      ]);
      expect(consumer.inFlight).toBe(inHand);
      gates.shift()!();
    }
    await waitFor(() => done.length === 7, { what: 'all seven handled' });
  });

  it('creates streams idempotently and brings a changed config up to date', async () => {
    const ns = randomNamespace();
    const { bus } = await newBus(ns);
    await bus.ensureStreams();
    const before = await bus.jsm.streams.info(bus.names.eventsStream);
    await bus.jsm.streams.update(bus.names.eventsStream, { ...before.config, max_age: 3600 * 1e9 });
    await bus.ensureStreams();
    const after = await bus.jsm.streams.info(bus.names.eventsStream);
    expect(after.config.max_age).toBe(before.config.max_age);
    expect(after.config.duplicate_window).toBe(600 * 1e9);
    expect((await bus.jsm.streams.info(bus.names.deadLetterStream)).config.subjects).toEqual([`${ns}.dlq.>`]);
  });

  it("shows one job's events live with watchJob", async () => {
    const { bus } = await newBus(randomNamespace());
    const seen: string[] = [];
    const two = deferred();
    const w = bus.watchJob('job-w', (e) => {
      seen.push(`${e.type}:${e.jobId}`);
      if (seen.length === 2) two.resolve();
    });
    await bus.nc.flush();
    await bus.publish('job.warning', 'job-other', { step: 'images', message: 'x' });
    await bus.publish('job.warning', 'job-w', { step: 'images', message: 'x' });
    await bus.publish('job.progress', 'job-w', { step: 'images', status: 'started' });
    await two.promise;
    w.stop();
    expect(seen).toEqual(['job.warning:job-w', 'job.progress:job-w']);
  });

  it('shows every job’s events live with watchEvents, skipping invalid messages', async () => {
    const { bus } = await newBus(randomNamespace());
    const seen: string[] = [];
    const three = deferred();
    const w = bus.watchEvents((e) => {
      seen.push(`${e.type}:${e.jobId}`);
      if (seen.length === 3) three.resolve();
    });
    await w.ready;
    await bus.publish('job.warning', 'job-a', { step: 'images', message: 'x' });
    bus.nc.publish(bus.names.eventSubject('job.warning'), 'not an envelope');
    await bus.publish('job.progress', 'job-b', { step: 'images', status: 'started' });
    await bus.publish('job.progress', 'job-a', { step: 'images', status: 'completed' });
    await three.promise;
    w.stop();
    expect(seen).toEqual(['job.warning:job-a', 'job.progress:job-b', 'job.progress:job-a']);
  });
});
