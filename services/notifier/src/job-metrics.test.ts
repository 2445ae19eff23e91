import { newJob, type EventDataInput, type EventType, type Job, type JobStatus } from '@reelbus/contracts';
import {
  Bus,
  deleteDeadLetter,
  KvJobStore,
  listDeadLetters,
  METRIC,
  Metrics,
  metrics,
  type Consumer,
} from '@reelbus/kit';
import { randomNamespace, startNatsServer, testEvent, type NatsServerHandle } from '@reelbus/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectEvent } from './handle-events.ts';
import { declareJobMetrics, finishedBy, recordFinishedJob } from './job-metrics.ts';
import { pollOpsGauges } from './ops-gauges.ts';
import type { AnyEvent } from './projection.ts';

const created = '2026-01-01T12:00:00.000Z';
const job = (over: Partial<Job>): Job =>
  newJob({ id: 'job_m', kind: 'call', status: 'running', createdAt: created, ...over });

describe('finishedBy', () => {
  const at = '2026-01-01T12:20:00.000Z';
  const cases: Array<{
    name: string;
    before: JobStatus | undefined;
    after: Job;
    expected: ReturnType<typeof finishedBy>;
  }> = [
    {
      name: 'a running job completed: counted with its duration and cost estimate',
      before: 'running',
      after: job({
        status: 'completed',
        cost: { backend: 'mediaconvert', estimateUsd: 0.42, actualUsd: 0.5 },
      }),
      expected: {
        kind: 'call',
        outcome: 'completed',
        testMode: false,
        durationSec: 1200,
        cost: { backend: 'mediaconvert', usd: 0.42 },
      },
    },
    {
      name: 'a provider’s actual cost when there is no estimate',
      before: 'running',
      after: job({
        kind: 'generation',
        status: 'completed',
        cost: { backend: 'replicate', actualUsd: 0.07 },
      }),
      expected: {
        kind: 'generation',
        outcome: 'completed',
        testMode: false,
        durationSec: 1200,
        cost: { backend: 'replicate', usd: 0.07 },
      },
    },
    {
      name: 'no cost recorded: 0 under backend none',
      before: 'stalled',
      after: job({ kind: 'story', status: 'completed', testMode: true }),
      expected: {
        kind: 'story',
        outcome: 'completed',
        testMode: true,
        durationSec: 1200,
        cost: { backend: 'none', usd: 0 },
      },
    },
    {
      name: 'a failure: counted, no cost',
      before: 'running',
      after: job({ status: 'failed' }),
      expected: { kind: 'call', outcome: 'failed', testMode: false, durationSec: 1200 },
    },
    {
      name: 'a failed job recovered: counted as completed too',
      before: 'failed',
      after: job({ status: 'completed', cost: { backend: 'ffmpeg', cpuSeconds: 3 } }),
      expected: {
        kind: 'call',
        outcome: 'completed',
        testMode: false,
        durationSec: 1200,
        cost: { backend: 'ffmpeg', usd: 0 },
      },
    },
    {
      name: 'a cancelled job',
      before: 'running',
      after: job({ kind: 'render', status: 'cancelled' }),
      expected: { kind: 'render', outcome: 'cancelled', testMode: false, durationSec: 1200 },
    },
    {
      name: 'a redelivered completion (already completed)',
      before: 'completed',
      after: job({ status: 'completed' }),
      expected: undefined,
    },
    { name: 'a job still running', before: 'queued', after: job({ status: 'running' }), expected: undefined },
    { name: 'a stalled job', before: 'running', after: job({ status: 'stalled' }), expected: undefined },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(finishedBy({ before: c.before, after: c.after, at })).toEqual(c.expected);
    });
  }
});

describe('recordFinishedJob and declareJobMetrics', () => {
  it('labels counts and processing times by kind, outcome and test_mode, and declares every kind at zero with the budget', () => {
    const m = new Metrics();
    declareJobMetrics({ dailyCostBudgetUsd: 25, registry: m });
    const text = m.render();
    for (const kind of ['call', 'story', 'render', 'merge', 'generation', 'reel', 'project'])
      expect(text).toContain(
        `reelbus_jobs_finished_total{kind="${kind}",outcome="failed",test_mode="false"} 0`,
      );
    for (const testMode of ['false', 'true'])
      expect(text).toContain(
        `reelbus_job_duration_seconds_count{kind="story",outcome="completed",test_mode="${testMode}"} 0`,
      );
    expect(text).toContain('reelbus_cost_budget_daily_usd 25');
    recordFinishedJob(
      {
        kind: 'story',
        outcome: 'completed',
        testMode: true,
        durationSec: 95,
        cost: { backend: 'ffmpeg', usd: 0.01 },
      },
      m,
    );
    expect(m.value(METRIC.jobsFinished, { kind: 'story', outcome: 'completed', test_mode: 'true' })).toBe(1);
    expect(m.value(METRIC.jobsFinished, { kind: 'story', outcome: 'completed', test_mode: 'false' })).toBe(0);
    // the test run's processing time is kept apart from the real jobs' (the slow-jobs alert reads those)
    expect(m.value(METRIC.jobDuration, { kind: 'story', outcome: 'completed', test_mode: 'true' })).toBe(1);
    expect(m.value(METRIC.jobDuration, { kind: 'story', outcome: 'completed', test_mode: 'false' })).toBe(0);
    expect(m.value(METRIC.jobCost, { kind: 'story', backend: 'ffmpeg', test_mode: 'true' })).toBe(0.01);
  });
});

// Integration: the real KvJobStore on a real nats-server; the projection counts each job once
// however often its terminal event arrives.
describe('counting through the projection', () => {
  let server: NatsServerHandle;
  let bus: Bus;
  let jobs: KvJobStore;

  beforeAll(async () => {
    server = await startNatsServer();
    bus = await Bus.connect({ servers: server.url, namespace: randomNamespace(), name: 'job-metrics-test' });
    await bus.ensureStreams();
    jobs = await KvJobStore.open({ nc: bus.nc, bucket: bus.names.jobsBucket });
  });
  afterAll(async () => {
    await jobs?.close();
    await bus?.close();
    await server?.stop();
  });

  const ev = <T extends EventType>(type: T, jobId: string, data: EventDataInput<T>) =>
    testEvent(type, jobId, data) as unknown as AnyEvent;
  const finished = (labels: Record<string, string>) => metrics.value(METRIC.jobsFinished, labels);

  it('counts a failure once under redelivery, then its recovery as a completion with its cost once', async () => {
    const id = 'job_metrics_1';
    await jobs.create(newJob({ id, kind: 'story', status: 'running' }));
    const failedLabels = { kind: 'story', outcome: 'failed', test_mode: 'false' };
    const completedLabels = { kind: 'story', outcome: 'completed', test_mode: 'false' };
    const costLabels = { kind: 'story', backend: 'mediaconvert', test_mode: 'false' };
    const before = {
      failed: finished(failedLabels),
      completed: finished(completedLabels),
      cost: metrics.value(METRIC.jobCost, costLabels),
      durations: metrics.value(METRIC.jobDuration, { kind: 'story', outcome: 'failed', test_mode: 'false' }),
    };
    const failed = ev('job.failed', id, {
      step: 'encode',
      reason: 'MediaConvert job 1 failed',
      permanent: true,
    });
    await projectEvent({ jobs, event: failed });
    await projectEvent({ jobs, event: failed }); // redelivered
    expect(finished(failedLabels) - before.failed).toBe(1);
    expect(
      metrics.value(METRIC.jobDuration, { kind: 'story', outcome: 'failed', test_mode: 'false' }) -
        before.durations,
    ).toBe(1);

    await projectEvent({
      jobs,
      event: ev('video.encoded', id, {
        key: `jobs/${id}/final.mp4`,
        durationSec: 30,
        sizeBytes: 1000,
        width: 1920,
        height: 1080,
        videoCodec: 'h264',
        audioCodec: 'aac',
        backend: 'mediaconvert',
        encodeSeconds: 20,
        costUsd: 0.0075,
      }),
    });
    const completed = ev('job.completed', id, { outputs: {}, warnings: [] });
    await projectEvent({ jobs, event: completed });
    await projectEvent({ jobs, event: completed });
    expect((await jobs.get(id))?.status).toBe('completed');
    expect(finished(completedLabels) - before.completed).toBe(1);
    expect(metrics.value(METRIC.jobCost, costLabels) - before.cost).toBeCloseTo(0.0075, 10);
  });

  it('labels a test-mode job test_mode="true", so the alert rules leave it out', async () => {
    const id = 'job_metrics_test_mode';
    await jobs.create(newJob({ id, kind: 'call', status: 'running', testMode: true }));
    const labels = { kind: 'call', outcome: 'failed', test_mode: 'true' };
    const real = { kind: 'call', outcome: 'failed', test_mode: 'false' };
    const before = { test: finished(labels), real: finished(real) };
    await projectEvent({
      jobs,
      event: ev('job.failed', id, { step: 'split', reason: 'the recording is silent', permanent: true }),
    });
    expect(finished(labels) - before.test).toBe(1);
    expect(finished(real) - before.real).toBe(0);
  });
});

// Integration: a real dead letter made by the kit's consume loop, and a stalled job document.
describe('operations gauges', () => {
  let server: NatsServerHandle;
  let bus: Bus;
  let jobs: KvJobStore;
  let consumer: Consumer | undefined;

  beforeAll(async () => {
    server = await startNatsServer();
    bus = await Bus.connect({ servers: server.url, namespace: randomNamespace(), name: 'ops-gauges-test' });
    await bus.ensureStreams();
    jobs = await KvJobStore.open({ nc: bus.nc, bucket: bus.names.jobsBucket });
  });
  afterAll(async () => {
    await consumer?.stop(0);
    await jobs?.close();
    await bus?.close();
    await server?.stop();
  });

  it('reads the messages in the dead-letter stream and the stalled jobs into their gauges', async () => {
    const gauge = (name: string) => metrics.value(name, {});
    let resolveFailed!: () => void;
    const handlerFailed = new Promise<void>((r) => (resolveFailed = r));
    consumer = await bus.consume({
      service: 'ops-test',
      concurrency: 1,
      handlers: {
        'job.warning': {
          step: 'test',
          handle: async () => {
            resolveFailed();
            return { outcome: 'fail', step: 'test', reason: 'a permanent problem' };
          },
        },
      },
    });
    await bus.publish('job.warning', 'job_dlq_1', { step: 'split', message: 'x' });
    await handlerFailed;
    // the loop dead-letters after the handler returns: wait for the dead letter itself
    const deadline = Date.now() + 10_000;
    while ((await listDeadLetters(bus)).length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    await jobs.create(newJob({ id: 'job_stalled_1', kind: 'call', status: 'stalled' }));
    await jobs.create(newJob({ id: 'job_running_1', kind: 'call', status: 'running' }));

    await pollOpsGauges({ bus, jobs });
    expect(gauge(METRIC.deadLetters)).toBe(1);
    expect(gauge(METRIC.jobsStalledNow)).toBe(1);

    // replayed and deleted: the stream is empty again; the job moved on
    const [dl] = await listDeadLetters(bus);
    await deleteDeadLetter(bus, dl!.seq);
    await jobs.update('job_stalled_1', (j) => ({ ...j, status: 'running' }));
    await pollOpsGauges({ bus, jobs });
    expect(gauge(METRIC.deadLetters)).toBe(0);
    expect(gauge(METRIC.jobsStalledNow)).toBe(0);
  });
});
