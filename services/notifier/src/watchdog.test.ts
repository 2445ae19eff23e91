import { newJob, type Job } from '@reelbus/contracts';
import { Bus, KvJobStore, METRIC, metrics, type Consumer } from '@reelbus/kit';
import { randomNamespace, startNatsServer, type NatsServerHandle } from '@reelbus/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifierConcurrency, notifierHandlers } from './handle-events.ts';
import { startReceiver } from './test-support.ts';
import { findStall, parseStepTimeouts, scanForStalledJobs, startWatchdog } from './watchdog.ts';
import type { WebhookPayload } from './webhook.ts';

describe('findStall', () => {
  const settings = parseStepTimeouts('encode=600,generate=900,default=300');
  const job = (steps: Job['steps'], quietSec: number, now: Date): Job =>
    newJob({
      id: 'job_w',
      kind: 'call',
      status: 'running',
      steps,
      updatedAt: new Date(now.getTime() - quietSec * 1000).toISOString(),
    });
  const now = new Date('2025-01-01T12:00:00.000Z');
  const cases: Array<{ name: string; steps: Job['steps']; quietSec: number; stalled?: string }> = [
    {
      name: 'leaves an encode quiet for 500 s alone (its limit is 600 s)',
      steps: { encode: { status: 'running' } },
      quietSec: 500,
    },
    {
      name: 'stalls an encode quiet for 601 s',
      steps: { encode: { status: 'running' } },
      quietSec: 601,
      stalled: 'encode',
    },
    {
      name: 'uses the default for a step not listed',
      steps: { split: { status: 'running' } },
      quietSec: 301,
      stalled: 'split',
    },
    {
      name: 'gives the most generous running step its limit',
      steps: { split: { status: 'running' }, generate: { status: 'running' } },
      quietSec: 800,
    },
    {
      name: 'names the step last heard of when none runs',
      steps: {
        ingest: { status: 'completed', finishedAt: '2025-01-01T11:00:00.000Z' },
        split: { status: 'completed', finishedAt: '2025-01-01T11:01:00.000Z' },
      },
      quietSec: 400,
      stalled: 'split',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const stall = findStall({ job: job(c.steps, c.quietSec, now), now, settings });
      expect(stall?.step).toBe(c.stalled);
      if (c.stalled) expect(stall?.idleSeconds).toBe(c.quietSec);
    });
  }
  it('never stalls a job that is not running', () => {
    const j = { ...job({ encode: { status: 'running' } }, 5000, now), status: 'completed' as const };
    expect(findStall({ job: j, now, settings })).toBeUndefined();
  });
  it('refuses a timeout spec that is not step=seconds, naming the entry', () => {
    expect(() => parseStepTimeouts('encode=600,split')).toThrow(/"split" is not step=seconds/);
  });
});

// Integration: a real nats-server, the KvJobStore, the notifier's real handlers (which send the
// job.stalled webhook) and the watchdog with tiny limits.
describe('stuck-job watchdog', () => {
  let server: NatsServerHandle;
  let bus: Bus;
  let jobs: KvJobStore;
  let consumer: Consumer;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    server = await startNatsServer();
    bus = await Bus.connect({ servers: server.url, namespace: randomNamespace(), name: 'watchdog-test' });
    await bus.ensureStreams();
    jobs = await KvJobStore.open({ nc: bus.nc, bucket: bus.names.jobsBucket });
    receiver = await startReceiver(() => 200);
    consumer = await bus.consume({
      service: 'notifier',
      concurrency: notifierConcurrency(1),
      handlers: notifierHandlers({
        jobs,
        webhook: {
          secret: 'watchdog-secret-0123456789',
          timeoutMs: 2_000,
          attempts: 2,
          backoffMs: 20,
          allowPrivate: true,
        },
      }),
    });
  });
  afterAll(async () => {
    await consumer?.stop(0);
    await receiver?.close();
    await jobs?.close();
    await bus?.close();
    await server?.stop();
  });

  it('marks a quiet job stalled, publishes job.stalled, counts it, tells its callback, and a later event revives it', async () => {
    const id = 'job_quiet_1';
    await jobs.create(
      newJob({
        id,
        kind: 'call',
        status: 'running',
        callbackUrl: receiver.url,
        steps: { encode: { status: 'running', percent: 10 } },
      }),
    );
    const stalledEvents: string[] = [];
    const watch = bus.watchJob(id, (e) => {
      if (e.type === 'job.stalled') stalledEvents.push(JSON.stringify(e.data));
    });
    const before = metrics.value(METRIC.jobsStalled, { step: 'encode' });
    let resolveMarked!: () => void;
    const marked = new Promise<void>((r) => (resolveMarked = r));
    const watchdog = startWatchdog({
      jobs,
      bus,
      settings: { intervalMs: 50, stepTimeoutsSec: { encode: 0.4 }, defaultTimeoutSec: 60 },
      onScan: (ids) => ids.includes(id) && resolveMarked(),
    });
    try {
      await marked;
      const stalled = (await jobs.get(id))!;
      expect(stalled.status).toBe('stalled');
      expect(metrics.value(METRIC.jobsStalled, { step: 'encode' })).toBe(before + 1);

      await receiver.waitFor(1);
      const payload = JSON.parse(receiver.requests[0]!.body) as WebhookPayload;
      expect(payload).toMatchObject({ event: 'job.stalled', jobId: id, status: 'stalled' });
      expect(stalledEvents).toHaveLength(1);
      const data = JSON.parse(stalledEvents[0]!) as {
        step: string;
        idleSeconds: number;
        lastEventAt: string;
      };
      expect(data.step).toBe('encode');
      expect(data.idleSeconds).toBeGreaterThan(0.4);

      // Progress arrives after all: the job runs again (and, quiet again, would stall again).
      await watchdog.stop();
      await bus.publish('job.progress', id, { step: 'encode', status: 'running', percent: 50 });
      const deadline = Date.now() + 15_000;
      let job = await jobs.get(id);
      while (job?.status !== 'running' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        job = await jobs.get(id);
      }
      expect(job?.status).toBe('running');
      expect(job?.steps.encode?.percent).toBe(50);
      expect(receiver.requests).toHaveLength(1); // one stalled webhook, no more
    } finally {
      watch.stop();
      await watchdog.stop();
    }
  });

  it('leaves a job alone while its step keeps reporting progress within the limit', async () => {
    const id = 'job_busy_1';
    const settings = { stepTimeoutsSec: { encode: 3 }, defaultTimeoutSec: 3 };
    await jobs.create(
      newJob({ id, kind: 'call', status: 'running', steps: { encode: { status: 'running', percent: 0 } } }),
    );
    const before = (await jobs.get(id))!;
    // Progress arrives; the notifier's projection rewrites the document (new updatedAt).
    await bus.publish('job.progress', id, { step: 'encode', status: 'running', percent: 40 });
    const deadline = Date.now() + 30_000;
    let after = before;
    while (after.updatedAt === before.updatedAt && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      after = (await jobs.get(id))!;
    }
    expect(after.steps.encode?.percent).toBe(40);
    // A moment 2.9 s after the progress: past the 3 s limit counted from before it, within it since.
    const at = new Date(Date.parse(after.updatedAt) + 2_900);
    if (Date.parse(after.updatedAt) - Date.parse(before.updatedAt) > 100) {
      expect(findStall({ job: before, now: at, settings })).toBeDefined();
    }
    const marked = await scanForStalledJobs({ jobs, bus, settings, clock: () => at });
    expect(marked).not.toContain(id);
    expect((await jobs.get(id))?.status).toBe('running');
    // And once it goes quiet past the limit, the same scan marks it.
    const later = new Date(Date.parse(after.updatedAt) + 3_100);
    expect(await scanForStalledJobs({ jobs, bus, settings, clock: () => later })).toContain(id);
  });
});
