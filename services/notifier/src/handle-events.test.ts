import type { EventDataInput, EventType, Job } from '@reelbus/contracts';
import { Bus, KvJobStore, type Consumer } from '@reelbus/kit';
import { randomNamespace, startNatsServer, type NatsServerHandle } from '@reelbus/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifierConcurrency, notifierHandlers } from './handle-events.ts';
import { startReceiver } from './test-support.ts';
import { verifyWebhookSignature, type WebhookPayload } from './webhook.ts';

// Integration: a real nats-server, the kit's real Bus (consume loop, one durable consumer per type)
// and the real KvJobStore. Events are published the way any other publisher would.

const SECRET = 'integration-secret-0123456789';
let server: NatsServerHandle;
let bus: Bus;
let jobs: KvJobStore;
let consumer: Consumer;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let failNext = 0;

beforeAll(async () => {
  server = await startNatsServer();
  bus = await Bus.connect({ servers: server.url, namespace: randomNamespace(), name: 'notifier-test' });
  await bus.ensureStreams();
  jobs = await KvJobStore.open({ nc: bus.nc, bucket: bus.names.jobsBucket });
  receiver = await startReceiver(() => (failNext-- > 0 ? 503 : 200));
  consumer = await bus.consume({
    service: 'notifier',
    concurrency: notifierConcurrency(1),
    handlers: notifierHandlers({
      jobs,
      webhook: { secret: SECRET, timeoutMs: 2_000, attempts: 3, backoffMs: 20, allowPrivate: true },
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

/** Polls the store until `check` passes (there is no event for "the projection caught up"). */
async function jobWhen(id: string, check: (j: Job) => boolean, timeoutMs = 20_000): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  let last: Job | undefined;
  while (Date.now() < deadline) {
    last = await jobs.get(id);
    if (last && check(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `job ${id} did not reach the expected state in ${timeoutMs} ms; last: ${JSON.stringify(last, null, 2)}`,
  );
}

/** Waits until the notifier's consumer of `type` has acked everything published so far. */
async function consumerDrained(type: EventType, timeoutMs = 20_000): Promise<void> {
  const name = bus.names.consumerName('notifier', type);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const info = await bus.jsm.consumers.info(bus.names.eventsStream, name);
    if (info.num_pending === 0 && info.num_ack_pending === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`consumer ${name} did not drain in ${timeoutMs} ms`);
}

const publish = <T extends EventType>(type: T, jobId: string, data: EventDataInput<T>, id?: string) =>
  bus.publish(type, jobId, data, id ? { id } : {});

async function runCallPipeline(jobId: string, callbackUrl: string): Promise<void> {
  await publish('recording.received', jobId, {
    source: 'bus',
    recording: { key: `jobs/${jobId}/input/recording.wav` },
    callbackUrl,
  });
  await publish('audio.split', jobId, {
    mode: 'stereo',
    source: {
      key: `jobs/${jobId}/input/recording.wav`,
      durationSec: 12,
      channels: 2,
      sampleRate: 8000,
      codec: 'pcm_s16le',
      sizeBytes: 192000,
    },
    channels: [
      { role: 'caller', key: `jobs/${jobId}/split/caller.wav`, durationSec: 12, silent: false },
      { role: 'callee', key: `jobs/${jobId}/split/callee.wav`, durationSec: 12, silent: false },
    ],
  });
  for (const role of ['caller', 'callee'] as const) {
    await publish(
      'clip.requested',
      jobId,
      { role, label: role, audioKey: `jobs/${jobId}/split/${role}.wav`, durationSec: 12, expectedClips: 2 },
      `clip.requested:${jobId}:${role}`,
    );
  }
  for (const role of ['caller', 'callee'] as const) {
    await publish(
      'clip.generated',
      jobId,
      {
        role,
        key: `jobs/${jobId}/clips/${role}.mp4`,
        durationSec: 12,
        width: 640,
        height: 720,
        provider: 'local',
        expectedClips: 2,
      },
      `clip.generated:${jobId}:${role}`,
    );
  }
  await publish('job.warning', jobId, { step: 'generate', message: 'callee: placeholder card used' });
  await publish(
    'timeline.ready',
    jobId,
    { kind: 'call', timeline: { version: 1, duration: 12 } },
    `timeline.ready:${jobId}`,
  );
  await publish('job.progress', jobId, { step: 'encode', status: 'started' });
  await publish('job.progress', jobId, { step: 'encode', status: 'running', percent: 50 });
  await publish('video.encoded', jobId, {
    key: `jobs/${jobId}/final.mp4`,
    durationSec: 12,
    sizeBytes: 654321,
    width: 1280,
    height: 720,
    videoCodec: 'h264',
    audioCodec: 'aac',
    backend: 'ffmpeg',
    encodeSeconds: 3,
    cpuSeconds: 5,
  });
}

describe('notifier on a real bus and job store', () => {
  it('gives a bus-only call job a document, completes it on video.encoded and sends one signed webhook', async () => {
    failNext = 1; // the receiver fails once: the retry is recorded
    const before = receiver.requests.length;
    await runCallPipeline('bus_call_1', receiver.url);

    const job = await jobWhen(
      'bus_call_1',
      (j) => j.status === 'completed' && j.notifications.some((n) => n.ok),
    );
    expect(job.kind).toBe('call');
    expect(job.progress).toBe(100);
    for (const step of ['ingest', 'split', 'generate', 'compose', 'encode', 'notify'])
      expect(job.steps[step]?.status, step).toBe('completed');
    expect(job.outputs.video).toEqual({
      key: 'jobs/bus_call_1/final.mp4',
      durationSec: 12,
      sizeBytes: 654321,
      width: 1280,
      height: 720,
      contentType: 'video/mp4',
    });
    expect(job.cost).toEqual({ backend: 'ffmpeg', cpuSeconds: 5 });
    expect(job.warnings).toContain('callee: placeholder card used');
    expect(job.notifications.map((n) => [n.attempt, n.ok, n.status])).toEqual([
      [1, false, 503],
      [2, true, 200],
    ]);

    const sent = receiver.requests.slice(before);
    expect(sent).toHaveLength(2);
    const last = sent[1]!;
    expect(last.headers['reelbus-event-id']).toBe('job.completed:bus_call_1');
    expect(
      verifyWebhookSignature({
        secret: SECRET,
        timestamp: last.headers['reelbus-timestamp'] as string,
        signature: last.headers['reelbus-signature'] as string,
        body: last.body,
      }),
    ).toBe(true);
    const payload = JSON.parse(last.body) as WebhookPayload;
    expect(payload).toMatchObject({
      event: 'job.completed',
      jobId: 'bus_call_1',
      status: 'completed',
      error: null,
      fallback: null,
      fallbackReason: null,
      origin: null,
    });
    expect(payload.outputs.video?.width).toBe(1280);
    expect(payload.warnings).toContain('callee: placeholder card used');
  });

  it('sends no second webhook when job.completed arrives again', async () => {
    await runCallPipeline('bus_call_2', receiver.url);
    await jobWhen('bus_call_2', (j) => j.notifications.some((n) => n.ok));
    const after = receiver.requests.length;
    // A second job.completed (another publisher, or a redelivery past JetStream's dedupe window).
    await publish(
      'job.completed',
      'bus_call_2',
      { outputs: {}, warnings: [] },
      'job.completed:bus_call_2:again',
    );
    await consumerDrained('job.completed');
    const forDuplicate = receiver.requests
      .slice(after)
      .filter((r) => (JSON.parse(r.body) as WebhookPayload).jobId === 'bus_call_2');
    expect(forDuplicate).toHaveLength(0);
    const job = (await jobs.get('bus_call_2'))!;
    expect(job.notifications.filter((n) => n.ok)).toHaveLength(1);
  });

  it('fails the job on job.failed and tells the callback why', async () => {
    const before = receiver.requests.length;
    await publish('recording.received', 'bus_call_3', {
      source: 'bus',
      recording: { key: 'jobs/bus_call_3/input/recording.wav' },
      callbackUrl: receiver.url,
    });
    await publish('job.progress', 'bus_call_3', { step: 'split', status: 'started' });
    await publish('job.failed', 'bus_call_3', {
      step: 'split',
      reason: 'the recording is empty (0 bytes): upload a WAV or MP3 with sound',
      permanent: true,
    });
    const job = await jobWhen(
      'bus_call_3',
      (j) => j.status === 'failed' && j.notifications.some((n) => n.ok),
    );
    expect(job.error).toEqual({
      step: 'split',
      reason: 'the recording is empty (0 bytes): upload a WAV or MP3 with sound',
    });
    expect(job.steps.split?.status).toBe('failed');
    const payload = JSON.parse(receiver.requests.slice(before).at(-1)!.body) as WebhookPayload;
    expect(payload).toMatchObject({
      event: 'job.failed',
      jobId: 'bus_call_3',
      status: 'failed',
      error: job.error,
    });
  });

  it('takes the kind of a job that starts with a bus-published Timeline from the event', async () => {
    await publish('timeline.ready', 'bus_timeline_1', {
      kind: 'merge',
      timeline: { version: 1, duration: 5 },
    });
    const job = await jobWhen('bus_timeline_1', (j) => j.steps.compose?.status === 'completed');
    expect(job.kind).toBe('merge');
    expect(job.status).toBe('running');
  });
});
