import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, propagation, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { currentTraceId, startTelemetry, tracer } from './telemetry.ts';

describe('telemetry', () => {
  it('gives spans trace ids and propagates W3C context without an exporter', async () => {
    const t = await startTelemetry({ serviceName: 'unit' });
    try {
      const carrier: Record<string, string> = {};
      const id = await tracer().startActiveSpan('work', async (span) => {
        await Promise.resolve();
        propagation.inject(context.active(), carrier);
        span.end();
        return currentTraceId();
      });
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      expect(carrier.traceparent).toContain(id);
      expect(currentTraceId()).toBeUndefined();
    } finally {
      await t.shutdown();
    }
    expect(trace.getTracerProvider().getTracer('x').startSpan('y').spanContext().traceId).toBe(
      '00000000000000000000000000000000',
    );
  });

  it('exports spans over OTLP/HTTP when an endpoint is set', async () => {
    const paths: string[] = [];
    const got = new Promise<void>((resolve) => {
      const srv = createServer((req, res) => {
        paths.push(req.url ?? '');
        req.resume();
        req.on('end', () => {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
          srv.close();
          resolve();
        });
      });
      srv.listen(0, '127.0.0.1', async () => {
        const port = (srv.address() as AddressInfo).port;
        const t = await startTelemetry({ serviceName: 'unit', otlpEndpoint: `http://127.0.0.1:${port}/` });
        tracer().startSpan('exported').end();
        await t.shutdown(); // flushes
      });
    });
    await got;
    expect(paths).toEqual(['/v1/traces']);
  });
});
