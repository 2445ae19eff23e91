// The Prometheus alert rules in infra/prometheus/, read for tests: the alerts, their unit tests, and
// what each expression selects (metric names and the labels it matches or groups on), found with the
// Prometheus project's own PromQL grammar (the one its web UI uses).
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parser } from '@prometheus-io/lezer-promql';
import type { SyntaxNode } from '@lezer/common';
import { parse as parseYaml } from 'yaml';

export const PROMETHEUS_DIR = resolve(fileURLToPath(new URL('../../../infra/prometheus', import.meta.url)));
export const RULES_FILE = join(PROMETHEUS_DIR, 'reelbus-alerts.yml');
export const RULES_TEST_FILE = join(PROMETHEUS_DIR, 'reelbus-alerts.test.yml');

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** Every alerting rule of reelbus-alerts.yml. */
export function loadAlertRules(file = RULES_FILE): AlertRule[] {
  const doc = parseYaml(readFileSync(file, 'utf8')) as { groups: Array<{ rules: AlertRule[] }> };
  return doc.groups.flatMap((g) => g.rules).filter((r) => r.alert);
}

interface RulesTestFile {
  tests: Array<{
    name?: string;
    alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }>;
  }>;
}

/** The alerts reelbus-alerts.test.yml expects to fire somewhere (a non-empty `exp_alerts`). */
export function alertsTestedFiring(file = RULES_TEST_FILE): Set<string> {
  const doc = parseYaml(readFileSync(file, 'utf8')) as RulesTestFile;
  const out = new Set<string>();
  for (const t of doc.tests)
    for (const a of t.alert_rule_test ?? []) if ((a.exp_alerts ?? []).length > 0) out.add(a.alertname);
  return out;
}

/** The alerts reelbus-alerts.test.yml expects silent somewhere (an empty `exp_alerts`). */
export function alertsTestedSilent(file = RULES_TEST_FILE): Set<string> {
  const doc = parseYaml(readFileSync(file, 'utf8')) as RulesTestFile;
  const out = new Set<string>();
  for (const t of doc.tests)
    for (const a of t.alert_rule_test ?? []) if ((a.exp_alerts ?? []).length === 0) out.add(a.alertname);
  return out;
}

/** One series selector of an expression: its metric and the labels it needs the series to carry. */
export interface Selection {
  metric: string;
  /** Labels matched on (`{kind="call"}`) or grouped by in an enclosing aggregation (`sum by (kind)`). */
  labels: string[];
}

/**
 * The metrics an expression reads and the labels it needs on each (pure). Throws when the
 * expression does not parse (the grammar marks errors with ⚠ nodes).
 */
export function selectionsOf(expr: string): Selection[] {
  const tree = parser.parse(expr);
  const out: Selection[] = [];
  const text = (n: SyntaxNode) => expr.slice(n.from, n.to);
  tree.iterate({
    enter(ref) {
      if (ref.type.isError)
        throw new Error(`PromQL does not parse at ${ref.from}: ${expr.slice(ref.from, ref.from + 30)}`);
      if (ref.name !== 'VectorSelector') return;
      const node = ref.node;
      const id = node.getChild('Identifier');
      if (!id) return;
      const labels = new Set<string>();
      for (const m of node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? [])
        labels.add(text(m.getChild('LabelName')!));
      // grouping labels of every aggregation around this selector
      for (let p = node.parent; p; p = p.parent) {
        if (p.name !== 'AggregateExpr') continue;
        const modifier = p.getChild('AggregateModifier');
        if (!modifier?.getChild('By')) continue;
        for (const l of modifier.getChild('GroupingLabels')?.getChildren('LabelName') ?? [])
          labels.add(text(l));
      }
      out.push({ metric: text(id), labels: [...labels].sort() });
    },
  });
  return out;
}

/** One sample line of the Prometheus text format. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a /metrics page (Prometheus text format 0.0.4; comments skipped). */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!;
    const v = m[3]!;
    samples.push({
      name: m[1]!,
      labels,
      value: v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v),
    });
  }
  return samples;
}
