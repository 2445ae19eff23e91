// Spans for tests: starts the kit's telemetry (no exporter) with an in-memory span processor, so a test
// can assert which spans its code made, with which attributes.
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { startTelemetry } from '../telemetry/telemetry.ts';

/** A finished span, as tests look at it. */
export interface CollectedSpan {
  name: string;
  /** OpenTelemetry SpanKind: 0 internal, 1 server, 2 client, 3 producer, 4 consumer. */
  kind: number;
  attributes: Record<string, unknown>;
  /** 0 unset, 1 ok, 2 error. */
  status: number;
  traceId: string;
}

export async function collectSpans(
  serviceName = 'test',
): Promise<{ finished(): CollectedSpan[]; reset(): void; stop(): Promise<void> }> {
  const exporter = new InMemorySpanExporter();
  const telemetry = await startTelemetry({
    serviceName,
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  return {
    finished: () =>
      exporter.getFinishedSpans().map((s) => ({
        name: s.name,
        kind: s.kind,
        attributes: { ...s.attributes },
        status: s.status.code,
        traceId: s.spanContext().traceId,
      })),
    reset: () => exporter.reset(),
    stop: () => telemetry.shutdown(),
  };
}
