import type { Logger } from 'pino';
import { describeError } from '../errors.ts';
import type { HandlerContext, PublishOptions, Publisher } from './types.ts';

/** `progress` publishes at most once per this interval per step, unless its status changes. */
export const PROGRESS_INTERVAL_MS = 1_000;
/** `job.progress` and `job.warning` messages are cut to this length (the contracts' limit). */
const MESSAGE_MAX = 2_000;

export interface HandlerContextOptions {
  /** Publishes in the message's trace (the consume loop binds the delivery's span context). */
  publisher: Publisher;
  /** The job of the message: `progress` and `warn` report for it. */
  jobId: string;
  logger: Logger;
  deliveryCount: number;
  maxDeliver: number;
  /** Aborts when the job is cancelled, or at shutdown past the grace period. */
  signal: AbortSignal;
  traceId: string | undefined;
  /** The message's job is a test run: every publish carries `testMode` on (see PublishOptions). */
  testMode?: boolean;
  /** Tells JetStream work goes on (a no-op once the message is settled). */
  working: () => void;
  /** Clock for the progress rate limit (tests). */
  now?: () => number;
  progressIntervalMs?: number;
}

/**
 * The context one handler call gets: its logger, delivery facts, cancellation signal, heartbeat, and
 * publishing in the message's trace, with `progress` rate-limited per step and `warn` as `job.warning`.
 */
export function createHandlerContext(opts: HandlerContextOptions): HandlerContext {
  const {
    publisher,
    jobId,
    logger,
    deliveryCount,
    maxDeliver,
    signal,
    traceId,
    testMode = false,
    working,
    now = Date.now,
    progressIntervalMs = PROGRESS_INTERVAL_MS,
  } = opts;
  const lastProgress = new Map<string, { status: string; at: number; phase: string | undefined }>();
  // What this message's work publishes belongs to the same (test or real) run.
  const inherit = (popts: PublishOptions | undefined): PublishOptions | undefined =>
    testMode && popts?.testMode === undefined ? { ...popts, testMode } : popts;
  return {
    logger,
    deliveryCount,
    lastAttempt: deliveryCount >= maxDeliver,
    signal,
    traceId,
    testMode,
    working,
    publish: (type, jid, data, popts) => publisher.publish(type, jid, data, inherit(popts)),
    async progress(step, status, percent, message, detail) {
      const prev = lastProgress.get(step);
      const at = now();
      const phase = detail?.phase ?? prev?.phase;
      if (prev && prev.status === status && prev.phase === phase && at - prev.at < progressIntervalMs) return;
      lastProgress.set(step, { status, at, phase });
      try {
        await publisher.publish(
          'job.progress',
          jobId,
          {
            step,
            status,
            ...(percent === undefined ? {} : { percent: Math.max(0, Math.min(100, percent)) }),
            ...(message === undefined ? {} : { message: message.slice(0, MESSAGE_MAX) }),
            attempt: deliveryCount,
            ...detail,
          },
          inherit(undefined),
        );
      } catch (err) {
        // Progress is a courtesy: losing one must not fail the work.
        logger.warn({ err: describeError(err), step }, 'cannot publish job.progress');
      }
    },
    async warn(step, message) {
      await publisher.publish(
        'job.warning',
        jobId,
        { step, message: message.slice(0, MESSAGE_MAX) },
        inherit(undefined),
      );
    },
  };
}
