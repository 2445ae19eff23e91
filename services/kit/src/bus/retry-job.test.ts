import { newJob, type EventOf, type Job } from '@reelbus/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvJobStore } from '../jobs/kv.ts';
import { randomNamespace, startNatsServer, type NatsServerHandle } from '../testing/nats.ts';
import { Bus, buildEnvelope } from './bus.ts';
import {
  DeadLetterReplayError,
  deleteDeadLetter,
  getDeadLetter,
  listDeadLetters,
  replayDeadLetter,
} from './dead-letters.ts';
import { intermediatesRemoved, reopenFailedJob, retryJob } from './retry-job.ts';
import { deferred, waitFor } from './test-helpers.ts';
import type { Consumer } from './types.ts';

let server: NatsServerHandle;
let bus: Bus;
let jobs: KvJobStore;
const consumers: Consumer[] = [];

beforeAll(async () => {
  server = await startNatsServer();
  bus = await Bus.connect({ servers: server.url, namespace: randomNamespace(), name: 'retry-test' });
  await bus.ensureStreams();
  jobs = await KvJobStore.open({ nc: bus.nc, bucket: bus.names.jobsBucket });
});
afterAll(async () => {
  await Promise.all(consumers.map((c) => c.stop(0)));
  await jobs?.close();
  await bus?.close();
  await server?.stop();
});

/** A job failed at `encode` the way the notifier records it. */
function failedJob(id: string): Job {
  return {
    ...newJob({ id, kind: 'render' }),
    status: 'failed',
    steps: {
      resolve: { status: 'completed', percent: 100 },
      encode: { status: 'failed', error: 'font missing', finishedAt: new Date().toISOString() },
    },
    error: { step: 'encode', reason: 'font missing' },
  };
}

describe('reopenFailedJob', () => {
  it('sets a failed job running with its failed step pending and no error, counting the retry', () => {
    const job = reopenFailedJob({ ...failedJob('job_a'), state: { retries: 1, other: { x: 1 } } })!;
    expect(job.status).toBe('running');
    expect(job.error).toBeUndefined();
    // it runs again: its error, times and percent go (they come with the new run)
    expect(job.steps.encode).toEqual({ status: 'pending' });
    expect(job.steps.resolve).toEqual({ status: 'completed', percent: 100 });
    expect(job.state).toEqual({ retries: 2, other: { x: 1 } });
  });

  it('leaves every job that is not failed alone', () => {
    for (const status of ['queued', 'running', 'completed', 'cancelled'] as const)
      expect(reopenFailedJob({ ...failedJob('job_b'), status }), status).toBeUndefined();
  });
});

describe('intermediatesRemoved', () => {
  it('names the job, when and the step when the sweeper removed its intermediates; nothing otherwise', () => {
    const at = '2025-03-01T10:00:00.000Z';
    expect(
      intermediatesRemoved({ ...failedJob('job_swept'), retention: { intermediatesRemovedAt: at } }),
    ).toEqual({
      outcome: 'intermediates_removed',
      removedAt: at,
      step: 'encode',
      message: `job "job_swept"'s intermediates (fetched inputs, split audio, clips, converted images, chunks) were removed at ${at} by the retention sweeper (INTERMEDIATE_TTL after the job ended); it cannot be retried from step "encode": submit it again`,
    });
    expect(intermediatesRemoved(failedJob('job_kept'))).toBeUndefined();
    // only the outputs gone: the intermediates a retry reads are still there
    expect(
      intermediatesRemoved({ ...failedJob('job_out'), retention: { outputsRemovedAt: at } }),
    ).toBeUndefined();
  });
});

describe('retryJob on nats-server', () => {
  it('reopens a failed job, replays its dead letter to the service that failed, and refuses a second retry', async () => {
    let broken = true;
    const handled = deferred<EventOf<'job.warning'>>();
    const calls: string[] = [];
    consumers.push(
      await bus.consume({
        service: 'encoder',
        handlers: {
          'job.warning': {
            step: 'encode',
            handle: async (e) => {
              calls.push(e.jobId);
              if (broken) return { outcome: 'fail', step: 'encode', reason: 'font missing' };
              handled.resolve(e);
            },
          },
        },
      }),
    );
    const jobId = 'job_retry_1';
    await jobs.create(failedJob(jobId));
    const published = await bus.publish('job.warning', jobId, { step: 'images', message: 'x' });
    const [letter] = await waitFor(async () => {
      const l = await listDeadLetters(bus, { jobId });
      return l.length ? l : undefined;
    });
    expect(letter).toMatchObject({ jobId, service: 'encoder', step: 'encode', reason: 'font missing' });

    broken = false;
    const result = await retryJob({ bus, jobs, jobId });
    expect(result.outcome).toBe('retried');
    if (result.outcome !== 'retried') return;
    expect(result.step).toBe('encode');
    expect(result.replayed.map((r) => [r.deadLetter.seq, r.removed, r.msgId])).toEqual([
      [letter!.seq, true, `${published.id}:replay:${letter!.seq}`],
    ]);
    expect(await handled.promise).toEqual(published);
    expect(calls).toEqual([jobId, jobId]);
    expect(await getDeadLetter(bus, letter!.seq)).toBeUndefined();
    const stored = await jobs.get(jobId);
    expect(stored).toMatchObject({ status: 'running', steps: { encode: { status: 'pending' } } });
    expect(stored!.error).toBeUndefined();
    expect(stored!.state.retries).toBe(1);

    const again = await retryJob({ bus, jobs, jobId });
    expect(again).toMatchObject({ outcome: 'not_failed', status: 'running' });
  });

  it('says why it did nothing: no such job, a job that did not fail, a failed job without dead letters', async () => {
    expect(await retryJob({ bus, jobs, jobId: 'job_nobody' })).toMatchObject({
      outcome: 'not_found',
      message: 'job "job_nobody" does not exist',
    });
    await jobs.create(newJob({ id: 'job_queued', kind: 'render' }));
    expect(await retryJob({ bus, jobs, jobId: 'job_queued' })).toMatchObject({
      outcome: 'not_failed',
      status: 'queued',
    });
    await jobs.create(failedJob('job_no_letters'));
    const r = await retryJob({ bus, jobs, jobId: 'job_no_letters' });
    expect(r).toMatchObject({ outcome: 'nothing_to_retry' });
    expect(r.outcome === 'nothing_to_retry' && r.message).toMatch(
      /failed at "encode" but has no dead letters/,
    );
    expect((await jobs.get('job_no_letters'))!.status).toBe('failed');
  });
});

describe('retryJob after retention', () => {
  it('refuses a failed job whose intermediates were removed, leaving the job failed and its dead letter in place', async () => {
    const jobId = 'job_swept_retry';
    const at = new Date().toISOString();
    await jobs.create({ ...failedJob(jobId), retention: { intermediatesRemovedAt: at } });
    const envelope = buildEnvelope({ type: 'job.warning', jobId, data: { step: 'encode', message: 'x' } });
    await bus.js.publish(bus.names.deadLetterSubject('encoder', 'job.warning'), JSON.stringify(envelope));
    const [letter] = await waitFor(async () => {
      const l = await listDeadLetters(bus, { jobId });
      return l.length ? l : undefined;
    });

    const r = await retryJob({ bus, jobs, jobId });
    expect(r).toMatchObject({ outcome: 'intermediates_removed', removedAt: at, step: 'encode' });
    expect(r.outcome === 'intermediates_removed' && r.message).toBe(
      `job "${jobId}"'s intermediates (fetched inputs, split audio, clips, converted images, chunks) were removed at ${at} by the retention sweeper (INTERMEDIATE_TTL after the job ended); it cannot be retried from step "encode": submit it again`,
    );
    const stored = await jobs.get(jobId);
    expect(stored).toMatchObject({ status: 'failed', error: { step: 'encode' } });
    expect(stored!.state.retries).toBeUndefined();
    expect(await getDeadLetter(bus, letter!.seq)).toBeDefined();
  });
});

describe('replayDeadLetter with remove', () => {
  it('replays once and removes the dead letter; a second replay is told there is none', async () => {
    consumers.push(
      await bus.consume({
        service: 'splitter',
        handlers: {
          'job.warning': {
            step: 'split',
            handle: async (e) =>
              e.jobId === 'job_replay_twice'
                ? { outcome: 'fail', step: 'split', reason: 'not audio' }
                : undefined,
          },
        },
      }),
    );
    await bus.publish('job.warning', 'job_replay_twice', { step: 'images', message: 'y' });
    const [letter] = await waitFor(async () => {
      const l = await listDeadLetters(bus, { jobId: 'job_replay_twice' });
      return l.length ? l : undefined;
    });
    const first = await replayDeadLetter(bus, letter!.seq, { remove: true });
    expect(first).toMatchObject({ removed: true, deadLetter: { seq: letter!.seq, reason: 'not audio' } });
    const err = await replayDeadLetter(bus, letter!.seq, { remove: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadLetterReplayError);
    expect(err).toMatchObject({ reason: 'not_found' });
    expect(await deleteDeadLetter(bus, letter!.seq)).toBe(false);
    // the replay failed again in the same service: a new dead letter, at a new sequence
    const [next] = await waitFor(async () => {
      const l = await listDeadLetters(bus, { jobId: 'job_replay_twice' });
      return l.length ? l : undefined;
    });
    expect(next!.seq).toBeGreaterThan(letter!.seq);
    expect(next!.service).toBe('splitter');
  });
});
