import { TERMINAL_JOB_STATUSES, type Job } from '@reelbus/contracts';
import {
  deleteJobBlobs,
  describeError,
  metrics,
  retentionDue,
  sweepJobBlobs,
  type BlobStore,
  type JobStore,
  type Logger,
  type Metrics,
  type Retention,
  type RetentionPolicy,
} from '@reelbus/kit';

/*
 * The retention sweeper (issue 15 §1). Every `intervalMs` it reads the ended jobs (completed, failed,
 * cancelled), asks `retentionDue` which classes of each job's blobs are due (intermediates
 * INTERMEDIATE_TTL after the job ended, outputs OUTPUT_TTL after), removes those blobs under
 * `jobs/<id>/` (fs or S3 alike: the class is the S3 tag / fs sidecar written with the blob) and
 * records it in the job document (`retention`). It also removes what a stopping handler wrote
 * under a deleted job's prefix after `DELETE /v1/jobs/:id`. On S3 the tag-based lifecycle rules
 * (`reelbus storage lifecycle`) are a second net in whole days; a TTL of 0 or of hours is this.
 */

export const RETENTION_BLOBS_REMOVED = 'reelbus_retention_blobs_removed_total';
export const RETENTION_BYTES_FREED = 'reelbus_retention_bytes_freed_total';
const HELP = {
  [RETENTION_BLOBS_REMOVED]:
    'Blobs the retention sweeper removed, per class (intermediate, output, deleted_job)',
  [RETENTION_BYTES_FREED]: 'Bytes the retention sweeper freed, per class (intermediate, output, deleted_job)',
};

type SweptClass = Retention | 'deleted_job';

/** Declares the sweeper's counters at zero (so the first sweep is a visible increase). */
export function declareRetentionMetrics(registry: Metrics = metrics): void {
  for (const cls of ['intermediate', 'output', 'deleted_job'] as const) {
    registry.declare(
      RETENTION_BLOBS_REMOVED,
      'counter',
      { class: cls },
      { help: HELP[RETENTION_BLOBS_REMOVED] },
    );
    registry.declare(RETENTION_BYTES_FREED, 'counter', { class: cls }, { help: HELP[RETENTION_BYTES_FREED] });
  }
}

function count(registry: Metrics, cls: SweptClass, blobs: number, bytes: number): void {
  if (blobs === 0) return;
  registry.add(RETENTION_BLOBS_REMOVED, { class: cls }, blobs, 'counter', HELP[RETENTION_BLOBS_REMOVED]);
  registry.add(RETENTION_BYTES_FREED, { class: cls }, bytes, 'counter', HELP[RETENTION_BYTES_FREED]);
}

/** The job document after a sweep removed `classes` at `at` (pure). */
export function withRetentionRecorded(
  job: Job,
  opts: { classes: readonly Retention[]; at: string; blobs: number; bytes: number },
): Job {
  const { classes, at, blobs, bytes } = opts;
  const r = job.retention ?? {};
  return {
    ...job,
    retention: {
      ...r,
      ...(classes.includes('intermediate') ? { intermediatesRemovedAt: at } : {}),
      ...(classes.includes('output') ? { outputsRemovedAt: at } : {}),
      blobsRemoved: (r.blobsRemoved ?? 0) + blobs,
      bytesFreed: (r.bytesFreed ?? 0) + bytes,
    },
  };
}

export interface SweepReport {
  /** Jobs whose blobs were swept, with what each lost. */
  swept: Array<{ jobId: string; classes: Retention[]; blobs: number; bytes: number }>;
  /** Deleted jobs whose prefix still held blobs (written after the deletion). */
  deletedJobs: Array<{ jobId: string; blobs: number; bytes: number }>;
}

/** The deleted jobs the sweeper looks at again: tombstones since a time. */
export interface DeletedSince {
  deletedSince(since: Date): Promise<Array<{ jobId: string }>>;
}

/** One sweep over the ended jobs (at most `limit` per status). A job that fails to sweep is logged and left for the next sweep. */
export async function sweepOnce(opts: {
  jobs: Pick<JobStore, 'list' | 'update'>;
  blobs: BlobStore;
  policy: RetentionPolicy;
  clock?: () => Date;
  logger?: Logger;
  registry?: Metrics;
  /** Deleted jobs to clean after (tombstones newer than `deletedSince`). */
  deleted?: { jobs: DeletedSince; since: Date };
  limit?: number;
}): Promise<SweepReport> {
  const {
    jobs,
    blobs,
    policy,
    clock = () => new Date(),
    logger,
    registry = metrics,
    deleted,
    limit = 1000,
  } = opts;
  const report: SweepReport = { swept: [], deletedJobs: [] };
  for (const status of TERMINAL_JOB_STATUSES) {
    for (const job of await jobs.list({ status, limit })) {
      const now = clock();
      const { due } = retentionDue({ job, policy, now });
      if (due.length === 0) continue;
      try {
        const result = await sweepJobBlobs({ blobs, jobId: job.id, classes: due });
        for (const cls of due) count(registry, cls, result.byClass[cls].blobs, result.byClass[cls].bytes);
        // Recorded only while the job is still the ended job swept (a retry may have restarted it).
        await jobs.update(job.id, (j) =>
          j.status === job.status && j.finishedAt === job.finishedAt
            ? withRetentionRecorded(j, {
                classes: due,
                at: now.toISOString(),
                blobs: result.blobs,
                bytes: result.bytes,
              })
            : undefined,
        );
        report.swept.push({ jobId: job.id, classes: due, blobs: result.blobs, bytes: result.bytes });
        logger?.info(
          { jobId: job.id, classes: due, blobs: result.blobs, bytesFreed: result.bytes },
          'retention removed blobs of an ended job',
        );
      } catch (err) {
        logger?.warn(
          { jobId: job.id, err: describeError(err) },
          'retention could not sweep a job; next sweep tries again',
        );
      }
    }
  }
  if (deleted) {
    for (const { jobId } of await deleted.jobs.deletedSince(deleted.since)) {
      try {
        const r = await deleteJobBlobs({ blobs, jobId });
        if (r.blobs === 0) continue;
        count(registry, 'deleted_job', r.blobs, r.bytes);
        report.deletedJobs.push({ jobId, ...r });
        logger?.info(
          { jobId, blobs: r.blobs, bytesFreed: r.bytes },
          'retention removed blobs written after the job was deleted',
        );
      } catch (err) {
        logger?.warn({ jobId, err: describeError(err) }, 'retention could not clean a deleted job');
      }
    }
  }
  return report;
}

/** How far back each sweep looks at deleted jobs: a stopping handler writes within seconds, a day is ample. */
const DELETED_LOOKBACK_MS = 86_400_000;

/** Runs `sweepOnce` now and every `intervalMs` (one sweep at a time) until stopped. */
export function startRetentionSweeper(opts: {
  jobs: Pick<JobStore, 'list' | 'update'>;
  blobs: BlobStore;
  policy: RetentionPolicy;
  intervalMs: number;
  deletedJobs?: DeletedSince;
  clock?: () => Date;
  logger?: Logger;
  /** Called after each sweep (tests wait on it). */
  onSweep?: (report: SweepReport) => void;
}): { stop(): Promise<void> } {
  const { intervalMs, deletedJobs, clock = () => new Date(), logger, onSweep } = opts;
  declareRetentionMetrics();
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return;
    const since = new Date(clock().getTime() - DELETED_LOOKBACK_MS);
    running = sweepOnce({ ...opts, clock, ...(deletedJobs ? { deleted: { jobs: deletedJobs, since } } : {}) })
      .then((report) => onSweep?.(report))
      .catch((err) => logger?.error({ err: describeError(err) }, 'retention sweep failed'))
      .finally(() => (running = undefined));
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
