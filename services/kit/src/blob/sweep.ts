/*
 * The retention sweeper's two halves (issue 15 §1): `retentionDue` decides, from a job document and
 * the policy, which classes of the job's blobs are due for removal (pure); `sweepJobBlobs` removes
 * the blobs of those classes under `jobs/<id>/` on any blob store and says what it freed. The notifier
 * runs them on a schedule (services/notifier/src/retention.ts); `DELETE /v1/jobs/:id` removes a
 * whole prefix with `deleteJobBlobs`.
 */
import type { Job } from '@reelbus/contracts';
import { TERMINAL_JOB_STATUSES } from '@reelbus/contracts';
import { jobBlobPrefix, type Retention, type RetentionPolicy } from './retention.ts';
import type { BlobStore } from './types.ts';

/** The fields of a job document retention reads. */
export type RetentionJobView = Pick<Job, 'status' | 'finishedAt' | 'updatedAt' | 'retention'>;

/** When a finished job's classes fall due, and which of them are due at `now`. */
export interface RetentionDue {
  /** Classes whose blobs are to be removed now (not yet removed). */
  due: Retention[];
  /** When the job ended (its `finishedAt`, else its last update for documents from before that field). */
  finishedAt: string | undefined;
}

/**
 * Which classes of a job's blobs are due at `now` (pure). Nothing for a job that has not ended (a
 * queued, running or stalled job keeps everything, so a retry from a step finds its intermediates);
 * for an ended job, intermediates `intermediateTtlMs` after it ended and outputs `outputTtlMs` after
 * (undefined = never), each class once (the job's `retention.*RemovedAt` records it).
 */
export function retentionDue(opts: {
  job: RetentionJobView;
  policy: RetentionPolicy;
  now: Date;
}): RetentionDue {
  const { job, policy, now } = opts;
  if (!(TERMINAL_JOB_STATUSES as readonly string[]).includes(job.status)) {
    return { due: [], finishedAt: undefined };
  }
  const finishedAt = job.finishedAt ?? job.updatedAt;
  const ended = Date.parse(finishedAt);
  const due: Retention[] = [];
  const isDue = (ttl: number | undefined) => ttl !== undefined && now.getTime() >= ended + ttl;
  if (!job.retention?.intermediatesRemovedAt && isDue(policy.intermediateTtlMs)) due.push('intermediate');
  if (!job.retention?.outputsRemovedAt && isDue(policy.outputTtlMs)) due.push('output');
  return { due, finishedAt };
}

/** What a sweep removed. */
export interface SweepResult {
  blobs: number;
  bytes: number;
  /** Per class. */
  byClass: Record<Retention, { blobs: number; bytes: number }>;
}

const emptyResult = (): SweepResult => ({
  blobs: 0,
  bytes: 0,
  byClass: { intermediate: { blobs: 0, bytes: 0 }, output: { blobs: 0, bytes: 0 } },
});

/**
 * Removes the blobs of `jobId` (under `jobs/<jobId>/`) whose stored class (S3 tag, fs sidecar, else
 * the key's convention) is one of `classes`. Blobs outside the prefix (inputs the job took from other
 * jobs, the music library, a scene project's assets) are never touched.
 */
export async function sweepJobBlobs(opts: {
  blobs: BlobStore;
  jobId: string;
  classes: readonly Retention[];
}): Promise<SweepResult> {
  const { blobs, jobId, classes } = opts;
  const result = emptyResult();
  if (classes.length === 0) return result;
  for (const info of await blobs.list(jobBlobPrefix(jobId))) {
    const cls = await blobs.retentionOf(info.key);
    if (!cls || !classes.includes(cls)) continue;
    await blobs.delete(info.key);
    result.blobs += 1;
    result.bytes += info.size;
    result.byClass[cls].blobs += 1;
    result.byClass[cls].bytes += info.size;
  }
  return result;
}

/** Removes every blob under `jobs/<jobId>/` (job deletion); returns how many and how many bytes. */
export async function deleteJobBlobs(opts: {
  blobs: BlobStore;
  jobId: string;
}): Promise<{ blobs: number; bytes: number }> {
  const { blobs, jobId } = opts;
  let count = 0;
  let bytes = 0;
  for (const info of await blobs.list(jobBlobPrefix(jobId))) {
    await blobs.delete(info.key);
    count += 1;
    bytes += info.size;
  }
  return { blobs: count, bytes };
}
