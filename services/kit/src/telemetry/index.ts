export { startTelemetry, currentTraceId, tracer, type Telemetry } from './telemetry.ts';
export {
  withSpan,
  failSpan,
  activeContext,
  runInContext,
  bindContext,
  startServerSpan,
  type ServerSpan,
  type Span,
  type SpanAttributes,
  type SpanKindName,
  type TraceContext,
} from './spans.ts';
