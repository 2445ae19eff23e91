/**
 * A few counters the consume loop keeps, rendered as Prometheus text on /metrics.
 * Deliberately tiny: no client library, no histograms.
 */

type Labels = Record<string, string>;

interface Series {
  help: string;
  kind: 'counter' | 'gauge';
  values: Map<string, { labels: Labels; value: number }>;
}

export class Metrics {
  readonly #series = new Map<string, Series>();

  #get(name: string, kind: Series['kind'], help: string): Series {
    let s = this.#series.get(name);
    if (!s) {
      s = { help, kind, values: new Map() };
      this.#series.set(name, s);
    }
    return s;
  }

  /** Adds `by` to the counter or gauge `name` with `labels`. */
  add(name: string, labels: Labels, by = 1, kind: Series['kind'] = 'counter', help = name): void {
    const s = this.#get(name, kind, help);
    const key = JSON.stringify(Object.entries(labels).sort());
    const cur = s.values.get(key);
    if (cur) cur.value += by;
    else s.values.set(key, { labels, value: by });
  }

  /** The current value (0 when never set). */
  value(name: string, labels: Labels): number {
    const key = JSON.stringify(Object.entries(labels).sort());
    return this.#series.get(name)?.values.get(key)?.value ?? 0;
  }

  /** Prometheus text exposition format 0.0.4. */
  render(): string {
    const lines: string[] = [];
    for (const [name, s] of this.#series) {
      lines.push(`# HELP ${name} ${s.help}`, `# TYPE ${name} ${s.kind}`);
      for (const { labels, value } of s.values.values()) {
        const l = Object.entries(labels)
          .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
          .join(',');
        lines.push(`${name}${l ? `{${l}}` : ''} ${value}`);
      }
    }
    return lines.length ? `${lines.join('\n')}\n` : '';
  }
}

/** The process-wide registry the consume loop writes and the health server reads. */
export const metrics = new Metrics();

/** Metric names the consume loop uses. */
export const METRIC = {
  handled: 'reelbus_messages_handled_total',
  failed: 'reelbus_messages_failed_total',
  deadLettered: 'reelbus_messages_dead_lettered_total',
  inFlight: 'reelbus_messages_in_flight',
} as const;

export const METRIC_HELP: Record<string, string> = {
  [METRIC.handled]: 'Messages handled and acknowledged (ok or skip)',
  [METRIC.failed]: 'Handler attempts that failed with a transient error and were retried (nak)',
  [METRIC.deadLettered]: 'Messages copied to the dead-letter stream and terminated',
  [METRIC.inFlight]: 'Messages being worked on now',
};
