import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSampleCall } from '../sample.ts';
import {
  loadAlertRules,
  parsePrometheusText,
  selectionsOf,
  type Sample,
} from '../deploy/prometheus-rules.ts';
import { startE2E, type E2E } from './harness.ts';

// Issue 15 §5: every metric the alert rules in infra/prometheus/ read is exported by a running
// service, with the labels the rules match and group on. The whole embedded stack runs for real; a
// call completes and a bad upload fails (and is dead-lettered), so the job figures have moved.
describe('the alert rules read metrics the running services export', () => {
  let e2e: E2E;

  beforeAll(async () => {
    // the dead-letter and stalled-job gauges are read every 30 s by default: sooner here
    e2e = await startE2E({ serviceEnv: { notifier: { OPS_GAUGES_INTERVAL_MS: '200' } } });
  }, 120_000);
  afterAll(async () => {
    await e2e?.close();
  });

  /** Every service process's /metrics, parsed. */
  async function scrapeAll(): Promise<Map<string, Sample[]>> {
    const out = new Map<string, Sample[]>();
    for (const p of e2e.stack.processes) {
      const res = await fetch(`http://127.0.0.1:${p.healthPort}/metrics`);
      expect(res.status, p.service).toBe(200);
      expect(res.headers.get('content-type'), p.service).toMatch(/^text\/plain; version=0\.0\.4/);
      out.set(p.service, parsePrometheusText(await res.text()));
    }
    return out;
  }
  const value = (samples: Sample[], name: string, labels: Record<string, string>) =>
    samples
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((a, s) => a + s.value, 0);

  it('after a completed and a failed call, every selector of every rule finds a series with its labels', async () => {
    const good = makeSampleCall({ file: join(e2e.dir, 'call.wav') });
    const bad = join(e2e.dir, 'notes.wav');
    writeFileSync(bad, 'Meeting notes: call the customer back on Tuesday.\n'.repeat(20));
    const [ok, failed] = await Promise.all([
      e2e.client.submitRecording({ file: good.file }),
      e2e.client.submitRecording({ file: bad }),
    ]);
    const [okJob, failedJob] = await Promise.all([
      e2e.client.follow(ok.jobId, () => {}, { pollMs: 250 }),
      e2e.client.follow(failed.jobId, () => {}, { pollMs: 250 }),
    ]);
    expect(okJob.status, JSON.stringify(okJob.error)).toBe('completed');
    expect(failedJob.status).toBe('failed');

    // the gauges catch up on the notifier's next read: wait for the dead letter to show, with a deadline
    let scraped = await scrapeAll();
    const deadline = Date.now() + 20_000;
    while (value(scraped.get('notifier')!, 'reelbus_dead_letter_messages', {}) < 1 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      scraped = await scrapeAll();
    }
    const notifier = scraped.get('notifier')!;
    expect(value(notifier, 'reelbus_dead_letter_messages', {})).toBe(1);
    expect(value(notifier, 'reelbus_jobs_stalled', {})).toBe(0);
    // the two jobs, counted by kind and outcome, as real (not test-mode) jobs
    expect(
      value(notifier, 'reelbus_jobs_finished_total', {
        kind: 'call',
        outcome: 'completed',
        test_mode: 'false',
      }),
    ).toBe(1);
    expect(
      value(notifier, 'reelbus_jobs_finished_total', { kind: 'call', outcome: 'failed', test_mode: 'false' }),
    ).toBe(1);
    expect(value(notifier, 'reelbus_job_duration_seconds_count', { kind: 'call' })).toBe(2);
    expect(value(notifier, 'reelbus_cost_budget_daily_usd', {})).toBe(100);
    // the filesystem store counted its requests in the services that used it
    const all = [...scraped.values()].flat();
    expect(value(all, 'reelbus_blob_requests_total', { store: 'fs', outcome: 'ok' })).toBeGreaterThan(0);

    const missing: string[] = [];
    for (const rule of loadAlertRules()) {
      for (const sel of selectionsOf(rule.expr)) {
        const found = [...scraped.entries()].filter(([, samples]) =>
          samples.some((s) => s.name === sel.metric && sel.labels.every((l) => l in s.labels)),
        );
        if (found.length === 0)
          missing.push(
            `${rule.alert}: ${sel.metric}${sel.labels.length ? ` with ${sel.labels.join(', ')}` : ''}`,
          );
      }
    }
    expect(missing, `not exported by any running service:\n${missing.join('\n')}`).toEqual([]);
  }, 180_000); // renders a call video
});
