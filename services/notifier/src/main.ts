import { Reel } from '@reelbus/contracts';
import { DeletedJobs, formatTtl, startService } from '@reelbus/kit';
import { NotifierEnv, toNotifierConfig } from './config.ts';
import { notifierConcurrency, notifierHandlers } from './handle-events.ts';
import { declareJobMetrics } from './job-metrics.ts';
import { startOpsGauges } from './ops-gauges.ts';
import { startRetentionSweeper } from './retention.ts';
import { startWatchdog } from './watchdog.ts';

// The notifier: projects every event into the job store, completes jobs on `video.encoded`,
// and sends the signed webhooks of terminal events (see README.md).
const rt = await startService({
  name: 'notifier',
  configSchema: NotifierEnv,
  needs: { blobs: true, jobs: true },
});
const config = toNotifierConfig(rt.config);
const deletedJobs = await DeletedJobs.open({
  nc: rt.fullBus.nc,
  bucket: rt.fullBus.names.deletedBucket,
  replicas: rt.fullBus.replicas,
});
declareJobMetrics({ dailyCostBudgetUsd: config.dailyCostBudgetUsd });
// reels are projections of their takes' and compiles' jobs (src/reels.ts)
const reels = await rt.openDocuments({ collection: 'reels', schema: Reel });
await rt.bus.consume({
  service: rt.name,
  concurrency: notifierConcurrency(rt.base.concurrency),
  // The read model needs every event of a cancelled job too (what ran before the cancel, the cancel).
  cancellable: false,
  // Attempts × timeout plus backoff can exceed the default AckWait: heartbeats (`working()`) cover it.
  handlers: notifierHandlers({ jobs: rt.jobs, webhook: config.webhook, reels, deleted: deletedJobs }),
});
if (config.retention.sweepIntervalMs) {
  const sweeper = startRetentionSweeper({
    jobs: rt.jobs,
    blobs: rt.blobs,
    policy: config.retention,
    intervalMs: config.retention.sweepIntervalMs,
    deletedJobs,
    logger: rt.logger,
  });
  rt.onShutdown(() => sweeper.stop());
}
if (config.watchdog) {
  const watchdog = startWatchdog({
    jobs: rt.jobs,
    bus: rt.bus,
    settings: config.watchdog,
    logger: rt.logger,
  });
  rt.onShutdown(() => watchdog.stop());
}
if (config.opsGaugesIntervalMs) {
  const gauges = startOpsGauges({
    bus: rt.fullBus,
    jobs: rt.jobs,
    intervalMs: config.opsGaugesIntervalMs,
    logger: rt.logger,
  });
  rt.onShutdown(() => gauges.stop());
}
rt.logger.info(
  {
    watchdog: config.watchdog ?? 'off',
    opsGaugesIntervalMs: config.opsGaugesIntervalMs ?? 'off',
    intermediateTtl: formatTtl(config.retention.intermediateTtlMs),
    outputTtl: formatTtl(config.retention.outputTtlMs),
    retentionSweepIntervalMs: config.retention.sweepIntervalMs ?? 'off',
    dailyCostBudgetUsd: config.dailyCostBudgetUsd,
    attempts: config.webhook.attempts,
    timeoutMs: config.webhook.timeoutMs,
    allowPrivateCallbacks: config.webhook.allowPrivate,
  },
  'notifier consuming',
);
