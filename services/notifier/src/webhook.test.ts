import { newJob, type EventOf, type Job } from '@reelbus/contracts';
import { recordingContext } from '@reelbus/kit/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { notifierHandlers } from './handle-events.ts';
import { MemoryJobStore, startReceiver } from './test-support.ts';
import {
  deliverWebhook,
  isPrivateAddress,
  signWebhook,
  verifyWebhookSignature,
  type WebhookSettings,
  type WebhookPayload,
} from './webhook.ts';

const SECRET = 'test-secret-0123456789abcdef';
const settings = (over: Partial<WebhookSettings> = {}): WebhookSettings => ({
  secret: SECRET,
  timeoutMs: 2_000,
  attempts: 5,
  backoffMs: 10,
  allowPrivate: true,
  ...over,
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function receiver(respond: (n: number) => number | 'hang' | Promise<number>) {
  const r = await startReceiver(respond);
  cleanups.push(r.close);
  return r;
}

function completedJob(callbackUrl: string, over: Partial<Job> = {}): Job {
  return {
    ...newJob({ id: 'job_w1', kind: 'call', callbackUrl }),
    status: 'completed',
    progress: 100,
    outputs: {
      video: {
        key: 'jobs/job_w1/final.mp4',
        durationSec: 12.5,
        sizeBytes: 4242,
        width: 1280,
        height: 720,
        contentType: 'video/mp4',
      },
    },
    warnings: ['callee clip is a placeholder'],
    state: {
      notifier: { completedAt: '2026-01-01T00:00:45.000Z', completedEventId: 'job.completed:job_w1' },
    },
    ...over,
  };
}

async function storeWith(job: Job): Promise<MemoryJobStore> {
  const jobs = new MemoryJobStore();
  await jobs.create(job);
  return jobs;
}

const deliver = (
  jobs: MemoryJobStore,
  s: WebhookSettings,
  event: 'job.completed' | 'job.failed' = 'job.completed',
  owner = `${event}:job_w1`,
) => deliverWebhook({ jobs, jobId: 'job_w1', event, owner, settings: s });

describe('webhook signature', () => {
  const body = '{"event":"job.completed"}';
  const now = new Date('2026-01-01T00:00:00Z');
  const ts = Math.floor(now.getTime() / 1000);
  const sig = signWebhook({ secret: SECRET, timestamp: ts, body });
  const cases: { name: string; args: Partial<Parameters<typeof verifyWebhookSignature>[0]>; ok: boolean }[] =
    [
      { name: 'accepts the right signature', args: {}, ok: true },
      {
        name: 'accepts it among several (secret rotation)',
        args: { signature: `v1=${'0'.repeat(64)}, ${sig}` },
        ok: true,
      },
      { name: 'refuses another secret', args: { secret: 'another-secret-0123456789' }, ok: false },
      { name: 'refuses a changed body', args: { body: '{"event":"job.failed"}' }, ok: false },
      { name: 'refuses a changed timestamp', args: { timestamp: ts + 1 }, ok: false },
      {
        name: 'refuses a timestamp older than the tolerance (a replay)',
        args: { now: new Date(now.getTime() + 301_000) },
        ok: false,
      },
      {
        name: 'accepts a timestamp within the tolerance',
        args: { now: new Date(now.getTime() + 299_000) },
        ok: true,
      },
      { name: 'refuses a missing signature', args: { signature: undefined }, ok: false },
      { name: 'refuses a malformed signature', args: { signature: 'v1=zz' }, ok: false },
      { name: 'refuses a missing timestamp', args: { timestamp: undefined }, ok: false },
    ];
  for (const c of cases) {
    it(c.name, () => {
      expect(
        verifyWebhookSignature({ secret: SECRET, timestamp: ts, body, signature: sig, now, ...c.args }),
      ).toBe(c.ok);
    });
  }
});

describe('private callback hosts', () => {
  const cases: [string, boolean][] = [
    ['127.0.0.1', true],
    ['10.1.2.3', true],
    ['172.20.0.1', true],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['0.0.0.0', true],
    ['::1', true],
    ['::', true],
    ['fd00::1', true],
    ['fe80::1', true],
    ['::ffff:127.0.0.1', true],
    ['93.184.216.34', false],
    ['2606:4700::1111', false],
    ['example.com', false],
  ];
  for (const [addr, priv] of cases)
    it(`${addr} is ${priv ? '' : 'not '}private`, () => expect(isPrivateAddress(addr)).toBe(priv));

  it('refuses a loopback callback when private callbacks are not allowed, without sending', async () => {
    const r = await receiver(() => 200);
    const jobs = await storeWith(completedJob(r.url));
    const result = await deliver(jobs, settings({ allowPrivate: false }));
    expect(result).toMatchObject({ outcome: 'gave-up', attempts: 1 });
    expect(r.requests).toHaveLength(0);
    const job = (await jobs.get('job_w1'))!;
    expect(job.notifications).toHaveLength(1);
    expect(job.notifications[0]!.error).toMatch(/ALLOW_PRIVATE_CALLBACKS/);
  });

  it('refuses a host name that resolves to loopback (checked at connect time)', async () => {
    const r = await receiver(() => 200);
    const jobs = await storeWith(completedJob(r.url.replace('127.0.0.1', 'localhost')));
    const result = await deliver(jobs, settings({ allowPrivate: false }));
    expect(result).toMatchObject({ outcome: 'gave-up', attempts: 1 });
    expect(r.requests).toHaveLength(0);
    expect((await jobs.get('job_w1'))!.notifications[0]!.error).toMatch(/private or loopback/);
  });
});

describe('webhook delivery', () => {
  it('POSTs the signed JSON payload that verifyWebhookSignature accepts', async () => {
    const r = await receiver(() => 204);
    const jobs = await storeWith(completedJob(r.url));
    const result = await deliver(jobs, settings());
    expect(result).toEqual({ outcome: 'delivered', attempts: 1 });
    const [req] = r.requests;
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.headers['reelbus-event-id']).toBe('job.completed:job_w1');
    expect(
      verifyWebhookSignature({
        secret: SECRET,
        timestamp: req!.headers['reelbus-timestamp'] as string,
        signature: req!.headers['reelbus-signature'] as string,
        body: req!.body,
      }),
    ).toBe(true);
    const payload = JSON.parse(req!.body) as WebhookPayload;
    expect(payload).toEqual({
      event: 'job.completed',
      jobId: 'job_w1',
      status: 'completed',
      outputs: completedJob(r.url).outputs,
      warnings: ['callee clip is a placeholder'],
      error: null,
      fallback: null,
      fallbackReason: null,
      origin: null,
      testMode: false,
      cancel: null,
      occurredAt: '2026-01-01T00:00:45.000Z',
    });
    const job = (await jobs.get('job_w1'))!;
    expect(job.notifications).toMatchObject([
      { url: r.url, event: 'job.completed', attempt: 1, ok: true, status: 204 },
    ]);
  });

  it('retries a receiver that fails twice, then records three attempts and the delivery', async () => {
    const r = await receiver((n) => (n <= 2 ? 503 : 200));
    const jobs = await storeWith(completedJob(r.url));
    const result = await deliver(jobs, settings());
    expect(result).toEqual({ outcome: 'delivered', attempts: 3 });
    const job = (await jobs.get('job_w1'))!;
    expect(job.notifications.map((n) => [n.attempt, n.ok, n.status])).toEqual([
      [1, false, 503],
      [2, false, 503],
      [3, true, 200],
    ]);
    // Re-signed per attempt; the body is the same every time.
    expect(new Set(r.requests.map((q) => q.body)).size).toBe(1);
  });

  it('retries 429 and 408 (the receiver asks to come back)', async () => {
    const r = await receiver((n) => [429, 408, 200][n - 1]!);
    const jobs = await storeWith(completedJob(r.url));
    expect(await deliver(jobs, settings())).toEqual({ outcome: 'delivered', attempts: 3 });
  });

  it('gives up after one attempt when the receiver answers 400', async () => {
    const r = await receiver(() => 400);
    const jobs = await storeWith(completedJob(r.url));
    const result = await deliver(jobs, settings());
    expect(result).toMatchObject({ outcome: 'gave-up', attempts: 1 });
    expect(r.requests).toHaveLength(1);
    const job = (await jobs.get('job_w1'))!;
    expect(job.notifications).toMatchObject([
      { attempt: 1, ok: false, status: 400, error: 'receiver answered HTTP 400' },
    ]);
    expect(job.warnings.at(-1)).toMatch(
      /job.completed webhook to .* failed after 1 attempt: receiver answered HTTP 400/,
    );
  });

  it('records a timeout for a receiver that never answers, and gives up after its attempts', async () => {
    const r = await receiver(() => 'hang');
    const jobs = await storeWith(completedJob(r.url));
    const started = Date.now();
    const result = await deliver(jobs, settings({ timeoutMs: 300, attempts: 2 }));
    expect(result).toMatchObject({ outcome: 'gave-up', attempts: 2 });
    expect(Date.now() - started).toBeLessThan(5_000);
    const job = (await jobs.get('job_w1'))!;
    expect(job.notifications.map((n) => [n.attempt, n.ok, n.error])).toEqual([
      [1, false, 'no answer within 300 ms (timed out)'],
      [2, false, 'no answer within 300 ms (timed out)'],
    ]);
  });

  it('records a refused connection and retries it', async () => {
    const r = await receiver(() => 200);
    const url = r.url;
    await cleanups.pop()!();
    const jobs = await storeWith(completedJob(url));
    const result = await deliver(jobs, settings({ attempts: 2 }));
    expect(result).toMatchObject({ outcome: 'gave-up', attempts: 2 });
    expect((await jobs.get('job_w1'))!.notifications[0]!.error).toMatch(/ECONNREFUSED/);
  });

  it('sends nothing when the job has no callbackUrl or is not in the event status', async () => {
    const r = await receiver(() => 200);
    const noUrl = await storeWith(completedJob(r.url, { callbackUrl: undefined }));
    expect(await deliver(noUrl, settings())).toMatchObject({ outcome: 'skipped' });
    const completed = await storeWith(completedJob(r.url));
    expect(await deliver(completed, settings(), 'job.failed')).toMatchObject({
      outcome: 'skipped',
      reason: 'the job is completed, not failed',
    });
    expect(r.requests).toHaveLength(0);
  });

  it('lets only one of two messages send at once; the other skips', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const r = await receiver(() => gate.then(() => 200));
    const jobs = await storeWith(completedJob(r.url));
    const first = deliver(jobs, settings(), 'job.completed', 'job.completed:job_w1');
    await r.waitFor(1); // the first delivery holds the claim and waits for the receiver
    expect(await deliver(jobs, settings(), 'job.completed', 'some-late-job.progress')).toEqual({
      outcome: 'skipped',
      attempts: 0,
      reason: 'the job.completed webhook is being sent by another worker',
    });
    release();
    expect(await first).toEqual({ outcome: 'delivered', attempts: 1 });
    expect(await deliver(jobs, settings())).toMatchObject({
      outcome: 'skipped',
      reason: 'the job.completed webhook was sent before',
    });
    expect(r.requests).toHaveLength(1);
  });

  it('lets the redelivered message of a worker that died take over its own claim', async () => {
    const r = await receiver(() => 200);
    const until = new Date(Date.now() + 60_000).toISOString();
    const job = completedJob(r.url);
    const jobs = await storeWith({
      ...job,
      state: {
        notifier: {
          ...(job.state.notifier as object),
          webhooks: { 'job.completed': { owner: 'job.completed:job_w1', until } },
        },
      },
    });
    expect(await deliver(jobs, settings(), 'job.completed', 'other-message')).toMatchObject({
      outcome: 'skipped',
    });
    expect(await deliver(jobs, settings(), 'job.completed', 'job.completed:job_w1')).toEqual({
      outcome: 'delivered',
      attempts: 1,
    });
    expect(r.requests).toHaveLength(1);
  });
});

describe('webhook under redelivery (handlers)', () => {
  const fakeCtx = () => recordingContext();

  const completedEvent = (): EventOf<'job.completed'> => ({
    id: 'job.completed:job_w1',
    type: 'job.completed',
    version: 1,
    jobId: 'job_w1',
    occurredAt: '2026-01-01T00:00:45.000Z',
    data: {
      outputs: { video: { key: 'jobs/job_w1/final.mp4', durationSec: 12.5, sizeBytes: 4242 } },
      warnings: [],
    },
  });

  it('a redelivered job.completed does not send a second webhook', async () => {
    const r = await receiver((n) => (n === 1 ? 500 : 200));
    const jobs = await storeWith({ ...completedJob(r.url), status: 'running', progress: 95 });
    const handlers = notifierHandlers({ jobs, webhook: settings() });
    const ctx = fakeCtx();
    expect(await handlers['job.completed']!.handle(completedEvent(), ctx)).toEqual({ outcome: 'ok' });
    const again = await handlers['job.completed']!.handle(completedEvent(), { ...ctx, deliveryCount: 2 });
    expect(again).toEqual({ outcome: 'ok' }); // projected (no change), nothing owed
    expect(r.requests).toHaveLength(2); // one failure, one delivery, nothing for the redelivery
    const job = (await jobs.get('job_w1'))!;
    expect(job.status).toBe('completed');
    expect(job.notifications.filter((n) => n.ok)).toHaveLength(1);
    expect(ctx.workingCalls).toBeGreaterThanOrEqual(2);
  });

  it('sends the job.failed webhook from a late recording.received that brings the callbackUrl', async () => {
    const r = await receiver(() => 200);
    const jobs = new MemoryJobStore();
    const handlers = notifierHandlers({ jobs, webhook: settings() });
    const failedEvent: EventOf<'job.failed'> = {
      id: 'failed-1',
      type: 'job.failed',
      version: 1,
      jobId: 'job_w2',
      occurredAt: '2026-01-01T00:00:05.000Z',
      data: { step: 'split', reason: 'the recording is empty', permanent: true },
    };
    expect(await handlers['job.failed']!.handle(failedEvent, fakeCtx())).toEqual({ outcome: 'ok' });
    expect(r.requests).toHaveLength(0); // no callbackUrl known yet
    const received: EventOf<'recording.received'> = {
      id: 'rec-1',
      type: 'recording.received',
      version: 1,
      jobId: 'job_w2',
      occurredAt: '2026-01-01T00:00:01.000Z',
      data: { source: 'bus', recording: { key: 'jobs/job_w2/input/recording.wav' }, callbackUrl: r.url },
    };
    expect(await handlers['recording.received']!.handle(received, fakeCtx())).toEqual({ outcome: 'ok' });
    expect(r.requests).toHaveLength(1);
    expect(r.requests[0]!.headers['reelbus-event-id']).toBe('failed-1');
    expect(JSON.parse(r.requests[0]!.body)).toMatchObject({
      event: 'job.failed',
      status: 'failed',
      occurredAt: '2026-01-01T00:00:05.000Z',
      error: { step: 'split' },
    });
    const job = (await jobs.get('job_w2'))!;
    expect(job.kind).toBe('call');
  });

  it('a cancelled test-mode job gets one job.cancelled webhook with testMode and who cancelled it', async () => {
    const r = await receiver(() => 200);
    const jobs = await storeWith({ ...completedJob(r.url), status: 'running', outputs: {}, testMode: true });
    const handlers = notifierHandlers({ jobs, webhook: settings() });
    const cancelled: EventOf<'job.cancelled'> = {
      id: 'job.cancelled:job_w1',
      type: 'job.cancelled',
      version: 1,
      jobId: 'job_w1',
      occurredAt: '2026-01-01T00:00:30.000Z',
      testMode: true,
      data: { by: 'alice', reason: 'wrong file' },
    };
    expect(await handlers['job.cancelled']!.handle(cancelled, fakeCtx())).toEqual({ outcome: 'ok' });
    await handlers['job.cancelled']!.handle(cancelled, { ...fakeCtx(), deliveryCount: 2 });
    // A completion racing the cancel changes nothing and sends nothing.
    await handlers['job.completed']!.handle(completedEvent(), fakeCtx());
    expect(r.requests).toHaveLength(1);
    expect(r.requests[0]!.headers['reelbus-event-id']).toBe('job.cancelled:job_w1');
    expect(JSON.parse(r.requests[0]!.body)).toMatchObject({
      event: 'job.cancelled',
      status: 'cancelled',
      testMode: true,
      cancel: { by: 'alice', reason: 'wrong file', requestedAt: '2026-01-01T00:00:30.000Z' },
      occurredAt: '2026-01-01T00:00:30.000Z',
    });
    expect((await jobs.get('job_w1'))!).toMatchObject({
      status: 'cancelled',
      finishedAt: '2026-01-01T00:00:30.000Z',
    });
  });

  it('an event of a deleted job does not bring its document back', async () => {
    const jobs = new MemoryJobStore();
    const handlers = notifierHandlers({
      jobs,
      webhook: settings(),
      deleted: { get: async (id) => (id === 'job_gone' ? { at: '2026-01-01T00:00:00.000Z' } : undefined) },
    });
    const cancelled: EventOf<'job.cancelled'> = {
      id: 'job.cancelled:job_gone',
      type: 'job.cancelled',
      version: 1,
      jobId: 'job_gone',
      occurredAt: '2026-01-01T00:00:30.000Z',
      data: {},
    };
    expect(await handlers['job.cancelled']!.handle(cancelled, fakeCtx())).toMatchObject({ outcome: 'skip' });
    expect(await jobs.get('job_gone')).toBeUndefined();
  });

  it('does not retry a given-up delivery when the event is redelivered', async () => {
    const r = await receiver(() => 410);
    const jobs = await storeWith({ ...completedJob(r.url), status: 'running' });
    const handlers = notifierHandlers({ jobs, webhook: settings() });
    const first = await handlers['job.completed']!.handle(completedEvent(), fakeCtx());
    expect(first).toMatchObject({ outcome: 'skip', reason: 'receiver answered HTTP 410' });
    await handlers['job.completed']!.handle(completedEvent(), fakeCtx());
    expect(r.requests).toHaveLength(1);
  });

  it('completes the job on video.encoded once, with the video and the warnings', async () => {
    const jobs = await storeWith({
      ...newJob({ id: 'job_w3', kind: 'call' }),
      status: 'running',
      warnings: ['w1'],
    });
    const handlers = notifierHandlers({ jobs, webhook: settings() });
    const encoded: EventOf<'video.encoded'> = {
      id: 'enc-1',
      type: 'video.encoded',
      version: 1,
      jobId: 'job_w3',
      occurredAt: '2026-01-01T00:00:40.000Z',
      data: {
        key: 'jobs/job_w3/final.mp4',
        durationSec: 9,
        sizeBytes: 99,
        width: 1280,
        height: 720,
        videoCodec: 'h264',
        audioCodec: 'aac',
        backend: 'ffmpeg',
        encodeSeconds: 2,
      },
    };
    const ctx = fakeCtx();
    expect(await handlers['video.encoded']!.handle(encoded, ctx)).toEqual({ outcome: 'ok' });
    expect(ctx.published).toEqual([
      {
        type: 'job.completed',
        jobId: 'job_w3',
        id: 'job.completed:job_w3',
        data: {
          outputs: {
            video: {
              key: 'jobs/job_w3/final.mp4',
              durationSec: 9,
              sizeBytes: 99,
              width: 1280,
              height: 720,
              contentType: 'video/mp4',
            },
          },
          warnings: ['w1'],
        },
      },
    ]);
    const completion = { ...completedEvent(), jobId: 'job_w3', id: 'job.completed:job_w3' };
    await handlers['job.completed']!.handle(completion, ctx);
    const again = fakeCtx();
    expect(await handlers['video.encoded']!.handle(encoded, again)).toEqual({
      outcome: 'skip',
      reason: 'the job is already completed',
    });
    expect(again.published).toEqual([]);
  });
});
