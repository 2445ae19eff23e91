/**
 * The process's metrics: counters, gauges and histograms the consume loop, ffmpeg runs and services
 * keep, rendered as Prometheus text on /metrics. No client library: the exposition format is small,
 * and the same records are forwarded to OpenTelemetry (OTLP) by telemetry when it is configured
 * (see `onRecord`).
 */

type Labels = Record<string, string>;

export type MetricKind = 'counter' | 'gauge' | 'histogram';

interface Point {
  labels: Labels;
  value: number;
  /** Histograms: cumulative counts per bucket (same order as `buckets`), sum and count. */
  counts?: number[];
  sum?: number;
  count?: number;
}

interface Series {
  help: string;
  kind: MetricKind;
  buckets?: number[];
  values: Map<string, Point>;
}

/** One recorded value, as forwarded to listeners (the OTLP bridge). */
export interface MetricRecord {
  name: string;
  kind: MetricKind;
  /** `add` for counters and added gauges, `set` for set gauges, `observe` for histograms. */
  op: 'add' | 'set' | 'observe';
  labels: Labels;
  value: number;
  help: string;
  buckets?: number[];
}

/** Handling durations, seconds: from a quick store update to a long encode. */
export const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];
/** Whole-job processing times, seconds: from a one-minute call to a two-hour render. */
export const JOB_DURATION_BUCKETS = [10, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200];
/** ffmpeg speed as a multiple of real time (1 = as long as the media). */
export const REAL_TIME_FACTOR_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64];

const keyOf = (labels: Labels) => JSON.stringify(Object.entries(labels).sort());
const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const formatLabels = (labels: Labels, extra?: [string, string]) => {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escape(v)}"`);
  if (extra) parts.push(`${extra[0]}="${escape(extra[1])}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
};
const formatNumber = (n: number) =>
  Number.isNaN(n) ? 'NaN' : n === Infinity ? '+Inf' : n === -Infinity ? '-Inf' : String(n);

export class Metrics {
  readonly #series = new Map<string, Series>();
  readonly #listeners = new Set<(r: MetricRecord) => void>();

  #get(name: string, kind: MetricKind, help: string, buckets?: number[]): Series {
    let s = this.#series.get(name);
    if (!s) {
      s = {
        help,
        kind,
        values: new Map(),
        ...(buckets ? { buckets: [...buckets].sort((a, b) => a - b) } : {}),
      };
      this.#series.set(name, s);
    } else if (s.kind !== kind) {
      throw new Error(`metric ${name} is a ${s.kind}, not a ${kind}`);
    }
    return s;
  }

  #emit(r: MetricRecord): void {
    for (const fn of this.#listeners) {
      try {
        fn(r);
      } catch {
        // a broken exporter must not break the code that counts
      }
    }
  }

  /** Adds `by` to the counter or gauge `name` with `labels`. */
  add(name: string, labels: Labels, by = 1, kind: 'counter' | 'gauge' = 'counter', help = name): void {
    const s = this.#get(name, kind, help);
    const key = keyOf(labels);
    const cur = s.values.get(key);
    if (cur) cur.value += by;
    else s.values.set(key, { labels, value: by });
    this.#emit({ name, kind, op: 'add', labels, value: by, help: s.help });
  }

  /** Sets the gauge `name` with `labels` to `value`. */
  set(name: string, labels: Labels, value: number, help = name): void {
    const s = this.#get(name, 'gauge', help);
    const key = keyOf(labels);
    const cur = s.values.get(key);
    if (cur) cur.value = value;
    else s.values.set(key, { labels, value });
    this.#emit({ name, kind: 'gauge', op: 'set', labels, value, help: s.help });
  }

  /** Records `value` in the histogram `name` (buckets are fixed by its first use). */
  observe(
    name: string,
    labels: Labels,
    value: number,
    opts: { buckets?: number[]; help?: string } = {},
  ): void {
    const { buckets = DURATION_BUCKETS, help = name } = opts;
    const s = this.#get(name, 'histogram', help, buckets);
    const bounds = s.buckets!;
    const key = keyOf(labels);
    let p = s.values.get(key);
    if (!p) {
      p = { labels, value: 0, counts: bounds.map(() => 0), sum: 0, count: 0 };
      s.values.set(key, p);
    }
    for (let i = 0; i < bounds.length; i++) if (value <= bounds[i]!) p.counts![i]!++;
    p.sum! += value;
    p.count!++;
    this.#emit({ name, kind: 'histogram', op: 'observe', labels, value, help: s.help, buckets: bounds });
  }

  /**
   * Makes the series `name` with `labels` exist at zero (a histogram: every bucket 0) without
   * recording anything, so /metrics shows a known label set before its first event — Prometheus's
   * advice for counters, and what lets `rate()` see the first increment.
   */
  declare(
    name: string,
    kind: MetricKind,
    labels: Labels,
    opts: { buckets?: number[]; help?: string } = {},
  ): void {
    const { buckets = DURATION_BUCKETS, help = name } = opts;
    const s = this.#get(name, kind, help, kind === 'histogram' ? buckets : undefined);
    const key = keyOf(labels);
    if (s.values.has(key)) return;
    s.values.set(
      key,
      kind === 'histogram'
        ? { labels, value: 0, counts: s.buckets!.map(() => 0), sum: 0, count: 0 }
        : { labels, value: 0 },
    );
  }

  /** The current value (0 when never set); for a histogram, the number of observations. */
  value(name: string, labels: Labels): number {
    const p = this.#series.get(name)?.values.get(keyOf(labels));
    if (!p) return 0;
    return p.count ?? p.value;
  }

  /** Calls `fn` with every value recorded from now on (returns the unsubscribe). */
  onRecord(fn: (r: MetricRecord) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Prometheus text exposition format 0.0.4. */
  render(): string {
    const lines: string[] = [];
    for (const [name, s] of this.#series) {
      lines.push(
        `# HELP ${name} ${s.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`,
        `# TYPE ${name} ${s.kind}`,
      );
      for (const p of s.values.values()) {
        if (s.kind !== 'histogram') {
          lines.push(`${name}${formatLabels(p.labels)} ${formatNumber(p.value)}`);
          continue;
        }
        s.buckets!.forEach((le, i) =>
          lines.push(`${name}_bucket${formatLabels(p.labels, ['le', formatNumber(le)])} ${p.counts![i]}`),
        );
        lines.push(`${name}_bucket${formatLabels(p.labels, ['le', '+Inf'])} ${p.count}`);
        lines.push(`${name}_sum${formatLabels(p.labels)} ${formatNumber(p.sum!)}`);
        lines.push(`${name}_count${formatLabels(p.labels)} ${p.count}`);
      }
    }
    return lines.length ? `${lines.join('\n')}\n` : '';
  }
}

/** The process-wide registry the consume loop writes and the health server reads. */
export const metrics = new Metrics();

/** Metric names reelbus uses. */
export const METRIC = {
  handled: 'reelbus_messages_handled_total',
  failed: 'reelbus_messages_failed_total',
  deadLettered: 'reelbus_messages_dead_lettered_total',
  cancelled: 'reelbus_messages_cancelled_total',
  inFlight: 'reelbus_messages_in_flight',
  handlingSeconds: 'reelbus_message_handling_seconds',
  consumerPending: 'reelbus_consumer_pending_messages',
  consumerAckPending: 'reelbus_consumer_ack_pending_messages',
  ffmpegRealTimeFactor: 'reelbus_ffmpeg_real_time_factor',
  ffmpegSeconds: 'reelbus_ffmpeg_run_seconds',
  jobsStalled: 'reelbus_jobs_stalled_total',
  // operations (issue 15 §5: the alert rules in infra/prometheus/ read these)
  jobsFinished: 'reelbus_jobs_finished_total',
  jobDuration: 'reelbus_job_duration_seconds',
  jobCost: 'reelbus_job_estimated_cost_usd_total',
  costBudget: 'reelbus_cost_budget_daily_usd',
  jobsStalledNow: 'reelbus_jobs_stalled',
  deadLetters: 'reelbus_dead_letter_messages',
  blobRequests: 'reelbus_blob_requests_total',
  mediaConvertJobs: 'reelbus_mediaconvert_jobs_total',
} as const;

export const METRIC_HELP: Record<string, string> = {
  [METRIC.handled]: 'Messages handled and acknowledged (ok or skip)',
  [METRIC.failed]:
    'Handler attempts that failed with a transient error (retried with a nak, or dead-lettered once out of attempts)',
  [METRIC.deadLettered]: 'Messages copied to the dead-letter stream and terminated',
  [METRIC.cancelled]:
    'Messages of cancelled jobs acknowledged without a result (handler stopped, or never run); no job.failed, no dead letter',
  [METRIC.inFlight]: 'Messages being worked on now',
  [METRIC.handlingSeconds]: 'Time from receiving a message to settling it (ack, nak or dead letter), seconds',
  [METRIC.consumerPending]: 'Messages in the stream the consumer has not delivered yet (consumer lag)',
  [METRIC.consumerAckPending]: 'Messages delivered to the consumer and not acknowledged yet',
  [METRIC.ffmpegRealTimeFactor]: 'Media seconds ffmpeg produced per wall-clock second, per step',
  [METRIC.ffmpegSeconds]: 'Wall-clock time of one ffmpeg run, per step and exit status, seconds',
  [METRIC.jobsStalled]: 'Jobs the stuck-job watchdog marked stalled, per step',
  [METRIC.jobsFinished]:
    'Jobs that reached a terminal status, per kind, outcome (completed, failed, cancelled) and test_mode',
  [METRIC.jobDuration]:
    'Time from a job’s creation to its terminal status, per kind, outcome and test_mode, seconds',
  [METRIC.jobCost]:
    'Estimated cost of finished jobs (the job’s cost.estimateUsd, else cost.actualUsd), per kind, backend and test_mode, US dollars',
  [METRIC.costBudget]:
    'The daily estimated-cost amount above which the cost alert fires (COST_ALERT_DAILY_USD), US dollars',
  [METRIC.jobsStalledNow]: 'Jobs in status stalled now (as of the watchdog’s last scan)',
  [METRIC.deadLetters]: 'Messages in the dead-letter stream now (removed when replayed and deleted)',
  [METRIC.blobRequests]:
    'Blob store requests (S3: every HTTP request, retries included), per store, operation and outcome (ok, not_found, client_error, server_error, network_error)',
  [METRIC.mediaConvertJobs]:
    'MediaConvert jobs followed to their end, per status (complete, error, canceled outside reelbus, timed_out)',
};
