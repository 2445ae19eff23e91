import { PassThrough } from 'node:stream';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransientError } from '../errors.ts';
import { METRIC, metrics } from '../health/metrics.ts';
import { createLogger } from '../logger.ts';
import { startTelemetry, type Telemetry } from '../telemetry/telemetry.ts';
import { withSpan } from '../telemetry/spans.ts';
import { randomNamespace, startNatsServer, type NatsServerHandle } from '../testing/nats.ts';
import { Bus } from './bus.ts';
import { deferred, waitFor } from './test-helpers.ts';

// Trace context and metrics across a real nats-server: the consume loop's CONSUMER span is a child of
// the publisher's PRODUCER span, on the first delivery and on a redelivery alike.

let server: NatsServerHandle;
let telemetry: Telemetry;
const exporter = new InMemorySpanExporter();

beforeAll(async () => {
  server = await startNatsServer();
  telemetry = await startTelemetry({
    serviceName: 'tracing-test',
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
});

afterAll(async () => {
  await telemetry?.shutdown();
  await server?.stop();
});

const spans = () => exporter.getFinishedSpans();
const KIND = { PRODUCER: 3, CONSUMER: 4, CLIENT: 2 } as const;

describe('bus tracing and metrics', () => {
  it('makes each redelivery of a message a child of the same producer span, with messaging attributes', async () => {
    const ns = randomNamespace();
    const lines: string[] = [];
    const out = new PassThrough();
    out.on('data', (b: Buffer) => lines.push(...b.toString().split('\n').filter(Boolean)));
    const bus = await Bus.connect({
      servers: server.url,
      namespace: ns,
      name: 'trace-test',
      logger: createLogger({ service: 'trace-test', level: 'info', destination: out }),
    });
    await bus.ensureStreams();
    const seen: Array<{ delivery: number; traceId: string | undefined }> = [];
    const done = deferred();
    const consumer = await bus.consume({
      service: 'flaky',
      backoffMs: [50],
      lagIntervalMs: 100,
      handlers: {
        'job.warning': {
          step: 'notify',
          handle: async (e, ctx) => {
            seen.push({ delivery: ctx.deliveryCount, traceId: ctx.traceId });
            ctx.logger.info({ marker: 'in-handler' }, 'handling');
            if (ctx.deliveryCount === 1) throw new TransientError('first attempt fails on purpose');
            await ctx.publish('job.progress', e.jobId, { step: 'notify', status: 'completed' });
            done.resolve();
          },
        },
      },
    });
    try {
      const published = await withSpan('test root', {}, () =>
        bus.publish(
          'job.warning',
          'job_trace_1',
          { step: 'split', message: 'hello' },
          { id: 'w:job_trace_1' },
        ),
      );
      await done.promise;
      await waitFor(() => spans().filter((s) => s.kind === KIND.CONSUMER).length >= 2, {
        what: 'two consumer spans',
      });

      const subject = bus.names.eventSubject('job.warning');
      const producer = spans().find(
        (s) => s.kind === KIND.PRODUCER && s.attributes['messaging.destination.name'] === subject,
      )!;
      expect(producer.attributes).toMatchObject({
        'messaging.system': 'nats',
        'messaging.operation.type': 'send',
        'messaging.message.id': published.id,
      });
      const consumers = spans()
        .filter((s) => s.kind === KIND.CONSUMER && s.attributes['messaging.destination.name'] === subject)
        .sort(
          (a, b) =>
            Number(a.attributes['messaging.nats.message.delivery_count']) -
            Number(b.attributes['messaging.nats.message.delivery_count']),
        );
      expect(consumers.map((c) => c.attributes['messaging.nats.message.delivery_count'])).toEqual([1, 2]);
      for (const c of consumers) {
        expect(c.spanContext().traceId).toBe(producer.spanContext().traceId);
        expect(c.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
        expect(c.attributes).toMatchObject({
          'messaging.system': 'nats',
          'messaging.operation.type': 'process',
          'messaging.message.id': published.id,
          'messaging.consumer.group.name': bus.names.consumerName('flaky', 'job.warning'),
        });
      }
      expect(consumers[0]!.status.code).toBe(2); // ERROR: the first attempt threw
      expect(consumers[0]!.attributes['reelbus.outcome']).toBe('retry');
      expect(consumers[1]!.attributes['reelbus.outcome']).toBe('ok');

      // The handler's own publish continues the trace under the second consumer span.
      const progressSubject = bus.names.eventSubject('job.progress');
      const next = await waitFor(() =>
        spans().find(
          (s) => s.kind === KIND.PRODUCER && s.attributes['messaging.destination.name'] === progressSubject,
        ),
      );
      expect(next.parentSpanContext?.spanId).toBe(consumers[1]!.spanContext().spanId);

      // A log line written while handling carries the span's trace id.
      const traceId = producer.spanContext().traceId;
      expect(seen.map((s) => s.traceId)).toEqual([traceId, traceId]);
      const logged = lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l.marker === 'in-handler');
      expect(logged).toHaveLength(2);
      for (const l of logged) expect(l.traceId).toBe(traceId);

      // Metrics: one retry, one handled, a duration per settlement, and the consumer's lag read.
      const labels = { service: 'flaky', type: 'job.warning' };
      expect(metrics.value(METRIC.failed, labels)).toBe(1);
      expect(metrics.value(METRIC.handled, labels)).toBe(1);
      expect(metrics.value(METRIC.handlingSeconds, { ...labels, outcome: 'retry' })).toBe(1);
      expect(metrics.value(METRIC.handlingSeconds, { ...labels, outcome: 'ok' })).toBe(1);
      const lagLabels = { ...labels, consumer: bus.names.consumerName('flaky', 'job.warning') };
      await waitFor(() => metrics.render().includes(`${METRIC.consumerPending}{service="flaky"`), {
        what: 'the lag gauge',
      });
      expect(metrics.value(METRIC.consumerPending, lagLabels)).toBe(0);
    } finally {
      await consumer.stop(0);
      await bus.close();
    }
  });

  it('counts consumer lag while messages wait', async () => {
    const ns = randomNamespace();
    const bus = await Bus.connect({ servers: server.url, namespace: ns, name: 'lag-test' });
    await bus.ensureStreams();
    for (let i = 0; i < 3; i++)
      await bus.publish('job.warning', `job_lag_${i}`, { step: 'split', message: 'x' });
    const release = deferred();
    const started = deferred();
    const consumer = await bus.consume({
      service: 'slow',
      concurrency: 1,
      lagIntervalMs: 50,
      handlers: {
        'job.warning': {
          step: 'notify',
          handle: async () => {
            started.resolve();
            await release.promise;
          },
        },
      },
    });
    try {
      await started.promise;
      const lagLabels = {
        service: 'slow',
        type: 'job.warning',
        consumer: bus.names.consumerName('slow', 'job.warning'),
      };
      await waitFor(() => metrics.value(METRIC.consumerPending, lagLabels) === 2, { what: 'lag of 2' });
      expect(metrics.value(METRIC.consumerAckPending, lagLabels)).toBe(1);
      expect(metrics.value(METRIC.inFlight, { service: 'slow', type: 'job.warning' })).toBe(1);
    } finally {
      release.resolve();
      await consumer.stop(1_000);
      await bus.close();
    }
  });

  it("carries a test-mode job's flag from message to message, and tags its spans", async () => {
    const ns = randomNamespace();
    const bus = await Bus.connect({ servers: server.url, namespace: ns, name: 'test-mode' });
    await bus.ensureStreams();
    const seen = deferred<{ testMode: boolean }>();
    const consumer = await bus.consume({
      service: 'worker',
      handlers: {
        'job.warning': {
          step: 'split',
          handle: async (e, ctx) => {
            await ctx.publish('job.progress', e.jobId, { step: 'split', status: 'completed' });
            await ctx.progress('split', 'running', 50);
            seen.resolve({ testMode: ctx.testMode });
          },
        },
      },
    });
    try {
      const first = await bus.publish(
        'job.warning',
        'job_test_mode',
        { step: 'split', message: 'a test run' },
        { testMode: true },
      );
      expect(first.testMode).toBe(true);
      expect((await seen.promise).testMode).toBe(true);
      const progress = await waitFor(
        async () => {
          const out = [];
          for (let seq = 1; seq <= 3; seq++) {
            const m = await bus.jsm.streams.getMessage(bus.names.eventsStream, { seq }).catch(() => null);
            if (m) out.push(m.json<{ type: string; testMode?: boolean }>());
          }
          return out.length === 3 ? out : undefined;
        },
        { what: "the handler's two publishes" },
      );
      expect(progress.map((e) => [e.type, e.testMode])).toEqual([
        ['job.warning', true],
        ['job.progress', true],
        ['job.progress', true],
      ]);
      const ofJob = () => spans().filter((s) => s.attributes['reelbus.job_id'] === 'job_test_mode');
      await waitFor(() => ofJob().some((s) => s.kind === KIND.CONSUMER), { what: 'the consumer span' });
      const all = ofJob();
      expect(all.filter((s) => s.kind === KIND.PRODUCER).length).toBe(3);
      expect(all.filter((s) => s.kind === KIND.CONSUMER).length).toBe(1);
      for (const s of all) expect(s.attributes['reelbus.test_mode'], s.name).toBe(true);
      // a normal job's envelope has no flag at all
      const normal = await bus.publish('job.warning', 'job_normal', { step: 'split', message: 'real' });
      expect('testMode' in normal).toBe(false);
    } finally {
      await consumer.stop(1_000);
      await bus.close();
    }
  });
});
