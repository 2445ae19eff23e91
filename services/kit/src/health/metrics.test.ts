import { describe, expect, it } from 'vitest';
import { Metrics, type MetricRecord } from './metrics.ts';

/** A small parser of the Prometheus text format: every sample line is `name{labels} value`. */
function parseProm(text: string) {
  const types = new Map<string, string>();
  const helps = new Map<string, string>();
  const samples: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.trimEnd().split('\n')) {
    let m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      (m[1] === 'TYPE' ? types : helps).set(m[2]!, m[3]!);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: m[3] === '+Inf' ? Infinity : Number(m[3]) });
  }
  return { types, helps, samples };
}

describe('metrics', () => {
  it('renders counters, gauges and histograms that parse as Prometheus text with HELP and TYPE', () => {
    const m = new Metrics();
    m.add(
      'reelbus_messages_handled_total',
      { service: 'enc', type: 'timeline.ready' },
      3,
      'counter',
      'handled',
    );
    m.set('reelbus_consumer_pending_messages', { service: 'enc', consumer: 'c"1' }, 7, 'lag');
    m.observe('reelbus_message_handling_seconds', { service: 'enc' }, 0.3, {
      buckets: [0.1, 1, 10],
      help: 'secs',
    });
    m.observe('reelbus_message_handling_seconds', { service: 'enc' }, 4, { buckets: [0.1, 1, 10] });
    m.observe('reelbus_message_handling_seconds', { service: 'enc' }, 40, { buckets: [0.1, 1, 10] });

    const { types, helps, samples } = parseProm(m.render());
    expect(Object.fromEntries(types)).toEqual({
      reelbus_messages_handled_total: 'counter',
      reelbus_consumer_pending_messages: 'gauge',
      reelbus_message_handling_seconds: 'histogram',
    });
    expect(helps.get('reelbus_message_handling_seconds')).toBe('secs');
    const value = (name: string, labels: Record<string, string>) =>
      samples.find((s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels))?.value;
    expect(value('reelbus_messages_handled_total', { service: 'enc', type: 'timeline.ready' })).toBe(3);
    expect(value('reelbus_consumer_pending_messages', { service: 'enc', consumer: 'c\\"1' })).toBe(7);
    // Buckets are cumulative, +Inf equals the count, sum is the total.
    const buckets = samples
      .filter((s) => s.name === 'reelbus_message_handling_seconds_bucket')
      .map((s) => [s.labels.le, s.value]);
    expect(buckets).toEqual([
      ['0.1', 0],
      ['1', 1],
      ['10', 2],
      ['+Inf', 3],
    ]);
    expect(value('reelbus_message_handling_seconds_sum', { service: 'enc' })).toBeCloseTo(44.3);
    expect(value('reelbus_message_handling_seconds_count', { service: 'enc' })).toBe(3);
    expect(m.value('reelbus_message_handling_seconds', { service: 'enc' })).toBe(3);
  });

  it('tells listeners (the OTLP bridge) every value it records, and refuses to change a metric kind', () => {
    const m = new Metrics();
    const got: MetricRecord[] = [];
    const off = m.onRecord((r) => got.push(r));
    m.add('a_total', { x: '1' });
    m.set('g', {}, 5);
    m.observe('h', {}, 2, { buckets: [1, 5] });
    off();
    m.add('a_total', { x: '1' });
    expect(got.map((r) => [r.name, r.kind, r.op, r.value])).toEqual([
      ['a_total', 'counter', 'add', 1],
      ['g', 'gauge', 'set', 5],
      ['h', 'histogram', 'observe', 2],
    ]);
    expect(() => m.set('a_total', {}, 1)).toThrow(/a_total is a counter, not a gauge/);
  });
});

describe('declared series', () => {
  it('shows a declared counter and histogram at zero before anything is recorded, and keeps later values', () => {
    const m = new Metrics();
    m.declare(
      'reelbus_jobs_finished_total',
      'counter',
      { kind: 'call', outcome: 'failed' },
      { help: 'jobs' },
    );
    m.declare('reelbus_job_duration_seconds', 'histogram', { kind: 'call' }, { buckets: [60, 600] });
    let text = m.render();
    expect(text).toContain('# TYPE reelbus_jobs_finished_total counter');
    expect(text).toContain('reelbus_jobs_finished_total{kind="call",outcome="failed"} 0');
    expect(text).toContain('reelbus_job_duration_seconds_bucket{kind="call",le="60"} 0');
    expect(text).toContain('reelbus_job_duration_seconds_bucket{kind="call",le="+Inf"} 0');
    expect(text).toContain('reelbus_job_duration_seconds_count{kind="call"} 0');
    m.add('reelbus_jobs_finished_total', { kind: 'call', outcome: 'failed' }, 2);
    m.observe('reelbus_job_duration_seconds', { kind: 'call' }, 90, { buckets: [60, 600] });
    m.declare('reelbus_jobs_finished_total', 'counter', { kind: 'call', outcome: 'failed' });
    text = m.render();
    expect(text).toContain('reelbus_jobs_finished_total{kind="call",outcome="failed"} 2');
    expect(text).toContain('reelbus_job_duration_seconds_bucket{kind="call",le="600"} 1');
    expect(text).toContain('reelbus_job_duration_seconds_sum{kind="call"} 90');
  });
});
