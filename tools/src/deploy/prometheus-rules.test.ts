import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadK8sObjects, loadKustomization, podContainer, serviceNames } from './deploy-files.ts';
import {
  alertsTestedFiring,
  alertsTestedSilent,
  loadAlertRules,
  PROMETHEUS_DIR,
  RULES_FILE,
  RULES_TEST_FILE,
  selectionsOf,
} from './prometheus-rules.ts';

const exec = promisify(execFile);

/** Runs promtool (Debian's `prometheus` package; tools/setup.sh installs it). */
async function promtool(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await exec('promtool', args, { cwd: PROMETHEUS_DIR });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT')
      throw new Error(
        'promtool is not installed: run tools/setup.sh (it installs Debian’s prometheus package)',
      );
    return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: Number(e.code) };
  }
}

describe('infra/prometheus alert rules', () => {
  const rules = loadAlertRules();

  it('pass promtool check rules', async () => {
    const r = await promtool(['check', 'rules', RULES_FILE]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it('pass their unit tests with synthetic series (promtool test rules)', async () => {
    const r = await promtool(['test', 'rules', RULES_TEST_FILE]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
  });

  it('have a case where each alert fires and one where it stays silent', () => {
    const names = rules.map((r) => r.alert).sort();
    expect(names).toEqual([
      'ReelbusBlobStoreErrors',
      'ReelbusConsumerLagGrowing',
      'ReelbusDailyCostHigh',
      'ReelbusDeadLetters',
      'ReelbusJobSuccessRateLow',
      'ReelbusJobsSlow',
      'ReelbusJobsStalled',
      'ReelbusMediaConvertJobFailed',
    ]);
    const firing = alertsTestedFiring();
    const silent = alertsTestedSilent();
    for (const n of names) {
      expect(firing.has(n), `${n} has no test where it fires`).toBe(true);
      expect(silent.has(n), `${n} has no test where it stays silent`).toBe(true);
    }
  });

  it('leave test-mode jobs out of the success-rate, processing-time and cost figures', () => {
    for (const name of ['ReelbusJobSuccessRateLow', 'ReelbusJobsSlow', 'ReelbusDailyCostHigh']) {
      const rule = rules.find((r) => r.alert === name)!;
      const finishedOrCost = selectionsOf(rule.expr).filter((s) =>
        /^reelbus_(jobs_finished_total|job_duration_seconds_(sum|count)|job_estimated_cost_usd_total)$/.test(
          s.metric,
        ),
      );
      expect(finishedOrCost.length, name).toBeGreaterThan(0);
      for (const s of finishedOrCost) expect(s.labels, name).toContain('test_mode');
      expect(rule.expr.match(/test_mode="false"/g)?.length).toBe(finishedOrCost.length);
    }
  });

  it('document every alert in the README with a runbook anchor that exists', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(`${PROMETHEUS_DIR}/README.md`, 'utf8');
    for (const r of rules) {
      expect(readme, r.alert).toContain(`### ${r.alert}`);
      expect(r.annotations?.runbook).toBe(`infra/prometheus/README.md#${r.alert.toLowerCase()}`);
    }
  });

  it('name the metrics and labels they read (parsed with the PromQL grammar)', () => {
    const selections = rules.flatMap((r) => selectionsOf(r.expr));
    expect(selections).toContainEqual({
      metric: 'reelbus_jobs_finished_total',
      labels: ['kind', 'outcome', 'test_mode'],
    });
    expect(selections).toContainEqual({
      metric: 'reelbus_consumer_pending_messages',
      labels: ['consumer', 'service', 'type'],
    });
    expect(selections).toContainEqual({ metric: 'reelbus_cost_budget_daily_usd', labels: [] });
    expect(() => selectionsOf('sum(rate(x[5m]) by')).toThrow(/does not parse/);
  });

  it('come with a Prometheus config that promtool accepts and that loads them', async () => {
    const r = await promtool(['check', 'config', 'prometheus.example.yml']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS: 1 rule files found');
    expect(r.stdout).toContain('reelbus-alerts.yml');
  });
});

describe('the Kubernetes manifests and the alert rules', () => {
  it('make a ConfigMap of the rules with `kubectl apply -k infra/prometheus`', () => {
    const k = loadKustomization(PROMETHEUS_DIR);
    expect(k.namespace).toBe('reelbus');
    expect(k.configMapGenerator).toEqual([
      expect.objectContaining({ name: 'reelbus-alert-rules', files: ['reelbus-alerts.yml'] }),
    ]);
  });

  it('annotate every service pod for scraping /metrics on its health port', () => {
    const deployments = loadK8sObjects().filter((o) => o.kind === 'Deployment');
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(serviceNames().sort());
    for (const d of deployments) {
      const template = (d.spec as { template: { metadata: { annotations?: Record<string, string> } } })
        .template;
      const healthPort = podContainer(d).env?.find((e) => e.name === 'HEALTH_PORT')?.value;
      expect(template.metadata.annotations, d.metadata.name).toEqual({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': healthPort,
        'prometheus.io/path': '/metrics',
      });
    }
  });
});
