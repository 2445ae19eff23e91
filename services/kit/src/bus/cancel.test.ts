import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventOf } from '@reelbus/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isJobCancelled, JobCancelledError, PermanentError } from '../errors.ts';
import { runFfmpeg } from '../ffmpeg/run.ts';
import { METRIC, metrics } from '../health/metrics.ts';
import { randomNamespace, startNatsServer, type NatsServerHandle } from '../testing/nats.ts';
import { Bus } from './bus.ts';
import { deferred, waitFor, within, type Deferred } from './test-helpers.ts';
import type { Consumer, ConsumeOptions } from './types.ts';

// Job cancellation across a real nats-server: a cancel aborts the handlers in hand for the job on
// every replica (ffmpeg killed), settles the job's later messages without running them, and
// leaves other jobs and the process alone.

let server: NatsServerHandle;
let dir: string;
const open: Array<{ bus: Bus; consumers: Consumer[] }> = [];

beforeAll(async () => {
  server = await startNatsServer();
  dir = mkdtempSync(join(tmpdir(), 'reelbus-cancel-'));
});

afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

afterEach(async () => {
  for (const { bus, consumers } of open.splice(0)) {
    await Promise.all(consumers.map((c) => c.stop(0)));
    await bus.close();
  }
});

async function newBus(namespace: string, name: string): Promise<{ bus: Bus; consumers: Consumer[] }> {
  const bus = await Bus.connect({ servers: server.url, namespace, name });
  await bus.ensureStreams();
  const entry = { bus, consumers: [] as Consumer[] };
  open.push(entry);
  return entry;
}

async function consume(entry: { bus: Bus; consumers: Consumer[] }, opts: ConsumeOptions): Promise<Consumer> {
  const c = await entry.bus.consume(opts);
  entry.consumers.push(c);
  return c;
}

/** Messages a subject holds in the events stream (0 when none was ever published). */
async function countOnSubject(bus: Bus, type: string): Promise<number> {
  const subject = bus.names.eventSubject(type);
  const info = await bus.jsm.streams.info(bus.names.eventsStream, { subjects_filter: subject });
  return info.state.subjects?.[subject] ?? 0;
}

/** The consumer of (service, type) has nothing delivered-but-unacked and nothing waiting. */
async function drained(bus: Bus, service: string, type: string): Promise<void> {
  const name = bus.names.consumerName(service, type);
  await waitFor(
    async () => {
      const info = await bus.jsm.consumers.info(bus.names.eventsStream, name);
      return info.num_ack_pending === 0 && info.num_pending === 0;
    },
    { what: `${name} to be drained` },
  );
}

/** Nothing was dead-lettered and no job.failed was published in this namespace. */
async function expectNoFailure(bus: Bus): Promise<void> {
  expect((await bus.jsm.streams.info(bus.names.deadLetterStream)).state.messages).toBe(0);
  expect(await countOnSubject(bus, 'job.failed')).toBe(0);
}

/** True while a process with `pid` exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('job cancellation', () => {
  it('aborts the handler of a cancelled job, settles it as cancelled, leaves other jobs alone and goes on', async () => {
    const ns = randomNamespace();
    const worker = await newBus(ns, 'worker');
    const ingest = await newBus(ns, 'ingest');
    const started = new Map<string, Deferred<AbortSignal>>([
      ['job_block', deferred<AbortSignal>()],
      ['job_other', deferred<AbortSignal>()],
    ]);
    const aborted = deferred<unknown>();
    const releaseOther = deferred();
    const handled: string[] = [];
    const next = deferred();
    const consumer = await consume(worker, {
      service: 'cancel-worker',
      concurrency: 2,
      handlers: {
        'job.warning': {
          step: 'encode',
          handle: async (e, ctx) => {
            started.get(e.jobId)?.resolve(ctx.signal);
            if (e.jobId === 'job_block') {
              // Blocked until aborted, as a handler waiting on a provider or ffmpeg would be.
              await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
              aborted.resolve(ctx.signal.reason);
              throw ctx.signal.reason;
            }
            if (e.jobId === 'job_other') await releaseOther.promise;
            handled.push(e.jobId);
            if (e.jobId === 'job_next') next.resolve();
          },
        },
      },
    });
    await ingest.bus.publish('job.warning', 'job_block', { step: 'images', message: 'a' });
    await ingest.bus.publish('job.warning', 'job_other', { step: 'images', message: 'b' });
    const [, otherSignal] = await Promise.all([
      started.get('job_block')!.promise,
      started.get('job_other')!.promise,
    ]);
    expect(consumer.inFlight).toBe(2);

    const result = await ingest.bus.cancelJob('job_block', { reason: 'wrong photos', by: 'studio-key' });
    expect(result.alreadyCancelled).toBe(false);
    expect(result.event).toMatchObject({
      id: 'job.cancelled:job_block',
      type: 'job.cancelled',
      jobId: 'job_block',
      data: { reason: 'wrong photos', by: 'studio-key' },
    });
    const reason = await within(aborted.promise, { what: 'the handler to be aborted', timeoutMs: 5_000 });
    expect(reason).toBeInstanceOf(JobCancelledError);
    expect(reason).toMatchObject({ jobId: 'job_block', reason: 'wrong photos', by: 'studio-key' });

    // The other job is untouched and finishes normally.
    expect(otherSignal.aborted).toBe(false);
    releaseOther.resolve();
    await waitFor(() => handled.includes('job_other'), { what: 'job_other handled' });

    // The process stays up and takes the next message.
    await ingest.bus.publish('job.warning', 'job_next', { step: 'images', message: 'c' });
    await within(next.promise, { what: 'job_next handled' });
    await drained(worker.bus, 'cancel-worker', 'job.warning');
    expect(handled).toEqual(['job_other', 'job_next']);
    const labels = { service: 'cancel-worker', type: 'job.warning' };
    expect(metrics.value(METRIC.cancelled, labels)).toBe(1);
    expect(metrics.value(METRIC.handled, labels)).toBe(2);
    expect(metrics.value(METRIC.failed, labels) ?? 0).toBe(0);
    await expectNoFailure(worker.bus);
    expect(await countOnSubject(worker.bus, 'job.cancelled')).toBe(1);
  });

  it('never hands a message of an already-cancelled job to its handler, before or after the consumer started', async () => {
    const ns = randomNamespace();
    const ingest = await newBus(ns, 'ingest');
    // Cancelled before any service runs: the consumer loads it from the bucket at start.
    await ingest.bus.cancelJob('job_early', { by: 'ops' });
    const worker = await newBus(ns, 'worker');
    const calls: string[] = [];
    const last = deferred();
    await consume(worker, {
      service: 'skipper',
      handlers: {
        'job.warning': {
          step: 'split',
          handle: async (e) => {
            calls.push(e.jobId);
            if (e.jobId === 'job_last') last.resolve();
          },
        },
      },
    });
    // Cancelled while the service runs, before its message arrives: the live watch has it.
    await ingest.bus.cancelJob('job_late');
    const cancelled = await worker.bus.cancelledJobs();
    await waitFor(() => cancelled.has('job_late'), { what: 'the watch to see job_late' });
    for (const jobId of ['job_early', 'job_ok', 'job_late', 'job_early', 'job_last'])
      await ingest.bus.publish('job.warning', jobId, { step: 'images', message: jobId });
    await within(last.promise, { what: 'job_last handled' });
    await drained(worker.bus, 'skipper', 'job.warning');
    expect(calls).toEqual(['job_ok', 'job_last']);
    expect(metrics.value(METRIC.cancelled, { service: 'skipper', type: 'job.warning' })).toBe(3);
    await expectNoFailure(worker.bus);
  });

  it('kills a long real ffmpeg of a cancelled job on every replica within 5 s; both replicas go on', async () => {
    const ns = randomNamespace();
    const replicas = [await newBus(ns, 'encoder-1'), await newBus(ns, 'encoder-2')];
    const ingest = await newBus(ns, 'ingest');
    // A wrapper that records ffmpeg's pid (exec keeps it), so the test can see the process go away.
    const pidDir = mkdtempSync(join(dir, 'pids-'));
    const ffmpegPath = join(pidDir, 'ffmpeg-with-pid');
    writeFileSync(ffmpegPath, `#!/bin/sh\necho $$ > "${pidDir}/$$.pid"\nexec ffmpeg "$@"\n`);
    chmodSync(ffmpegPath, 0o755);
    const running: string[] = [];
    const outcomes: Array<{ replica: string; err: unknown }> = [];
    const after: string[] = [];
    for (const [i, entry] of replicas.entries()) {
      await consume(entry, {
        service: 'encoder',
        concurrency: 1,
        handlers: {
          'job.warning': {
            step: 'encode',
            handle: async (e, ctx) => {
              if (e.jobId !== 'job_long') return void after.push(`${e.jobId}@${i}`);
              try {
                // A real encode read at native speed: 10 minutes unless killed.
                await runFfmpeg({
                  step: 'encode',
                  ffmpegPath,
                  signal: ctx.signal,
                  args: [
                    '-re',
                    '-f',
                    'lavfi',
                    '-i',
                    'testsrc2=size=320x240:rate=25',
                    '-t',
                    '600',
                    '-c:v',
                    'libx264',
                    '-preset',
                    'ultrafast',
                    '-f',
                    'mp4',
                    join(pidDir, `out-${i}.mp4`),
                  ],
                  onProgress: () => {
                    if (!running.includes(`replica-${i}`)) running.push(`replica-${i}`);
                  },
                });
              } catch (err) {
                outcomes.push({ replica: `replica-${i}`, err });
                throw err;
              }
            },
          },
        },
      });
    }
    // Two messages of one job: each replica (one slot each) takes one.
    await ingest.bus.publish('job.warning', 'job_long', { step: 'images', message: 'part 1' });
    await ingest.bus.publish('job.warning', 'job_long', { step: 'images', message: 'part 2' });
    await waitFor(() => running.length === 2, { what: 'ffmpeg running on both replicas', timeoutMs: 30_000 });
    const pids = readdirSync(pidDir)
      .filter((f) => f.endsWith('.pid'))
      .map((f) => Number(readFileSync(join(pidDir, f), 'utf8')));
    expect(pids).toHaveLength(2);
    expect(pids.every(alive)).toBe(true);

    const cancelAt = Date.now();
    await ingest.bus.cancelJob('job_long', { reason: 'user pressed stop' });
    await waitFor(() => pids.every((p) => !alive(p)) && outcomes.length === 2, {
      what: 'both ffmpeg processes to exit',
      timeoutMs: 5_000,
    });
    expect(Date.now() - cancelAt).toBeLessThan(5_000);
    for (const { err } of outcomes) {
      expect((err as Error).name).toBe('AbortError');
      expect(isJobCancelled(err)).toBe(true);
    }
    expect(outcomes.map((o) => o.replica).sort()).toEqual(['replica-0', 'replica-1']);

    // Both replicas stay up and take the next messages.
    for (const jobId of ['job_a', 'job_b', 'job_c'])
      await ingest.bus.publish('job.warning', jobId, { step: 'images', message: jobId });
    await waitFor(() => after.length === 3, { what: 'the next three messages handled' });
    await drained(ingest.bus, 'encoder', 'job.warning');
    expect(metrics.value(METRIC.cancelled, { service: 'encoder', type: 'job.warning' })).toBe(2);
    await expectNoFailure(ingest.bus);
    expect(existsSync(ffmpegPath)).toBe(true);
  }, 60_000);

  it('delivers every message to a consumer that opts out (the notifier), and job.cancelled itself to all', async () => {
    const ns = randomNamespace();
    const entry = await newBus(ns, 'notifier');
    const seen: string[] = [];
    const cancels: Array<EventOf<'job.cancelled'>> = [];
    const done = deferred();
    await entry.bus.cancelJob('job_gone', { reason: 'duplicate upload' });
    await consume(entry, {
      service: 'projector',
      cancellable: false,
      handlers: {
        'job.warning': {
          step: 'notify',
          handle: async (e) => {
            seen.push(e.jobId);
            if (e.jobId === 'job_end') done.resolve();
          },
        },
      },
    });
    await consume(entry, {
      service: 'audit',
      handlers: { 'job.cancelled': { step: 'notify', handle: async (e) => void cancels.push(e) } },
    });
    await entry.bus.publish('job.warning', 'job_gone', { step: 'images', message: 'late event' });
    await entry.bus.publish('job.warning', 'job_end', { step: 'images', message: 'x' });
    await within(done.promise, { what: 'job_end projected' });
    expect(seen).toEqual(['job_gone', 'job_end']);
    await waitFor(() => cancels.length === 1, { what: 'job.cancelled handled' });
    expect(cancels[0]).toMatchObject({ jobId: 'job_gone', data: { reason: 'duplicate upload' } });
  });

  it('still aborts the handler of a cancelled job after nats-server restarted under the service', async () => {
    let own = await startNatsServer();
    try {
      const ns = randomNamespace();
      const worker = await Bus.connect({ servers: own.url, namespace: ns, name: 'worker' });
      await worker.ensureStreams();
      const ingest = await Bus.connect({ servers: own.url, namespace: ns, name: 'ingest' });
      const mine = [
        { bus: worker, consumers: [] as Consumer[] },
        { bus: ingest, consumers: [] as Consumer[] },
      ];
      open.push(...mine);
      const started = deferred();
      const aborted = deferred<unknown>();
      mine[0]!.consumers.push(
        await worker.consume({
          service: 'restarted',
          handlers: {
            'job.warning': {
              step: 'encode',
              handle: async (_e, ctx) => {
                started.resolve();
                await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
                aborted.resolve(ctx.signal.reason);
                throw ctx.signal.reason;
              },
            },
          },
        }),
      );
      // The server goes away and comes back on the same port and store.
      await own.stop({ keepStore: true });
      own = await startNatsServer({ port: own.port, storeDir: own.storeDir });
      await waitFor(() => worker.isConnected() && ingest.isConnected(), { what: 'both to reconnect' });
      await waitFor(
        async () => {
          await ingest.publish(
            'job.warning',
            'job_after_restart',
            { step: 'images', message: 'x' },
            { id: 'r1' },
          );
          return true;
        },
        { what: 'a publish to go through after the restart' },
      );
      await within(started.promise, { what: 'the handler to start after the restart' });
      await ingest.cancelJob('job_after_restart', { by: 'ops' });
      expect(
        await within(aborted.promise, {
          what: 'the handler to be aborted after the restart',
          timeoutMs: 5_000,
        }),
      ).toBeInstanceOf(JobCancelledError);
      await drained(worker, 'restarted', 'job.warning');
      expect(metrics.value(METRIC.cancelled, { service: 'restarted', type: 'job.warning' })).toBe(1);
    } finally {
      for (const { bus, consumers } of open.splice(0)) {
        await Promise.all(consumers.map((c) => c.stop(0)));
        await bus.close();
      }
      await own.stop();
    }
  }, 60_000);

  it('keeps the first cancel, and refuses a bad job id or reason before writing anything', async () => {
    const ns = randomNamespace();
    const { bus } = await newBus(ns, 'ingest');
    const first = await bus.cancelJob('job_twice', { reason: 'first', by: 'alice' });
    const second = await bus.cancelJob('job_twice', { reason: 'second', by: 'bob' });
    expect(second.alreadyCancelled).toBe(true);
    expect(second.cancel).toEqual(first.cancel);
    expect(second.event.data).toEqual({ reason: 'first', by: 'alice' });
    // The same event id: JetStream keeps one job.cancelled.
    expect(await countOnSubject(bus, 'job.cancelled')).toBe(1);

    await expect(bus.cancelJob('not a job!')).rejects.toThrow(PermanentError);
    await expect(bus.cancelJob('not a job!')).rejects.toThrow(/jobId/);
    await expect(bus.cancelJob('job_bad', { reason: '' })).rejects.toThrow(/data\.reason/);
    const cancelled = await bus.cancelledJobs();
    await waitFor(() => cancelled.has('job_twice'), { what: 'the watch to load job_twice' });
    expect(cancelled.has('job_bad')).toBe(false);
    expect(cancelled.get('job_twice')).toMatchObject({ reason: 'first', by: 'alice' });
  });
});
