// A finished job projected into its reel: pure decisions, then on a real document store (NATS KV).
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Reel, latestEvent, names, newJob, type EventOf, type Job } from '@reelbus/contracts';
import { KvDocumentStore, type DocumentStore } from '@reelbus/kit';
import {
  randomNamespace,
  recordingContext,
  startNatsServer,
  type NatsServerHandle,
} from '@reelbus/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifierHandlers } from './handle-events.ts';
import { projectReel, reelProjectionOf } from './reels.ts';
import { MemoryJobStore } from './test-support.ts';

const AT = '2026-12-02T10:00:00.000Z';
const video = (jobId: string) => ({
  key: `jobs/${jobId}/generate/video.mp4`,
  durationSec: 2,
  sizeBytes: 900,
  width: 320,
  height: 180,
});

function takeJob(over: Partial<Job> = {}): Job {
  return {
    ...newJob({
      id: 'job_take1',
      kind: 'generation',
      origin: { type: 'reel', id: 'reel_a', sectionId: 's1', takeId: 't1' },
    }),
    ...over,
  };
}

function reelDoc(): Reel {
  return Reel.parse({
    title: 'r',
    sections: [
      {
        id: 's1',
        model: 'local-video',
        params: {},
        takes: [{ id: 't1', jobId: 'job_take1', params: {}, status: 'pending', createdAt: AT }],
      },
      {
        id: 's2',
        model: 'local-video',
        params: {},
        takes: [{ id: 't1', jobId: 'job_take2', params: {}, status: 'pending', createdAt: AT }],
      },
    ],
    compile: { jobId: 'job_compile', status: 'running', requestedAt: AT, revision: 5, takes: [] },
  });
}

describe('reelProjectionOf (pure)', () => {
  it('ignores jobs of no reel and jobs still running', () => {
    expect(reelProjectionOf(newJob({ id: 'j', kind: 'generation' }), AT)).toBeUndefined();
    expect(reelProjectionOf(takeJob({ status: 'running' }), AT)).toBeUndefined();
  });

  it('a completed take job makes the take ready with its video and poster', () => {
    const poster = { key: 'jobs/job_take1/generate/poster.jpg', durationSec: 0, sizeBytes: 10 };
    const p = reelProjectionOf(
      takeJob({ status: 'completed', outputs: { video: video('job_take1'), poster } }),
      AT,
    )!;
    expect(p).toMatchObject({ reelId: 'reel_a', change: 'take.ready', sectionId: 's1', takeId: 't1' });
    expect(p.apply(reelDoc())!.sections[0]!.takes[0]).toMatchObject({
      status: 'ready',
      finishedAt: AT,
      output: video('job_take1'),
      poster,
    });
  });

  it('a failed, cancelled or video-less take job makes the take failed with the reason', () => {
    const failed = reelProjectionOf(
      takeJob({ status: 'failed', error: { step: 'generate', reason: 'CUDA out of memory' } }),
      AT,
    )!;
    expect(failed.change).toBe('take.failed');
    expect(failed.apply(reelDoc())!.sections[0]!.takes[0]).toMatchObject({
      status: 'failed',
      error: 'CUDA out of memory',
    });
    const cancelled = reelProjectionOf(
      takeJob({ status: 'cancelled', cancel: { requestedAt: AT, reason: 'wrong prompt' } }),
      AT,
    )!;
    expect(cancelled.apply(reelDoc())!.sections[0]!.takes[0]!.error).toBe(
      'the generation was cancelled (wrong prompt)',
    );
    const empty = reelProjectionOf(takeJob({ status: 'completed' }), AT)!;
    expect(empty.apply(reelDoc())!.sections[0]!.takes[0]!.error).toBe(
      'the generation finished without a video',
    );
  });

  it("another job's end never moves a take, and a take moves once", () => {
    const p = reelProjectionOf(
      takeJob({ id: 'job_stranger', status: 'completed', outputs: { video: video('x') } }),
      AT,
    )!;
    expect(p.apply(reelDoc())).toBeUndefined();
    const own = reelProjectionOf(
      takeJob({ status: 'completed', outputs: { video: video('job_take1') } }),
      AT,
    )!;
    expect(own.apply(own.apply(reelDoc())!)).toBeUndefined();
  });

  it("a compile job's end records the MP4 (or why it failed)", () => {
    const out = { key: 'jobs/job_compile/final.mp4', durationSec: 6, sizeBytes: 5000, videoCount: 3 };
    const compile = newJob({
      id: 'job_compile',
      kind: 'reel',
      origin: { type: 'reel', id: 'reel_a', revision: 5 },
    });
    const p = reelProjectionOf({ ...compile, status: 'completed', outputs: { video: out } }, AT)!;
    expect(p.change).toBe('compile.completed');
    expect(p.apply(reelDoc())!.compile).toMatchObject({ status: 'completed', output: out, finishedAt: AT });
    const f = reelProjectionOf(
      { ...compile, status: 'failed', error: { step: 'merge', reason: 'clip 2 has no video' } },
      AT,
    )!;
    expect(f.apply(reelDoc())!.compile).toMatchObject({ status: 'failed', error: 'clip 2 has no video' });
    const c = reelProjectionOf(
      { ...compile, status: 'cancelled', cancel: { requestedAt: AT, reason: 'wrong order' } },
      AT,
    )!;
    expect(c.change).toBe('compile.failed');
    expect(c.apply(reelDoc())!.compile).toMatchObject({
      status: 'failed',
      error: 'the compile was cancelled (wrong order)',
    });
  });
});

describe('projectReel on a real document store', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let reels: DocumentStore<Reel, Reel>;
  beforeAll(async () => {
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url });
    reels = await KvDocumentStore.open({
      nc,
      bucket: names(randomNamespace()).documentBucket('reels'),
      collection: 'reels',
      schema: Reel,
    });
  });
  afterAll(async () => {
    await reels?.close();
    await nc?.close();
    await nats?.stop();
  });

  it('moves the take by compare-and-set and announces it once, even when the event comes again', async () => {
    await reels.create('reel_a', reelDoc());
    const job = takeJob({ status: 'completed', outputs: { video: video('job_take1') } });
    const ctx = recordingContext();
    await projectReel({ reels, job, ctx, at: AT });
    await projectReel({ reels, job, ctx, at: AT }); // a redelivery
    const stored = (await reels.get('reel_a'))!;
    expect(stored.revision).toBe(2);
    expect(stored.doc.sections[0]!.takes[0]!.status).toBe('ready');
    expect(ctx.published).toEqual([
      {
        type: 'reel.updated',
        jobId: 'reel_a',
        id: 'reel.updated:reel_a:2',
        data: {
          reelId: 'reel_a',
          revision: 2,
          change: 'take.ready',
          sectionId: 's1',
          takeId: 't1',
          takeStatus: 'ready',
          jobId: 'job_take1',
        },
      },
    ]);
  });

  it('skips a job whose reel is gone', async () => {
    const ctx = recordingContext();
    const job = takeJob({
      status: 'completed',
      outputs: { video: video('job_take1') },
      origin: { type: 'reel', id: 'reel_gone', sectionId: 's1', takeId: 't1' },
    });
    await projectReel({ reels, job, ctx, at: AT });
    expect(ctx.published).toEqual([]);
  });
  it('a cancelled take job (job.cancelled through the handlers) leaves pending: the take fails as cancelled', async () => {
    await reels.create('reel_c', reelDoc());
    const jobs = new MemoryJobStore();
    const origin = { type: 'reel' as const, id: 'reel_c', sectionId: 's2', takeId: 't1' };
    await jobs.create({ ...newJob({ id: 'job_take2', kind: 'generation', origin }), status: 'running' });
    const handlers = notifierHandlers({
      jobs,
      reels,
      webhook: {
        secret: 'unused-secret-0123456789',
        timeoutMs: 1_000,
        attempts: 1,
        backoffMs: 1,
        allowPrivate: true,
      },
      clock: () => new Date(AT),
    });
    const cancelled = latestEvent('job.cancelled').envelope.parse({
      id: 'job.cancelled:job_take2',
      type: 'job.cancelled',
      version: 1,
      jobId: 'job_take2',
      occurredAt: AT,
      data: { by: 'reviewer', reason: 'wrong prompt' },
    }) as EventOf<'job.cancelled'>;
    const ctx = recordingContext();
    const { handle } = handlers['job.cancelled']!;
    await handle(cancelled, ctx);
    await handle(cancelled, ctx); // a redelivery moves nothing
    const take = (await reels.get('reel_c'))!.doc.sections[1]!.takes[0]!;
    expect(take).toMatchObject({
      status: 'failed',
      error: 'the generation was cancelled (wrong prompt)',
      finishedAt: AT,
    });
    expect(ctx.published.map((p) => [p.type, (p.data as { change?: string }).change])).toEqual([
      ['reel.updated', 'take.failed'],
    ]);
  });
});
