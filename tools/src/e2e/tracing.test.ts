import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recentNatsServerBinary, volumeStats } from '@reelbus/kit/testing';
import { makeSampleCall } from '../sample.ts';
import { jaegerLink } from '../trace.ts';
import { startE2E, type E2E } from './harness.ts';

// The whole stack exports spans over OTLP/HTTP (JSON) to a local receiver while a call runs end to
// end; the test checks that the job is one trace, hop after hop. Its NATS is a nats-server ≥ 2.10, as
// with docker compose and Kubernetes (the other e2e tests run the installed one, 2.9 on Debian bookworm).

/** OTLP JSON span kinds. */
const KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const;

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface CollectedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, string | number | boolean | undefined>;
}

function valueOf(v: OtlpValue): string | number | boolean | undefined {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  return v.boolValue;
}

function attrs(list: Array<{ key: string; value: OtlpValue }> = []) {
  return Object.fromEntries(list.map((a) => [a.key, valueOf(a.value)]));
}

/** A local OTLP/HTTP receiver: collects spans (JSON) from /v1/traces and metric payloads from /v1/metrics. */
async function startOtlpReceiver() {
  const spans: CollectedSpan[] = [];
  const metricBodies: string[] = [];
  const contentTypes = new Set<string>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      contentTypes.add(String(req.headers['content-type']));
      if (req.url === '/v1/traces') {
        const doc = JSON.parse(body) as {
          resourceSpans?: Array<{
            resource?: { attributes?: Array<{ key: string; value: OtlpValue }> };
            scopeSpans?: Array<{ spans?: Array<Record<string, unknown>> }>;
          }>;
        };
        for (const rs of doc.resourceSpans ?? []) {
          const service = String(attrs(rs.resource?.attributes)['service.name']);
          for (const ss of rs.scopeSpans ?? [])
            for (const s of ss.spans ?? [])
              spans.push({
                service,
                traceId: String(s.traceId),
                spanId: String(s.spanId),
                parentSpanId: String(s.parentSpanId ?? ''),
                name: String(s.name),
                kind: Number(s.kind),
                attributes: attrs(s.attributes as Array<{ key: string; value: OtlpValue }>),
              });
        }
      } else if (req.url === '/v1/metrics') {
        metricBodies.push(body);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    metricBodies,
    contentTypes,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A callback receiver: the notifier's webhook delivery is the trace's last span. */
async function startCallbackReceiver() {
  let count = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      count++;
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    count: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function until<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('tracing across the call pipeline', () => {
  let e2e: E2E;
  let otlp: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let hook: Awaited<ReturnType<typeof startCallbackReceiver>>;

  beforeAll(async () => {
    otlp = await startOtlpReceiver();
    hook = await startCallbackReceiver();
    e2e = await startE2E({
      natsBin: recentNatsServerBinary(),
      env: {
        LOG_LEVEL: 'info',
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        OTEL_BSP_SCHEDULE_DELAY: '200',
        OTEL_METRIC_EXPORT_INTERVAL: '1000',
        OTEL_LOGS_EXPORTER: 'none',
      },
      // The clip path real providers take, so the trace crosses the ai-generator (clip.requested →
      // clip.generated); the offline default draws the speakers in the Timeline instead.
      serviceEnv: { compositor: { CALL_LOCAL_RENDER: 'clips' } },
      // 13 notifier consumers and 7 processes take a while to be ready on a busy 2-core machine
      readyTimeoutMs: 150_000,
    });
  }, 240_000);
  afterAll(async () => {
    await e2e?.close();
    await hook?.close();
    await otlp?.close();
  });

  it('runs the embedded NATS (nats-server ≥ 2.10) with fsync on every write', () => {
    expect(e2e.stack.natsServer).toMatchObject({ syncAlways: true });
    expect(e2e.logs.some((l) => l.includes('JetStream fsyncs every write (sync_interval: always)'))).toBe(
      true,
    );
  });

  it('makes one job one trace, from the upload request to the webhook delivery, with every bus hop linked', async () => {
    const sample = makeSampleCall({ file: join(e2e.dir, 'call.wav') });
    const { jobId } = await e2e.client.submitRecording({ file: sample.file, callbackUrl: hook.url });
    let last: unknown;
    const job = await e2e.client
      .follow(jobId, (j) => (last = j), { pollMs: 250, signal: AbortSignal.timeout(150_000) })
      .catch((err: Error) => {
        throw new Error(
          `${err.message}; job: ${JSON.stringify(last)}\n${e2e.logs
            .filter((l) => /"level":(40|50)/.test(l))
            .slice(-20)
            .join('\n')}`,
        );
      });
    expect(job.status, JSON.stringify(job.error)).toBe('completed');

    // On this clip path the speaker clips carry their speaker's sound; the call layout mutes them
    // (volume 0), so each side of the video is as loud as the recording, not doubled.
    const video = join(e2e.stack.blobDir, job.outputs.video!.key);
    for (const channel of [0, 1] as const) {
      const out = volumeStats({ file: video, channel }).meanDb;
      const rec = volumeStats({ file: sample.file, channel }).meanDb;
      expect(Math.abs(out - rec), `channel ${channel}: ${out} vs ${rec} dB`).toBeLessThan(1);
    }

    // The job document keeps the trace id the ingest request started; the CLI links it to Jaeger.
    const traceId = job.traceId!;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(jaegerLink({ jaegerUrl: 'http://jaeger:16686/', traceId })).toBe(
      `http://jaeger:16686/trace/${traceId}`,
    );

    // Wait for the last span of the trace: the notifier's webhook delivery (after the callback got it).
    await until('the webhook', () => hook.count() > 0);
    await until('the webhook span', () =>
      otlp.spans.find((s) => s.traceId === traceId && s.name === 'webhook job.completed'),
    );
    await until('the consumer span of job.completed', () =>
      otlp.spans.find(
        (s) =>
          s.traceId === traceId &&
          s.kind === KIND.CONSUMER &&
          String(s.attributes['messaging.destination.name']).endsWith('job.completed'),
      ),
    );
    expect([...otlp.contentTypes]).toContain('application/json');

    // One trace id for the job: every event published for it is in that trace.
    const forJob = otlp.spans.filter((s) => s.attributes['reelbus.job_id'] === jobId);
    expect(forJob.length).toBeGreaterThan(10);
    expect(new Set(forJob.map((s) => s.traceId))).toEqual(new Set([traceId]));

    const trace = otlp.spans.filter((s) => s.traceId === traceId);
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    expect([...new Set(trace.map((s) => s.service))].sort()).toEqual(
      expect.arrayContaining([
        'ai-generator',
        'audio-splitter',
        'compositor',
        'encoder',
        'ingest',
        'notifier',
      ]),
    );

    // The root is ingest's HTTP SERVER span; recording.received is published under it.
    const roots = trace.filter((s) => !s.parentSpanId);
    expect(roots).toHaveLength(1);
    const root = roots[0]!;
    expect(root).toMatchObject({ service: 'ingest', kind: KIND.SERVER });
    expect(root.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/v1/recordings',
      'http.response.status_code': 202,
    });
    const received = trace.find(
      (s) =>
        s.kind === KIND.PRODUCER &&
        String(s.attributes['messaging.destination.name']).endsWith('recording.received'),
    )!;
    expect(byId.get(received.parentSpanId)?.spanId).toBe(root.spanId);

    // Every CONSUMER span's parent is the PRODUCER span of the message it handled, in this trace.
    const consumers = trace.filter((s) => s.kind === KIND.CONSUMER);
    expect(consumers.length).toBeGreaterThanOrEqual(8);
    for (const c of consumers) {
      const parent = byId.get(c.parentSpanId);
      expect(parent?.kind, `${c.service} ${c.name}`).toBe(KIND.PRODUCER);
      expect(parent!.attributes['messaging.destination.name']).toBe(
        c.attributes['messaging.destination.name'],
      );
      expect(parent!.attributes['messaging.message.id']).toBe(c.attributes['messaging.message.id']);
      expect(c.attributes).toMatchObject({
        'messaging.system': 'nats',
        'messaging.operation.type': 'process',
      });
      expect(c.attributes['messaging.nats.message.delivery_count']).toBeGreaterThanOrEqual(1);
      expect(String(c.attributes['messaging.consumer.group.name'])).toContain(c.service);
    }
    // The hops of the call pipeline each appear as producer → consumer pairs.
    const hops = new Set(
      consumers.map(
        (c) =>
          `${byId.get(c.parentSpanId)!.service}→${c.service}:${String(c.attributes['messaging.destination.name']).split('.').slice(-2).join('.')}`,
      ),
    );
    for (const hop of [
      'ingest→audio-splitter:recording.received',
      'audio-splitter→compositor:audio.split',
      'compositor→ai-generator:clip.requested',
      'ai-generator→compositor:clip.generated',
      'compositor→encoder:timeline.ready',
      'encoder→notifier:video.encoded',
      'notifier→notifier:job.completed',
    ]) {
      expect(hops, hop).toContain(hop);
    }

    // ffmpeg runs are spans of their step, inside a handler's span.
    const ffmpeg = trace.filter((s) => s.name.startsWith('ffmpeg '));
    expect(new Set(ffmpeg.map((s) => s.service))).toContain('encoder');
    for (const f of ffmpeg) expect(byId.get(f.parentSpanId), f.name).toBeDefined();
    const encode = ffmpeg.find((s) => s.service === 'encoder')!;
    expect(encode.attributes).toMatchObject({ 'process.exit.code': 0, 'ffmpeg.video.codec': 'libx264' });
    expect(Number(encode.attributes['reelbus.ffmpeg.real_time_factor'])).toBeGreaterThan(0);

    // The webhook delivery is a CLIENT span of the notifier, the latest span to end in the trace.
    const webhook = trace.find((s) => s.name === 'webhook job.completed')!;
    expect(webhook).toMatchObject({ service: 'notifier', kind: KIND.CLIENT });
    expect(webhook.attributes).toMatchObject({
      'http.response.status_code': 200,
      'reelbus.webhook.outcome': 'delivered',
    });

    // Metrics go out over OTLP too, and every service serves them for Prometheus.
    await until('OTLP metrics', () =>
      otlp.metricBodies.some((b) => b.includes('reelbus_messages_handled_total')),
    );
    const encoder = e2e.stack.processes.find((p) => p.service === 'encoder')!;
    const text = await (await fetch(`http://127.0.0.1:${encoder.healthPort}/metrics`)).text();
    expect(text).toContain('# TYPE reelbus_message_handling_seconds histogram');
    expect(text).toMatch(/^reelbus_messages_handled_total\{service="encoder",type="timeline.ready"\} 1$/m);
    expect(text).toMatch(/^reelbus_ffmpeg_real_time_factor_count\{step="[a-z-]+"\} [1-9]/m);
    // The lag gauge is sampled every 5 s: it may still show the message that has since been handled.
    const lagLine =
      /^reelbus_consumer_pending_messages\{service="encoder",type="timeline.ready",consumer="[^"]+"\} (\d+)$/m;
    expect(text).toMatch(lagLine);
    await until('the lag gauge to show the handled message gone', async () => {
      const now = await (await fetch(`http://127.0.0.1:${encoder.healthPort}/metrics`)).text();
      return lagLine.exec(now)?.[1] === '0';
    });
  }, 240_000);
});
