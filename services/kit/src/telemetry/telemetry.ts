import {
  context,
  metrics as otelMetrics,
  propagation,
  trace,
  type Context,
  type Counter,
  type Gauge,
  type Histogram,
  type Tracer,
  type UpDownCounter,
} from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeTracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace-node';
import { metrics as defaultMetrics, type MetricRecord, type Metrics } from '../health/metrics.ts';

export interface Telemetry {
  /** Flushes spans and unregisters the global providers. Safe to call twice. */
  shutdown(): Promise<void>;
}

interface Running {
  refs: number;
  shutdown: () => Promise<void>;
}

let active: Promise<Running> | undefined;

/**
 * Starts OpenTelemetry tracing for `serviceName`. With `otlpEndpoint` (the OTLP/HTTP base URL, e.g.
 * `http://jaeger:4318`) spans are exported by the Node SDK; without one, a tracer provider with no
 * exporter still gives every message a trace id, and the W3C propagator and an AsyncLocalStorage
 * context manager are registered either way, so trace context flows through the bus.
 * With an endpoint the SDK also exports metrics (its OTLP metric exporter, configured by the standard
 * `OTEL_EXPORTER_OTLP_*` / `OTEL_METRIC_EXPORT_INTERVAL` variables, which the SDK reads itself): every
 * value recorded in the kit's Metrics registry is forwarded to an OpenTelemetry instrument of the
 * same name. The batch span processor honours `OTEL_BSP_SCHEDULE_DELAY`.
 * The Node SDK and the OTLP exporter (~45 MB of a service's idle memory) are loaded only with an
 * endpoint. Calling it again while started shares the running setup (the last shutdown stops it).
 */
export async function startTelemetry(opts: {
  serviceName: string;
  otlpEndpoint?: string | undefined;
  /** Extra span processors (tests collect spans with one). */
  spanProcessors?: SpanProcessor[];
  /** The registry forwarded to OTLP (the process-wide one by default). */
  metrics?: Metrics;
}): Promise<Telemetry> {
  active ??= setUp(opts).catch((err: unknown) => {
    active = undefined;
    throw err;
  });
  const running = active;
  const state = await running;
  state.refs++;
  let done = false;
  return {
    async shutdown() {
      if (done) return;
      done = true;
      state.refs--;
      if (state.refs === 0 && active === running) {
        active = undefined;
        await state.shutdown();
      }
    },
  };
}

async function setUp(opts: Parameters<typeof startTelemetry>[0]): Promise<Running> {
  const { serviceName, otlpEndpoint, spanProcessors = [], metrics: registry = defaultMetrics } = opts;
  const resource = resourceFromAttributes({ 'service.name': serviceName });
  const propagator = new CompositePropagator({
    propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
  });
  let stop: () => Promise<void>;
  if (otlpEndpoint) {
    const [{ NodeSDK, node }, { OTLPTraceExporter }] = await Promise.all([
      import('@opentelemetry/sdk-node'),
      import('@opentelemetry/exporter-trace-otlp-http'),
    ]);
    const exporter = new OTLPTraceExporter({ url: `${otlpEndpoint.replace(/\/+$/, '')}/v1/traces` });
    const sdk = new NodeSDK({
      serviceName,
      resource,
      spanProcessors: [new node.BatchSpanProcessor(exporter), ...spanProcessors],
      textMapPropagator: propagator,
      instrumentations: [],
      autoDetectResources: false,
    });
    sdk.start();
    const unbridge = bridgeMetrics(registry);
    stop = async () => {
      unbridge();
      await sdk.shutdown();
    };
  } else {
    const provider = new NodeTracerProvider({ resource, spanProcessors });
    provider.register({ propagator });
    stop = () => provider.shutdown();
  }
  return {
    refs: 0,
    shutdown: async () => {
      try {
        await stop();
      } finally {
        trace.disable();
        context.disable();
        propagation.disable();
      }
    },
  };
}

/** The tracer reelbus's own spans come from. */
export function tracer(): Tracer {
  return trace.getTracer('reelbus');
}

/** The W3C trace id of the active span (or of `ctx`), if there is a valid one. */
export function currentTraceId(ctx: Context = context.active()): string | undefined {
  const sc = trace.getSpanContext(ctx);
  return sc && trace.isSpanContextValid(sc) ? sc.traceId : undefined;
}

/** Forwards every value recorded in `registry` to an OpenTelemetry instrument of the same name. */
function bridgeMetrics(registry: Metrics): () => void {
  const meter = otelMetrics.getMeter('reelbus');
  const instruments = new Map<string, Counter | UpDownCounter | Gauge | Histogram>();
  return registry.onRecord((r: MetricRecord) => {
    const key = `${r.name}:${r.op}`;
    let inst = instruments.get(key);
    if (!inst) {
      const o = { description: r.help };
      inst =
        r.op === 'observe'
          ? meter.createHistogram(r.name, { ...o, advice: { explicitBucketBoundaries: r.buckets ?? [] } })
          : r.op === 'set'
            ? meter.createGauge(r.name, o)
            : r.kind === 'counter'
              ? meter.createCounter(r.name, o)
              : meter.createUpDownCounter(r.name, o);
      instruments.set(key, inst);
    }
    if (r.op === 'add') (inst as Counter).add(r.value, r.labels);
    else (inst as Gauge).record(r.value, r.labels);
  });
}
