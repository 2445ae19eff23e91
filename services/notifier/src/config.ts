import { z } from 'zod';
import { env, type RetentionPolicy } from '@reelbus/kit';
import { parseStepTimeouts, type WatchdogSettings } from './watchdog.ts';
import type { WebhookSettings } from './webhook.ts';

/** The notifier's own environment variables (the kit runtime parses the shared ones). */
export const NotifierEnv = z.object({
  /** Signs every webhook (HMAC-SHA256); receivers verify with the same secret. The embedded stack generates one. */
  WEBHOOK_SECRET: z
    .string({ error: 'is required: a random secret that signs webhooks (e.g. `openssl rand -hex 32`)' })
    .min(16, 'must be at least 16 characters (a random secret)'),
  WEBHOOK_TIMEOUT_MS: env.int({ min: 100, max: 300_000 }).default(10_000),
  WEBHOOK_ATTEMPTS: env.int({ min: 1, max: 20 }).default(5),
  WEBHOOK_BACKOFF_MS: env.int({ min: 0, max: 600_000 }).default(1_000),
  /** Allow callbacks to loopback / private / link-local hosts (off: a job cannot make us call into our own network). */
  ALLOW_PRIVATE_CALLBACKS: env.bool().default(false),
  /** How often the stuck-job watchdog scans running jobs; 0 turns it off. */
  WATCHDOG_INTERVAL_MS: env.int({ min: 0, max: 3_600_000 }).default(30_000),
  /** The daily estimated cost (US dollars, test jobs excluded) above which the cost alert fires; exported as reelbus_cost_budget_daily_usd. */
  COST_ALERT_DAILY_USD: env.number({ min: 0 }).default(100),
  /** How often the dead-letter and stalled-job gauges are read; 0 turns them off. */
  OPS_GAUGES_INTERVAL_MS: env.int({ min: 0, max: 3_600_000 }).default(30_000),
  /** Intermediates (split audio, clips, images, chunks, fetched inputs) are removed this long after their job ended: `0` (at once), `7d`, `12h`, `never`. */
  INTERMEDIATE_TTL: env.ttl().prefault('7d'),
  /** Outputs (final video/audio, HLS, poster) are removed this long after their job ended; default never. */
  OUTPUT_TTL: env.ttl().prefault('never'),
  /** How often the retention sweeper runs (ms); 0 turns it off. */
  RETENTION_SWEEP_INTERVAL_MS: env.int({ min: 0, max: 86_400_000 }).default(600_000),
  /** Seconds a step may go without any event before its job is stalled: `step=seconds,…,default=seconds`. */
  WATCHDOG_STEP_TIMEOUTS: z
    .string()
    .default('encode=600,generate=900,default=300')
    .transform((v, ctx) => {
      try {
        return parseStepTimeouts(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
});
export type NotifierEnv = z.infer<typeof NotifierEnv>;

export interface NotifierConfig {
  webhook: WebhookSettings;
  /** Undefined when the watchdog is off (WATCHDOG_INTERVAL_MS=0). */
  watchdog: WatchdogSettings | undefined;
  /** The cost alert's daily amount, US dollars. */
  dailyCostBudgetUsd: number;
  /** Undefined when the operations gauges are off (OPS_GAUGES_INTERVAL_MS=0). */
  opsGaugesIntervalMs: number | undefined;
  /** What the retention sweeper removes when; `sweepIntervalMs` undefined = the sweeper is off. */
  retention: RetentionPolicy & { sweepIntervalMs: number | undefined };
}

/** Turns parsed environment values into the service's settings. */
export function toNotifierConfig(e: NotifierEnv): NotifierConfig {
  return {
    webhook: {
      secret: e.WEBHOOK_SECRET,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      attempts: e.WEBHOOK_ATTEMPTS,
      backoffMs: e.WEBHOOK_BACKOFF_MS,
      allowPrivate: e.ALLOW_PRIVATE_CALLBACKS,
    },
    watchdog:
      e.WATCHDOG_INTERVAL_MS > 0
        ? { intervalMs: e.WATCHDOG_INTERVAL_MS, ...e.WATCHDOG_STEP_TIMEOUTS }
        : undefined,
    dailyCostBudgetUsd: e.COST_ALERT_DAILY_USD,
    opsGaugesIntervalMs: e.OPS_GAUGES_INTERVAL_MS > 0 ? e.OPS_GAUGES_INTERVAL_MS : undefined,
    retention: {
      intermediateTtlMs: e.INTERMEDIATE_TTL,
      outputTtlMs: e.OUTPUT_TTL,
      sweepIntervalMs: e.RETENTION_SWEEP_INTERVAL_MS > 0 ? e.RETENTION_SWEEP_INTERVAL_MS : undefined,
    },
  };
}
