// Small statistics and table helpers for the benchmarks. Figures are printed, never asserted.

export interface Summary {
  n: number;
  median: number;
  p95: number;
  p99: number;
  min: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of `values` (0 < p ≤ 100). NaN when empty. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function summarize(values: number[]): Summary {
  return {
    n: values.length,
    median: median(values),
    p95: percentile(values, 95),
    p99: percentile(values, 99),
    min: values.length ? Math.min(...values) : Number.NaN,
    max: values.length ? Math.max(...values) : Number.NaN,
    mean: values.length ? values.reduce((a, b) => a + b, 0) / values.length : Number.NaN,
  };
}

/** One printed line of results: a subject measured against its baseline from the same run. */
export interface Row {
  bench: string;
  /** What was measured, e.g. `hop latency, 8 in flight`. */
  metric: string;
  unit: string;
  subject: Summary;
  baseline?: Summary;
  /** subject median / baseline median. */
  ratio?: number;
  /** Raw samples, kept in the JSON. */
  samples?: { subject: number[]; baseline?: number[] };
  note?: string;
}

export function row(opts: {
  bench: string;
  metric: string;
  unit: string;
  subject: number[];
  baseline?: number[];
  note?: string;
  keepSamples?: boolean;
}): Row {
  const { bench, metric, unit, subject, baseline, note, keepSamples = true } = opts;
  const s = summarize(subject);
  const r: Row = { bench, metric, unit, subject: s };
  if (baseline) {
    r.baseline = summarize(baseline);
    r.ratio = s.median / r.baseline.median;
  }
  if (keepSamples) r.samples = { subject, ...(baseline ? { baseline } : {}) };
  if (note) r.note = note;
  return r;
}

function fmt(v: number | undefined): string {
  if (v === undefined || Number.isNaN(v)) return '-';
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(0);
  if (a >= 100) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toFixed(3);
}

/** The results as a plain-text table. */
export function formatTable(rows: Row[]): string {
  const head = ['bench', 'metric', 'unit', 'median', 'p95', 'base med', 'base p95', 'ratio', 'n', 'note'];
  const lines = rows.map((r) => [
    r.bench,
    r.metric,
    r.unit,
    fmt(r.subject.median),
    fmt(r.subject.p95),
    fmt(r.baseline?.median),
    fmt(r.baseline?.p95),
    r.ratio === undefined || Number.isNaN(r.ratio) ? '-' : `${r.ratio.toFixed(2)}×`,
    String(r.subject.n),
    r.note ?? '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmtLine = (l: string[]) =>
    l
      .map((c, i) =>
        i === l.length - 1 ? c : i >= 3 && i <= 8 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!),
      )
      .join('  ');
  return [fmtLine(head), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(fmtLine)].join('\n');
}
