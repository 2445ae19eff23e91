/**
 * The JobStore contract: the KV store and the Mongo store both run this same suite.
 * Test-only (imports vitest); not exported from the jobs barrel.
 */
import { randomBytes } from 'node:crypto';
import { newJob, type Job } from '@reelbus/contracts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isJobNotFound } from './errors.ts';
import type { JobStore } from './types.ts';

const jobId = (tag = 'j') => `${tag}_${randomBytes(6).toString('hex')}`;

/** `makeStore` is called for every test and must return an empty store (e.g. a fresh bucket or collection). */
export function jobStoreContract(name: string, makeStore: () => Promise<JobStore>): void {
  describe(`JobStore contract: ${name}`, () => {
    let store: JobStore;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store?.close();
    });

    it('gets back exactly the job it created', async () => {
      const job = newJob({
        id: jobId(),
        kind: 'call',
        input: { recordingUrl: 'https://x/r.wav' },
        callbackUrl: 'https://cb',
      });
      const res = await store.create(job);
      expect(res.created).toBe(true);
      expect(res.job).toEqual(job);
      expect(await store.get(job.id)).toEqual(job);
      expect(await store.get(jobId('absent'))).toBeUndefined();
    });

    it('makes one job when the same id is created twice', async () => {
      const id = jobId();
      const first = newJob({ id, kind: 'call', input: { n: 1 } });
      const second = newJob({ id, kind: 'story', input: { n: 2 } });
      expect((await store.create(first)).created).toBe(true);
      const again = await store.create(second);
      expect(again.created).toBe(false);
      expect(again.job).toEqual(first);
      expect(await store.list()).toHaveLength(1);
    });

    it('makes one job when Twilio retries the same RecordingSid under a new job id', async () => {
      const dedupeKey = `twilio:RE${randomBytes(8).toString('hex')}`;
      const a = newJob({ id: jobId('a'), kind: 'call', dedupeKey });
      const b = newJob({ id: jobId('b'), kind: 'call', dedupeKey });
      const [ra, rb] = await Promise.all([store.create(a), store.create(b)]);
      expect([ra.created, rb.created].filter(Boolean)).toHaveLength(1);
      const winner = ra.created ? a : b;
      expect(ra.job).toEqual(winner);
      expect(rb.job).toEqual(winner);
      expect(await store.findByDedupeKey(dedupeKey)).toEqual(winner);
      expect(await store.get((ra.created ? b : a).id)).toBeUndefined();
      expect(await store.list()).toHaveLength(1);
      expect(await store.findByDedupeKey('twilio:REnever')).toBeUndefined();
    });

    it('applies an update and bumps updatedAt', async () => {
      const past = new Date(Date.now() - 60_000);
      const job = newJob({ id: jobId(), kind: 'story' }, past);
      await store.create(job);
      const updated = await store.update(job.id, (j) => ({
        ...j,
        status: 'running',
        progress: 40,
        steps: { ...j.steps, split: { status: 'running', startedAt: new Date().toISOString() } },
      }));
      expect(updated.status).toBe('running');
      expect(updated.progress).toBe(40);
      expect(Date.parse(updated.updatedAt)).toBeGreaterThan(past.getTime());
      expect(updated.createdAt).toBe(job.createdAt);
      expect(await store.get(job.id)).toEqual(updated);
    });

    it('lands all of 20 concurrent updates (compare-and-set)', async () => {
      const job = newJob({ id: jobId(), kind: 'call' });
      await store.create(job);
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.update(job.id, (j) => {
            j.warnings.push(`w${i}`);
            return j;
          }),
        ),
      );
      const final = await store.get(job.id);
      expect(final?.warnings).toHaveLength(20);
      expect(new Set(final?.warnings)).toEqual(new Set(Array.from({ length: 20 }, (_, i) => `w${i}`)));
    });

    it('throws JobNotFoundError when updating a job that does not exist', async () => {
      const id = jobId('missing');
      const err = await store.update(id, (j) => j).catch((e: unknown) => e);
      expect(isJobNotFound(err)).toBe(true);
      expect((err as Error).message).toContain(id);
    });

    it('leaves the document as is when the mutation returns undefined', async () => {
      const job = newJob({ id: jobId(), kind: 'merge' });
      await store.create(job);
      const res = await store.update(job.id, (j) => {
        j.status = 'failed'; // changes to the copy are discarded
        return undefined;
      });
      expect(res).toEqual(job);
      expect(await store.get(job.id)).toEqual(job);
    });

    it('lists newest first, filtered by status and kind, up to a limit', async () => {
      const t0 = Date.now() - 100_000;
      const made: Job[] = [];
      for (let i = 0; i < 6; i++) {
        const job = newJob(
          {
            id: jobId(`l${i}`),
            kind: i % 3 === 0 ? 'story' : 'call',
            status: i % 2 === 0 ? 'completed' : 'queued',
          },
          new Date(t0 + i * 1000),
        );
        made.push(job);
        await store.create(job);
      }
      const ids = (jobs: Job[]) => jobs.map((j) => j.id);
      const newestFirst = [...made].reverse();
      expect(ids(await store.list())).toEqual(ids(newestFirst));
      expect(ids(await store.list({ status: 'completed' }))).toEqual(
        ids(newestFirst.filter((j) => j.status === 'completed')),
      );
      expect(ids(await store.list({ status: 'queued', limit: 2 }))).toEqual(
        ids(newestFirst.filter((j) => j.status === 'queued').slice(0, 2)),
      );
      expect(ids(await store.list({ kind: 'story' }))).toEqual(
        ids(newestFirst.filter((j) => j.kind === 'story')),
      );
      expect(await store.list({ limit: 3 })).toHaveLength(3);
    });

    it('deletes a job (and its dedupe key), and deleting again is no error', async () => {
      const dedupeKey = `twilio:RE${randomBytes(8).toString('hex')}`;
      const job = newJob({ id: jobId(), kind: 'call', dedupeKey });
      await store.create(job);
      await store.delete(job.id);
      expect(await store.get(job.id)).toBeUndefined();
      expect(await store.findByDedupeKey(dedupeKey)).toBeUndefined();
      await expect(store.delete(job.id)).resolves.toBeUndefined();
      expect(await store.list()).toEqual([]);
      // The id and the dedupe key are free again.
      const again = newJob({ id: jobId(), kind: 'call', dedupeKey });
      expect((await store.create(again)).created).toBe(true);
    });
  });
}
