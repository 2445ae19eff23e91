// What happens to a message: two pure decisions, `admit` before its handler runs and `settle` after.
// The consume loop only carries them out (ack, nak with a delay, dead letter + job.failed + term,
// or ack as cancelled), so every rule here is tested with a table and no NATS (settle.test.ts).
import type { EventOf, EventType, ParseResult } from '@reelbus/contracts';
import { describeError, isJobCancelled, isPermanent } from '../errors.ts';
import type { HandlerOutcome } from './types.ts';

/** What the loop does with a message. */
export type Settlement =
  /** Acknowledge: the work is done (`ok`) or there was nothing to do (`skip`, with why). */
  | { action: 'ack'; as: 'ok' | 'skip'; reason?: string }
  /** Hand it back for a redelivery after `delayMs` (a transient failure with attempts left). */
  | { action: 'nak'; delayMs: number; reason: string }
  /**
   * Copy it to the dead-letter stream, publish `job.failed` with `step` and `reason`, terminate it.
   * `permanent` is false when a transient failure ran out of attempts (a replay may succeed).
   */
  | { action: 'deadLetter'; reason: string; step: string; permanent: boolean }
  /** The job was cancelled: acknowledge, log and count it; no `job.failed`, no dead letter. */
  | { action: 'cancelled' };

/** Before the handler: run it, or settle the message without it. */
export type Admission =
  | { action: 'handle'; event: EventOf<EventType> }
  | Extract<Settlement, { action: 'ack' | 'deadLetter' | 'cancelled' }>;

/** The redelivery delay after attempt `deliveryCount` fails: `backoffMs` by attempt, the last repeating. */
export function backoffDelay(opts: {
  deliveryCount: number;
  backoffMs: readonly number[];
  /** When `backoffMs` is empty. */
  fallbackMs?: number;
}): number {
  const { deliveryCount, backoffMs, fallbackMs = 0 } = opts;
  return backoffMs[Math.max(0, deliveryCount - 1)] ?? backoffMs.at(-1) ?? fallbackMs;
}

/**
 * Whether a delivered message reaches its handler. In order: a replayed dead letter meant for
 * another service is skipped; a message of a cancelled job is settled as cancelled (even when it is
 * malformed: nobody wants a `job.failed` for a job they stopped), except `job.cancelled` itself; a message that is not a valid
 * event of the consumer's type is a poison message (dead letter, permanent); anything else is handled.
 */
export function admit(opts: {
  parsed: ParseResult;
  /** The event type this consumer reads. */
  type: EventType;
  /** The handler's step (named in the poison message's `job.failed`). */
  step: string;
  service: string;
  /** The message's `Reelbus-Replay-For` header. */
  replayFor: string | undefined;
  /** The message's job is in the cancelled set. */
  cancelled: boolean;
}): Admission {
  const { parsed, type, step, service, replayFor, cancelled } = opts;
  if (replayFor && replayFor !== service)
    return { action: 'ack', as: 'skip', reason: `replayed dead letter meant for ${replayFor}` };
  // The cancel itself is never skipped as cancelled: whoever reads job.cancelled must see it.
  if (cancelled && type !== 'job.cancelled') return { action: 'cancelled' };
  if (!parsed.ok)
    return { action: 'deadLetter', reason: `poison message: ${parsed.reason}`, step, permanent: true };
  if (parsed.event.type !== type) {
    return {
      action: 'deadLetter',
      reason: `poison message: a ${parsed.event.type} event on the ${type} subject`,
      step,
      permanent: true,
    };
  }
  return { action: 'handle', event: parsed.event };
}

/** The handler's result: what it returned, or what it threw. */
export type HandlerResult = { outcome: HandlerOutcome } | { error: unknown };

/**
 * What to do with a message once its handler returned or threw:
 * - the job was cancelled (before or while the handler ran) and the handler did not finish its work
 *   (it threw, or returned `fail`) → `cancelled`; a handler that finished anyway is acked as usual;
 * - `ok` / nothing → ack; `skip` → ack (skip, with the reason);
 * - `fail` → dead letter at the outcome's step, permanent;
 * - a PermanentError → dead letter at the error's step (else the handler's), permanent;
 * - any other error → nak after `backoffDelay`, or, on the last delivery MaxDeliver allows, dead
 *   letter "gave up after N attempts", not permanent.
 */
export function settle(
  opts: HandlerResult & {
    /** The handler's step, when neither the outcome nor the error names one. */
    step: string;
    /** 1 on the first delivery. */
    deliveryCount: number;
    maxDeliver: number;
    backoffMs: readonly number[];
    /** The job is cancelled now. */
    cancelled: boolean;
  },
): Settlement {
  const { step, deliveryCount, maxDeliver, backoffMs, cancelled } = opts;
  if ('error' in opts) {
    const { error } = opts;
    if (cancelled || isJobCancelled(error)) return { action: 'cancelled' };
    const reason = describeError(error);
    const errorStep = (error as { step?: unknown } | null)?.step;
    const at = typeof errorStep === 'string' && errorStep ? errorStep : step;
    if (isPermanent(error)) return { action: 'deadLetter', reason, step: at, permanent: true };
    if (deliveryCount >= maxDeliver) {
      return {
        action: 'deadLetter',
        reason: `gave up after ${deliveryCount} attempts: ${reason}`,
        step: at,
        permanent: false,
      };
    }
    return { action: 'nak', delayMs: backoffDelay({ deliveryCount, backoffMs }), reason };
  }
  const { outcome } = opts;
  if (outcome && outcome.outcome === 'fail') {
    if (cancelled) return { action: 'cancelled' };
    return { action: 'deadLetter', reason: outcome.reason, step: outcome.step, permanent: true };
  }
  if (outcome && outcome.outcome === 'skip') return { action: 'ack', as: 'skip', reason: outcome.reason };
  return { action: 'ack', as: 'ok' };
}
