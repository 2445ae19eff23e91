import type { Job, Principal } from '@reelbus/contracts';
import { TERMINAL_JOB_STATUSES } from '@reelbus/contracts';
import { deleteJobBlobs, deleteJobDeadLetters, type Bus, type DeletedJobs } from '@reelbus/kit';
import type { BlobStore, JobStore } from '../deps.ts';

/*
 * Cancel and delete (issue 15 §1 and §2): what `POST /v1/jobs/:id/cancel` and `DELETE /v1/jobs/:id`
 * do, apart from HTTP. The decisions (`cancelDecision`, `deleteDecision`, `mayOperate`) are pure;
 * the effects go through `JobOperations`, whose bus implementation is the kit's `cancelJob`, the
 * dead-letter stream and the deleted-jobs tombstones.
 */

/** The bus side of cancel and delete. */
export interface JobOperations {
  /** Writes the cancel to the cancelled-jobs bucket (services stop) and publishes `job.cancelled`. */
  cancelJob(
    jobId: string,
    opts: { reason?: string; by?: string; testMode?: boolean },
  ): Promise<{ alreadyCancelled: boolean; cancel: { at: string; by?: string; reason?: string } }>;
  /** Removes the job's dead letters; returns how many. */
  deleteDeadLetters(jobId: string): Promise<number>;
  /** Leaves a tombstone so that no late event brings the job's document back. */
  markDeleted(jobId: string, opts: { at: string; by?: string }): Promise<void>;
}

/** The operations on the kit bus and the deleted-jobs bucket. */
export function busJobOperations(opts: { bus: Bus; deleted: DeletedJobs }): JobOperations {
  const { bus, deleted } = opts;
  return {
    async cancelJob(jobId, o) {
      const r = await bus.cancelJob(jobId, o);
      return { alreadyCancelled: r.alreadyCancelled, cancel: r.cancel };
    },
    deleteDeadLetters: (jobId) => deleteJobDeadLetters(bus, jobId),
    async markDeleted(jobId, o) {
      await deleted.mark(jobId, o);
    },
  };
}

/** Whether `principal` may cancel or delete `job`: an operator key, or the key that submitted it (pure). */
export function mayOperate(job: Pick<Job, 'submittedBy'>, principal: Principal | undefined): boolean {
  if (!principal) return false;
  if (principal.role === 'operator') return true;
  return job.submittedBy?.name === principal.name;
}

export type CancelDecision =
  { action: 'cancel' } | { action: 'already'; status: 'cancelled' } | { action: 'refuse'; reason: string };

/** What a cancel of `job` does (pure): a job that has not ended is cancelled; an ended one is not. */
export function cancelDecision(job: Pick<Job, 'id' | 'status'>): CancelDecision {
  if (job.status === 'cancelled') return { action: 'already', status: 'cancelled' };
  if (TERMINAL_JOB_STATUSES.includes(job.status))
    return {
      action: 'refuse',
      reason: `job ${job.id} already ended (${job.status}): there is nothing to cancel`,
    };
  return { action: 'cancel' };
}

export type DeleteDecision =
  { action: 'delete'; cancelFirst: boolean } | { action: 'refuse'; reason: string };

/** Whether `job` may be deleted now (pure): an ended job yes; a running one only with `?cancel=true`. */
export function deleteDecision(job: Pick<Job, 'id' | 'status'>, opts: { cancel: boolean }): DeleteDecision {
  if (TERMINAL_JOB_STATUSES.includes(job.status)) return { action: 'delete', cancelFirst: false };
  if (opts.cancel) return { action: 'delete', cancelFirst: true };
  return {
    action: 'refuse',
    reason: `job ${job.id} is ${job.status}: cancel it first, or delete it with ?cancel=true (which cancels it)`,
  };
}

export interface DeletedJobReport {
  jobId: string;
  cancelled: boolean;
  blobsRemoved: number;
  bytesFreed: number;
  deadLettersRemoved: number;
}

/**
 * Erases a job: (cancel it when asked) → tombstone → blobs under `jobs/<id>/` → dead letters →
 * document. Blobs outside the prefix (inputs it took from other jobs, a scene project's assets) are
 * not touched. The tombstone comes first, so a `job.cancelled` or a late event that the notifier
 * handles meanwhile does not bring the document back; blobs a stopping handler writes after this
 * are removed by the retention sweeper, which looks at recent tombstones.
 */
export async function eraseJob(opts: {
  job: Job;
  cancelFirst: boolean;
  by: string | undefined;
  jobs: Pick<JobStore, 'delete'>;
  blobs: BlobStore;
  operations: JobOperations;
  now?: () => Date;
}): Promise<DeletedJobReport> {
  const { job, cancelFirst, by, jobs, blobs, operations, now = () => new Date() } = opts;
  if (cancelFirst) {
    await operations.cancelJob(job.id, {
      reason: 'the job was deleted',
      ...(by ? { by } : {}),
      ...(job.testMode ? { testMode: true } : {}),
    });
  }
  await operations.markDeleted(job.id, { at: now().toISOString(), ...(by ? { by } : {}) });
  const removed = await deleteJobBlobs({ blobs, jobId: job.id });
  const deadLettersRemoved = await operations.deleteDeadLetters(job.id);
  await jobs.delete(job.id);
  return {
    jobId: job.id,
    cancelled: cancelFirst,
    blobsRemoved: removed.blobs,
    bytesFreed: removed.bytes,
    deadLettersRemoved,
  };
}
