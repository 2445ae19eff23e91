export { startHealthServer, type HealthServer, type ReadinessCheck } from './server.ts';
export {
  Metrics,
  metrics,
  METRIC,
  METRIC_HELP,
  DURATION_BUCKETS,
  JOB_DURATION_BUCKETS,
  REAL_TIME_FACTOR_BUCKETS,
  type MetricKind,
  type MetricRecord,
} from './metrics.ts';
