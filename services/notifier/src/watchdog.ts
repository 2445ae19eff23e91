import type { Job } from '@reelbus/contracts';
import {
  describeError,
  METRIC,
  METRIC_HELP,
  metrics,
  withSpan,
  type JobStore,
  type Logger,
  type Publisher,
} from '@reelbus/kit';
import { notifierState } from './projection.ts';

/**
 * The stuck-job watchdog. A running job is alive while events about it arrive: every event the
 * notifier projects rewrites its document (`updatedAt`), and a long step that reports progress keeps
 * doing so. A job quiet for longer than its current step allows is marked `stalled`, `job.stalled` is
 * published (the notifier then sends its callback the `job.stalled` webhook) and counted in
 * `reelbus_jobs_stalled_total`. A later event moves it back to running (projection rule).
 */

export interface WatchdogSettings {
  /** How often running jobs are scanned. */
  intervalMs: number;
  /** Seconds a step may go without an event, by step name. */
  stepTimeoutsSec: Record<string, number>;
  /** The limit for steps not listed (and for a job with no running step). */
  defaultTimeoutSec: number;
}

export interface Stall {
  step: string;
  limitSeconds: number;
  idleSeconds: number;
  lastEventAt: string;
}

/**
 * Parses `encode=600,generate=900,default=300` (seconds per step; `default` for the rest).
 * Throws a message naming the bad entry.
 */
export function parseStepTimeouts(
  spec: string,
): Pick<WatchdogSettings, 'stepTimeoutsSec' | 'defaultTimeoutSec'> {
  const stepTimeoutsSec: Record<string, number> = {};
  let defaultTimeoutSec = 300;
  for (const part of spec
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^([a-z][a-z0-9-]{0,39})=(\d+(?:\.\d+)?)$/.exec(part);
    if (!m || Number(m[2]) <= 0)
      throw new Error(`"${part}" is not step=seconds (e.g. encode=600, with seconds > 0)`);
    if (m[1] === 'default') defaultTimeoutSec = Number(m[2]);
    else stepTimeoutsSec[m[1]!] = Number(m[2]);
  }
  return { stepTimeoutsSec, defaultTimeoutSec };
}

/**
 * Whether `job` is stalled at `now` (pure). The step is the running one with the most generous limit
 * (a long encode is not cut short by a quick step shown running beside it); with no running step,
 * the step last heard of, under the default limit.
 */
export function findStall(opts: {
  job: Job;
  now: Date;
  settings: Pick<WatchdogSettings, 'stepTimeoutsSec' | 'defaultTimeoutSec'>;
}): Stall | undefined {
  const { job, now, settings } = opts;
  if (job.status !== 'running') return undefined;
  const limitOf = (step: string) => settings.stepTimeoutsSec[step] ?? settings.defaultTimeoutSec;
  const running = Object.entries(job.steps).filter(([, s]) => s.status === 'running');
  let step: string;
  let limitSeconds: number;
  if (running.length) {
    [step, limitSeconds] = running
      .map(([name]) => [name, limitOf(name)] as [string, number])
      .reduce((a, b) => (b[1] > a[1] ? b : a));
  } else {
    const last = Object.entries(job.steps)
      .map(([name, s]) => [name, s.finishedAt ?? s.startedAt ?? ''] as const)
      .reduce<readonly [string, string]>((a, b) => (b[1] > a[1] ? b : a), ['ingest', '']);
    step = last[0];
    limitSeconds = settings.defaultTimeoutSec;
  }
  const idleSeconds = (now.getTime() - Date.parse(job.updatedAt)) / 1000;
  if (!(idleSeconds > limitSeconds)) return undefined;
  return {
    step,
    limitSeconds,
    idleSeconds: Math.round(idleSeconds * 1000) / 1000,
    lastEventAt: job.updatedAt,
  };
}

/**
 * One scan: marks every running job quiet past its limit as stalled (compare-and-set on the quiet
 * document, so an event that lands meanwhile wins, and one notifier replica wins among several),
 * then publishes `job.stalled` under an id derived from the quiet moment (a retry is a duplicate).
 * Returns the ids of the jobs it marked.
 */
export async function scanForStalledJobs(opts: {
  jobs: Pick<JobStore, 'list' | 'update'>;
  bus: Publisher;
  settings: Pick<WatchdogSettings, 'stepTimeoutsSec' | 'defaultTimeoutSec'>;
  clock?: () => Date;
  logger?: Logger;
  /** Jobs read per scan. */
  limit?: number;
}): Promise<string[]> {
  const { jobs, bus, settings, clock = () => new Date(), logger, limit = 1000 } = opts;
  const marked: string[] = [];
  for (const seen of await jobs.list({ status: 'running', limit })) {
    const stall = findStall({ job: seen, now: clock(), settings });
    if (!stall) continue;
    const eventId = `job.stalled:${seen.id}:${stall.lastEventAt}`;
    try {
      const after = await jobs.update(seen.id, (j) => {
        if (j.status !== 'running' || j.updatedAt !== seen.updatedAt) return undefined;
        const s = notifierState(j);
        return {
          ...j,
          status: 'stalled',
          state: {
            ...j.state,
            notifier: {
              ...s,
              stalledAt: clock().toISOString(),
              stalledEventId: eventId,
              stalledStep: stall.step,
            },
          },
        };
      });
      if (after.status !== 'stalled' || notifierState(after).stalledEventId !== eventId) continue;
      await withSpan(
        'watchdog job.stalled',
        { 'reelbus.job_id': seen.id, 'reelbus.step': stall.step, 'reelbus.job_trace_id': seen.traceId },
        () =>
          bus.publish(
            'job.stalled',
            seen.id,
            {
              step: stall.step,
              idleSeconds: stall.idleSeconds,
              lastEventAt: stall.lastEventAt,
              limitSeconds: stall.limitSeconds,
            },
            { id: eventId },
          ),
      ).catch(async (err) => {
        // Nobody would hear of it: undo the mark, so the next scan tries again.
        await jobs
          .update(seen.id, (j) =>
            j.status === 'stalled' && notifierState(j).stalledEventId === eventId
              ? { ...j, status: 'running' }
              : undefined,
          )
          .catch(() => undefined);
        throw err;
      });
      metrics.add(METRIC.jobsStalled, { step: stall.step }, 1, 'counter', METRIC_HELP[METRIC.jobsStalled]);
      marked.push(seen.id);
      logger?.warn(
        { jobId: seen.id, traceId: seen.traceId, ...stall },
        'job stalled: no event for longer than its step allows',
      );
    } catch (err) {
      logger?.error({ jobId: seen.id, err: describeError(err) }, 'watchdog could not mark a stalled job');
    }
  }
  return marked;
}

/** Runs `scanForStalledJobs` every `intervalMs` (one scan at a time) until stopped. */
export function startWatchdog(opts: {
  jobs: Pick<JobStore, 'list' | 'update'>;
  bus: Publisher;
  settings: WatchdogSettings;
  clock?: () => Date;
  logger?: Logger;
  /** Called after each scan (tests wait on it). */
  onScan?: (marked: string[]) => void;
}): { stop(): Promise<void> } {
  const { settings, logger, onScan } = opts;
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return;
    running = scanForStalledJobs(opts)
      .then((marked) => onScan?.(marked))
      .catch((err) => logger?.error({ err: describeError(err) }, 'watchdog scan failed'))
      .finally(() => (running = undefined));
  };
  const timer = setInterval(tick, settings.intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
