import { METRIC, METRIC_HELP, metrics, type Metrics } from '@reelbus/kit';

/*
 * `reelbus_mediaconvert_jobs_total{status}`: how the MediaConvert jobs this encoder followed ended,
 * for the "any MediaConvert job failure" alert (infra/prometheus/). No AWS SDK here, so the encoder
 * declares the series at start without loading it.
 */

/** How a followed MediaConvert job ended: MediaConvert's COMPLETE / ERROR / CANCELED, or our timeout. */
export type MediaConvertEnd = 'complete' | 'error' | 'canceled' | 'timed_out';
export const MEDIACONVERT_ENDS: readonly MediaConvertEnd[] = ['complete', 'error', 'canceled', 'timed_out'];

/** Counts one followed MediaConvert job's end. */
export function recordMediaConvertEnd(status: MediaConvertEnd, registry: Metrics = metrics): void {
  registry.add(METRIC.mediaConvertJobs, { status }, 1, 'counter', METRIC_HELP[METRIC.mediaConvertJobs]);
}

/** Every status at zero, so a first failure is a visible increase (and /metrics names the series). */
export function declareMediaConvertMetrics(registry: Metrics = metrics): void {
  for (const status of MEDIACONVERT_ENDS)
    registry.declare(
      METRIC.mediaConvertJobs,
      'counter',
      { status },
      { help: METRIC_HELP[METRIC.mediaConvertJobs] },
    );
}
