import {
  describeError,
  METRIC,
  METRIC_HELP,
  metrics,
  type Bus,
  type JobStore,
  type Logger,
  type Metrics,
} from '@reelbus/kit';

/*
 * Gauges of the state an operator is alerted on (issue 15 §5): messages in the dead-letter stream
 * and jobs in status `stalled`. Read every `intervalMs` (one read at a time); several notifier
 * replicas report the same values, so the alert rules take their max.
 */

/** Messages in the dead-letter stream now. */
export async function deadLetterCount(bus: Pick<Bus, 'jsm' | 'names'>): Promise<number> {
  return (await bus.jsm.streams.info(bus.names.deadLetterStream)).state.messages;
}

/** Jobs in status `stalled` now (at most `limit` are read). */
export async function stalledJobCount(jobs: Pick<JobStore, 'list'>, limit = 10_000): Promise<number> {
  return (await jobs.list({ status: 'stalled', limit })).length;
}

/** Reads both once into the gauges. A failing read leaves its gauge as it was and is logged. */
export async function pollOpsGauges(opts: {
  bus: Pick<Bus, 'jsm' | 'names'>;
  jobs: Pick<JobStore, 'list'>;
  logger?: Logger;
  registry?: Metrics;
}): Promise<void> {
  const { bus, jobs, logger, registry = metrics } = opts;
  await Promise.all([
    deadLetterCount(bus).then(
      (n) => registry.set(METRIC.deadLetters, {}, n, METRIC_HELP[METRIC.deadLetters]),
      (err) => logger?.warn({ err: describeError(err) }, 'cannot read the dead-letter stream for its gauge'),
    ),
    stalledJobCount(jobs).then(
      (n) => registry.set(METRIC.jobsStalledNow, {}, n, METRIC_HELP[METRIC.jobsStalledNow]),
      (err) => logger?.warn({ err: describeError(err) }, 'cannot count stalled jobs for their gauge'),
    ),
  ]);
}

/** Polls the gauges now and every `intervalMs` until stopped. */
export function startOpsGauges(opts: {
  bus: Pick<Bus, 'jsm' | 'names'>;
  jobs: Pick<JobStore, 'list'>;
  intervalMs: number;
  logger?: Logger;
  /** Called after each poll (tests wait on it). */
  onPoll?: () => void;
}): { stop(): Promise<void> } {
  const { intervalMs, onPoll } = opts;
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return;
    running = pollOpsGauges(opts)
      .then(() => onPoll?.())
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
