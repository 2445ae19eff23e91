import { EventEmitter } from 'node:events';
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import { tracer } from './telemetry.ts';

/** An opaque trace context (what `context.active()` returns). Services pass it around, never build it. */
export type TraceContext = Context;
export type { Span };

export type SpanKindName = 'internal' | 'client' | 'server' | 'producer' | 'consumer';

/** Span attributes; `undefined` values are left out. */
export type SpanAttributes = Record<string, string | number | boolean | undefined>;

const KINDS: Record<SpanKindName, SpanKind> = {
  internal: SpanKind.INTERNAL,
  client: SpanKind.CLIENT,
  server: SpanKind.SERVER,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
};

function clean(attrs: SpanAttributes): Attributes {
  const out: Attributes = {};
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) out[k] = v;
  return out;
}

/** Marks `span` failed with `err` (exception event + ERROR status). */
export function failSpan(span: Span, err: unknown): void {
  if (err instanceof Error) span.recordException(err);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: err instanceof Error ? err.message : String(err),
  });
}

/**
 * Runs `fn` inside a new span named `name` (a child of the active span), active for everything `fn`
 * does, so nested calls and publishes join the same trace. A throw marks the span failed and is
 * rethrown. Kind `client` for calls to other systems (S3, fal.ai, Twilio, webhooks), `internal` by default.
 */
export async function withSpan<T>(
  name: string,
  attributes: SpanAttributes,
  fn: (span: Span) => Promise<T> | T,
  opts: { kind?: SpanKindName; parent?: TraceContext } = {},
): Promise<T> {
  const { kind = 'internal', parent = context.active() } = opts;
  const span = tracer().startSpan(name, { kind: KINDS[kind], attributes: clean(attributes) }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    failSpan(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** The active trace context. */
export function activeContext(): TraceContext {
  return context.active();
}

/** Runs `fn` with `ctx` as the active trace context. */
export function runInContext<T>(ctx: TraceContext, fn: () => T): T {
  return context.with(ctx, fn);
}

/** Makes every listener of `emitter` (e.g. an HTTP request stream) run with `ctx` active. */
export function bindContext<E extends EventEmitter>(ctx: TraceContext, emitter: E): E {
  return context.bind(ctx, emitter);
}

/** An HTTP request being served: the SERVER span and the context handlers run in. */
export interface ServerSpan {
  span: Span;
  context: TraceContext;
  /** Sets `http.route` (the route template, e.g. `/v1/jobs/:id`) and names the span after it. */
  setRoute(route: string): void;
  /** Ends the span with the response status (5xx marks it failed). Idempotent. */
  end(opts: { statusCode: number; error?: unknown }): void;
}

/**
 * Starts the SERVER span of one HTTP request, continuing the caller's trace when the request carries
 * W3C `traceparent` headers (OpenTelemetry HTTP server conventions: `http.request.method`,
 * `url.path`, `http.route`, `http.response.status_code`).
 */
export function startServerSpan(opts: {
  method: string;
  path: string;
  headers?: Record<string, string | string[] | undefined>;
  attributes?: SpanAttributes;
}): ServerSpan {
  const { method, path, headers = {}, attributes = {} } = opts;
  const parent = propagation.extract(ROOT_CONTEXT, headers, {
    keys: (c) => Object.keys(c),
    get: (c, k) => {
      const v = c[k.toLowerCase()];
      return Array.isArray(v) ? v[0] : v;
    },
  });
  const span = tracer().startSpan(
    method,
    {
      kind: SpanKind.SERVER,
      attributes: clean({ 'http.request.method': method, 'url.path': path, ...attributes }),
    },
    parent,
  );
  let ended = false;
  return {
    span,
    context: trace.setSpan(parent, span),
    setRoute(route) {
      span.setAttribute('http.route', route);
      span.updateName(`${method} ${route}`);
    },
    end({ statusCode, error }) {
      if (ended) return;
      ended = true;
      span.setAttribute('http.response.status_code', statusCode);
      if (statusCode >= 500) {
        span.setAttribute('error.type', String(statusCode));
        failSpan(span, error ?? `HTTP ${statusCode}`);
      }
      span.end();
    },
  };
}
