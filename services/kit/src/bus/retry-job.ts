import type { Job, JobStatus } from '@reelbus/contracts';
import type { JobStore } from '../jobs/types.ts';
import {
  listDeadLetters,
  replayDeadLetter,
  type DeadLetter,
  type DeadLetterBus,
  type ReplayResult,
} from './dead-letters.ts';

/** The most dead letters one job's retry reads (a job has one per failed message; a few in practice). */
const MAX_LETTERS_PER_JOB = 1000;

/** What `retryJob` did, or why it did nothing (expected outcomes, not exceptions). */
export type RetryJobResult =
  | {
      outcome: 'retried';
      /** The job as reopened (status `running`, the failed step `pending`, no error). */
      job: Job;
      /** The step it failed at, which runs again. */
      step: string | undefined;
      /** Each dead letter of the job, replayed and removed from the dead-letter stream. */
      replayed: ReplayResult[];
    }
  | { outcome: 'not_found'; message: string }
  | { outcome: 'not_failed'; status: JobStatus; message: string }
  | { outcome: 'nothing_to_retry'; message: string }
  | {
      outcome: 'intermediates_removed';
      /** When the retention sweeper removed the job's intermediates. */
      removedAt: string;
      /** The step the job failed at, which could not run again without them. */
      step: string | undefined;
      message: string;
    };

/**
 * Why a failed job cannot be retried from its step any more, or undefined when it can: the retention
 * sweeper removed its intermediates (INTERMEDIATE_TTL after it ended), and a replay would fail again
 * at the first of them it reads. Pure, so the compare-and-set in `retryJob` re-checks it.
 */
export function intermediatesRemoved(
  job: Pick<Job, 'id' | 'error' | 'retention'>,
): Extract<RetryJobResult, { outcome: 'intermediates_removed' }> | undefined {
  const removedAt = job.retention?.intermediatesRemovedAt;
  if (!removedAt) return undefined;
  const step = job.error?.step;
  return {
    outcome: 'intermediates_removed',
    removedAt,
    step,
    message: `job "${job.id}"'s intermediates (fetched inputs, split audio, clips, converted images, chunks) were removed at ${removedAt} by the retention sweeper (INTERMEDIATE_TTL after the job ended); it cannot be retried${step ? ` from step "${step}"` : ''}: submit it again`,
  };
}

/**
 * The job reopened for a retry, or undefined when it is not failed (any more): pure, so the
 * compare-and-set in `retryJob` can re-apply it on a conflict.
 */
export function reopenFailedJob(job: Job): Job | undefined {
  if (job.status !== 'failed') return undefined;
  const failed = job.error?.step;
  const steps = { ...job.steps };
  const step = failed ? steps[failed] : undefined;
  if (failed && step) {
    // it runs again: only its attempts are kept (times, percent and message come with the new run)
    steps[failed] = {
      status: 'pending',
      ...(step.attempts !== undefined ? { attempts: step.attempts } : {}),
    };
  }
  const { error: _error, ...rest } = job;
  return {
    ...rest,
    status: 'running',
    steps,
    state: { ...job.state, retries: Number(job.state.retries ?? 0) + 1 },
  };
}

/**
 * Retries a failed job from the step that failed: the job is reopened (compare-and-set, so of two
 * retries at once one wins and the other is told `not_failed`; a job whose intermediates retention
 * removed is refused with `intermediates_removed`), then each of its dead letters is
 * replayed to the service that gave up on it and removed. The services reuse every output already
 * stored (outputs live at deterministic keys), so work done before the failure is not redone.
 * If a replay cannot be published, the job is put back as it was (failed, with its error) and the
 * error is thrown; letters already replayed are gone from the stream and running again.
 */
export async function retryJob(opts: {
  bus: DeadLetterBus;
  jobs: JobStore;
  jobId: string;
}): Promise<RetryJobResult> {
  const { bus, jobs, jobId } = opts;
  const before = await jobs.get(jobId);
  if (!before) return { outcome: 'not_found', message: `job "${jobId}" does not exist` };
  if (before.status !== 'failed') return notFailed(jobId, before.status);
  const swept = intermediatesRemoved(before);
  if (swept) return swept;
  const letters = await listDeadLetters(bus, { jobId, limit: MAX_LETTERS_PER_JOB });
  if (letters.length === 0) {
    return {
      outcome: 'nothing_to_retry',
      message: `job "${jobId}" failed${before.error ? ` at "${before.error.step}"` : ''} but has no dead letters to replay (they were replayed or removed already); submit it again`,
    };
  }
  let reopened = false;
  const job = await jobs.update(jobId, (current) => {
    // the sweeper may have removed them since the first read
    const next = intermediatesRemoved(current) ? undefined : reopenFailedJob(current);
    reopened = next !== undefined;
    return next;
  });
  if (!reopened) {
    const refused = job.status === 'failed' ? intermediatesRemoved(job) : undefined;
    return refused ?? notFailed(jobId, job.status);
  }

  const replayed: ReplayResult[] = [];
  try {
    for (const dl of letters) replayed.push(await replayDeadLetter(bus, dl.seq, { remove: true }));
  } catch (err) {
    await putBack({ jobs, jobId, before, replayed: replayed.map((r) => r.deadLetter) });
    throw err;
  }
  bus.logger.info(
    { jobId, step: before.error?.step, replayed: replayed.map((r) => r.deadLetter.seq) },
    'job retried from its dead letters',
  );
  return { outcome: 'retried', job, step: before.error?.step, replayed };
}

function notFailed(jobId: string, status: JobStatus): RetryJobResult {
  return {
    outcome: 'not_failed',
    status,
    message: `job "${jobId}" is ${status}, not failed: only a failed job can be retried`,
  };
}

/** A retry that could not replay everything: the job says failed again (unless it moved on already). */
async function putBack(opts: {
  jobs: JobStore;
  jobId: string;
  before: Job;
  replayed: DeadLetter[];
}): Promise<void> {
  const { jobs, jobId, before } = opts;
  if (opts.replayed.length > 0) return; // some work is running again: the job is running
  await jobs.update(jobId, (current) =>
    current.status === 'running'
      ? {
          ...current,
          status: 'failed',
          steps: before.steps,
          ...(before.error ? { error: before.error } : {}),
        }
      : undefined,
  );
}
