import { context, propagation, trace, type Context, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { core, NodeSDK, node, resources, type tracing } from '@opentelemetry/sdk-node';

export interface Telemetry {
  /** Flushes spans and unregisters the global providers. Safe to call twice. */
  shutdown(): Promise<void>;
}

let active: { refs: number; shutdown: () => Promise<void> } | undefined;

/**
 * Starts OpenTelemetry tracing for `serviceName`. With `otlpEndpoint` (the OTLP/HTTP base URL, e.g.
 * `http://jaeger:4318`) spans are exported by the Node SDK; without one, a tracer provider with no
 * exporter still gives every message a trace id, and the W3C propagator and an AsyncLocalStorage
 * context manager are registered either way, so trace context flows through the bus.
 * Calling it again while started shares the running setup (the last shutdown stops it).
 */
export function startTelemetry(opts: {
  serviceName: string;
  otlpEndpoint?: string | undefined;
  /** Extra span processors (tests collect spans with one). */
  spanProcessors?: tracing.SpanProcessor[];
}): Telemetry {
  const { serviceName, otlpEndpoint, spanProcessors = [] } = opts;
  if (!active) {
    const resource = resources.resourceFromAttributes({ 'service.name': serviceName });
    const propagator = new core.CompositePropagator({
      propagators: [new core.W3CTraceContextPropagator(), new core.W3CBaggagePropagator()],
    });
    let stop: () => Promise<void>;
    if (otlpEndpoint) {
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
      stop = () => sdk.shutdown();
    } else {
      const provider = new node.NodeTracerProvider({ resource, spanProcessors });
      provider.register({ propagator });
      stop = () => provider.shutdown();
    }
    active = {
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
  const state = active;
  state.refs++;
  let done = false;
  return {
    async shutdown() {
      if (done) return;
      done = true;
      state.refs--;
      if (state.refs === 0 && active === state) {
        active = undefined;
        await state.shutdown();
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
