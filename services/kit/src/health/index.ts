export { startHealthServer, type HealthServer, type ReadinessCheck } from './server.ts';
export { Metrics, metrics, METRIC } from './metrics.ts';
