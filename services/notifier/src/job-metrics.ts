import { JobKind, TERMINAL_JOB_STATUSES, type Job, type JobStatus } from '@reelbus/contracts';
import { JOB_DURATION_BUCKETS, METRIC, METRIC_HELP, metrics, type Metrics } from '@reelbus/kit';

/*
 * Job outcome metrics (issue 15 §5): what the success-rate, processing-time and cost alerts in
 * infra/prometheus/ read. The notifier knows them: it is the one that moves a job document into
 * its terminal status, by compare-and-set, so exactly one projection (one replica, one delivery)
 * sees each transition. `test_mode` labels test jobs, which the alert rules leave out.
 */

/** What one terminal transition finished. */
export interface FinishedJob {
  kind: JobKind;
  outcome: JobStatus;
  testMode: boolean;
  /** From the job's creation to the event that ended it, seconds. */
  durationSec: number;
  /** Present when the transition completed the job: its estimate (else the actual cost), 0 when none. */
  cost?: { backend: string; usd: number };
}

/**
 * What the update from `before` (the status the compare-and-set replaced) to `after` finished (pure):
 * undefined unless it moved the job into a terminal status. A failed job that is recovered later
 * (its step replayed) counts once as failed and once as completed; its cost counts once, with the
 * completion (a job that never completes made no video to pay for).
 */
export function finishedBy(opts: {
  before: JobStatus | undefined;
  after: Job;
  /** The `occurredAt` of the event that ended it. */
  at: string;
}): FinishedJob | undefined {
  const { before, after, at } = opts;
  if (!TERMINAL_JOB_STATUSES.includes(after.status) || before === after.status) return undefined;
  const durationSec = Math.max(0, (Date.parse(at) - Date.parse(after.createdAt)) / 1000);
  const finished: FinishedJob = {
    kind: after.kind,
    outcome: after.status,
    testMode: after.testMode,
    durationSec,
  };
  if (after.status === 'completed') {
    finished.cost = {
      backend: after.cost?.backend ?? 'none',
      usd: after.cost?.estimateUsd ?? after.cost?.actualUsd ?? 0,
    };
  }
  return finished;
}

/**
 * Records a finished job in `reelbus_jobs_finished_total`, `…_job_duration_seconds` and the cost counter,
 * each labelled `test_mode`: a test run of a new version on real inputs must not move the figures
 * operators are alerted on (success rate, processing time, cost).
 */
export function recordFinishedJob(f: FinishedJob, registry: Metrics = metrics): void {
  const testMode = String(f.testMode);
  registry.add(
    METRIC.jobsFinished,
    { kind: f.kind, outcome: f.outcome, test_mode: testMode },
    1,
    'counter',
    METRIC_HELP[METRIC.jobsFinished],
  );
  registry.observe(
    METRIC.jobDuration,
    { kind: f.kind, outcome: f.outcome, test_mode: testMode },
    f.durationSec,
    {
      buckets: JOB_DURATION_BUCKETS,
      help: METRIC_HELP[METRIC.jobDuration],
    },
  );
  if (f.cost) {
    registry.add(
      METRIC.jobCost,
      { kind: f.kind, backend: f.cost.backend, test_mode: testMode },
      f.cost.usd,
      'counter',
      METRIC_HELP[METRIC.jobCost],
    );
  }
}

/** The outcomes whose series exist from the start (so a first failure is a visible increase). */
const DECLARED_OUTCOMES = ['completed', 'failed', 'cancelled'] as const;

/**
 * Declares every kind × outcome × test_mode series of the job counters and of the completed/failed
 * duration histograms at zero, and sets the daily cost budget the cost alert compares against.
 */
export function declareJobMetrics(opts: { dailyCostBudgetUsd: number; registry?: Metrics }): void {
  const { dailyCostBudgetUsd, registry = metrics } = opts;
  for (const kind of JobKind.options) {
    for (const outcome of DECLARED_OUTCOMES) {
      for (const testMode of ['false', 'true'])
        registry.declare(
          METRIC.jobsFinished,
          'counter',
          { kind, outcome, test_mode: testMode },
          { help: METRIC_HELP[METRIC.jobsFinished] },
        );
      if (outcome !== 'cancelled')
        for (const testMode of ['false', 'true'])
          registry.declare(
            METRIC.jobDuration,
            'histogram',
            { kind, outcome, test_mode: testMode },
            { buckets: JOB_DURATION_BUCKETS, help: METRIC_HELP[METRIC.jobDuration] },
          );
    }
  }
  registry.set(METRIC.costBudget, {}, dailyCostBudgetUsd, METRIC_HELP[METRIC.costBudget]);
}
