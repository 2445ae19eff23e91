export { startTelemetry, currentTraceId, tracer, type Telemetry } from './telemetry.ts';
