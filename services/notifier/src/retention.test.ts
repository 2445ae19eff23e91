import { newJob, type Job } from '@reelbus/contracts';
import { FsBlobStore, Metrics, parseTtl } from '@reelbus/kit';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  RETENTION_BLOBS_REMOVED,
  RETENTION_BYTES_FREED,
  startRetentionSweeper,
  sweepOnce,
  type SweepReport,
} from './retention.ts';
import { MemoryJobStore } from './test-support.ts';

const ENDED = '2026-12-01T10:00:00.000Z';
const policy = { intermediateTtlMs: parseTtl('1h'), outputTtlMs: parseTtl('never') };

let dir: string;
let blobs: FsBlobStore;
let jobs: MemoryJobStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelbus-retention-'));
  blobs = new FsBlobStore({ root: dir });
  jobs = new MemoryJobStore();
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function addJob(id: string, status: Job['status'], finishedAt?: string): Promise<void> {
  await jobs.create({
    ...newJob({ id, kind: 'call' }, new Date(ENDED)),
    status,
    ...(finishedAt ? { finishedAt } : {}),
  });
  await blobs.put(`jobs/${id}/split/caller.wav`, 'a'.repeat(100));
  await blobs.put(`jobs/${id}/clips/caller.mp4`, 'b'.repeat(200));
  await blobs.put(`jobs/${id}/final.mp4`, 'c'.repeat(300));
}
const keys = async (id: string) => (await blobs.list(`jobs/${id}/`)).map((b) => b.key).sort();

describe('sweepOnce (the notifier’s retention sweeper)', () => {
  it('removes the intermediates of ended jobs once INTERMEDIATE_TTL has passed, records it, counts it, and keeps running jobs whole', async () => {
    await addJob('done', 'completed', ENDED);
    await addJob('broke', 'failed', ENDED);
    await addJob('stopped', 'cancelled', ENDED);
    await addJob('busy', 'running');
    const registry = new Metrics();

    const early = await sweepOnce({
      jobs,
      blobs,
      policy,
      registry,
      clock: () => new Date('2026-12-01T10:59:59Z'),
    });
    expect(early.swept).toEqual([]);
    expect(await keys('done')).toHaveLength(3);

    const at = new Date('2026-12-01T11:00:00.000Z');
    const report = await sweepOnce({ jobs, blobs, policy, registry, clock: () => at });
    expect(report.swept.map((s) => s.jobId).sort()).toEqual(['broke', 'done', 'stopped']);
    for (const id of ['done', 'broke', 'stopped']) {
      expect(await keys(id)).toEqual([`jobs/${id}/final.mp4`]);
      expect((await jobs.get(id))!.retention).toEqual({
        intermediatesRemovedAt: at.toISOString(),
        blobsRemoved: 2,
        bytesFreed: 300,
      });
    }
    expect(await keys('busy')).toHaveLength(3);
    expect(registry.value(RETENTION_BLOBS_REMOVED, { class: 'intermediate' })).toBe(6);
    expect(registry.value(RETENTION_BYTES_FREED, { class: 'intermediate' })).toBe(900);

    // Once recorded, a class is not swept again (and a later sweep finds nothing to do).
    const again = await sweepOnce({
      jobs,
      blobs,
      policy,
      registry,
      clock: () => new Date('2026-12-09T00:00:00Z'),
    });
    expect(again.swept).toEqual([]);
  });

  it('with OUTPUT_TTL set, removes the outputs too; TTL 0 removes at once', async () => {
    await addJob('done', 'completed', ENDED);
    const report = await sweepOnce({
      jobs,
      blobs,
      policy: { intermediateTtlMs: 0, outputTtlMs: 0 },
      clock: () => new Date(ENDED),
      registry: new Metrics(),
    });
    expect(report.swept).toEqual([
      { jobId: 'done', classes: ['intermediate', 'output'], blobs: 3, bytes: 600 },
    ]);
    expect(await keys('done')).toEqual([]);
  });

  it('removes blobs a stopping handler wrote under a deleted job’s prefix', async () => {
    await blobs.put('jobs/gone/chunks/chunk-0001.mp4', 'x'.repeat(42));
    const registry = new Metrics();
    const report = await sweepOnce({
      jobs,
      blobs,
      policy,
      registry,
      deleted: { jobs: { deletedSince: async () => [{ jobId: 'gone' }] }, since: new Date(0) },
    });
    expect(report.deletedJobs).toEqual([{ jobId: 'gone', blobs: 1, bytes: 42 }]);
    expect(await keys('gone')).toEqual([]);
    expect(registry.value(RETENTION_BYTES_FREED, { class: 'deleted_job' })).toBe(42);
  });

  it('startRetentionSweeper sweeps at start and reports each sweep', async () => {
    await addJob('done', 'completed', ENDED);
    const reports: SweepReport[] = [];
    let resolveFirst!: () => void;
    const first = new Promise<void>((r) => (resolveFirst = r));
    const sweeper = startRetentionSweeper({
      jobs,
      blobs,
      policy: { intermediateTtlMs: 0, outputTtlMs: undefined },
      intervalMs: 60_000,
      onSweep: (r) => {
        reports.push(r);
        resolveFirst();
      },
    });
    await first;
    await sweeper.stop();
    expect(reports[0]!.swept).toEqual([{ jobId: 'done', classes: ['intermediate'], blobs: 2, bytes: 300 }]);
  });
});
