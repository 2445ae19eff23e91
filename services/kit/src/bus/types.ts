import type { EventDataInput, EventOf, EventType } from '@reelbus/contracts';
import type { Logger } from 'pino';

export interface PublishOptions {
  /** Deterministic event id (→ Nats-Msg-Id) so a retried publish is dropped by JetStream. Random when absent. */
  id?: string;
  /** Version of the event to publish; the newest by default. */
  version?: number;
  /** Extra headers (trace context is added automatically from the active span / handler context). */
  headers?: Record<string, string>;
  /**
   * Mark the event as part of a test-mode job (the envelope's `testMode`). A handler's `publish`
   * carries the flag of the message it handles onto everything it publishes, so only the first
   * event of a job (ingest, a bus publisher) sets it.
   */
  testMode?: boolean;
}

/** Publishes typed events; validates `data` against the catalogue before sending. */
export interface Publisher {
  publish<T extends EventType>(
    type: T,
    jobId: string,
    data: EventDataInput<T>,
    opts?: PublishOptions,
  ): Promise<EventOf<T>>;
}

/** What a handler may return: expected outcomes are values, not exceptions (STYLE.md). */
export type HandlerOutcome =
  | void
  | { outcome: 'ok' }
  /** Nothing to do (e.g. a duplicate): acked, logged. */
  | { outcome: 'skip'; reason: string }
  /** Permanent failure (bad input): dead-lettered, `job.failed` published with `step` and `reason`, terminated. */
  | { outcome: 'fail'; step: string; reason: string };

export interface HandlerContext extends Publisher {
  /** Logger with `jobId`, `traceId`, `eventId`, `type`, `service`. */
  logger: Logger;
  /** 1 on first delivery. */
  deliveryCount: number;
  /** True on the last delivery MaxDeliver allows: a failure now dead-letters. */
  lastAttempt: boolean;
  /** Tells JetStream work goes on (resets AckWait). The loop also sends it on a timer while the handler runs. */
  working(): void;
  /**
   * Aborted when this message's job is cancelled (`bus.cancelJob`, on any replica: within about a
   * second, its reason a `JobCancelledError`) and when the service shuts down past its grace period.
   * Pass it to `runFfmpeg({ signal })`, fetch, provider SDKs; work stopped by a cancel settles the
   * message as cancelled (acked, no `job.failed`), whatever the handler then throws.
   */
  signal: AbortSignal;
  /**
   * Publishes `job.progress` for `step` (rate-limited to one per second unless `status` or
   * `detail.phase` changes). `detail` carries what a long render shows users (phase, chunks done,
   * frames, a chunk's own frames, seconds left): the job document's `progressDetail`.
   */
  progress(
    step: string,
    status: 'started' | 'running' | 'completed' | 'skipped',
    percent?: number,
    message?: string,
    detail?: ProgressDetailInput,
  ): Promise<void>;
  /** Publishes `job.warning`. */
  warn(step: string, message: string): Promise<void>;
  /** The W3C trace id of this message's trace. */
  traceId: string | undefined;
  /**
   * The job is a test run (the envelope's `testMode`): its publishes carry the flag on; a service
   * that picks a paid provider picks `local` instead unless the job names one (issue 15 §4).
   */
  testMode: boolean;
}

/** The detail fields of `job.progress` (phase, chunks, frames, chunk, etaSec). */
export type ProgressDetailInput = Pick<
  EventDataInput<'job.progress'>,
  'phase' | 'chunks' | 'frames' | 'chunk' | 'etaSec'
>;

export type Handler<T extends EventType> = (
  event: EventOf<T>,
  ctx: HandlerContext,
) => Promise<HandlerOutcome>;

export type HandlerMap = { [T in EventType]?: { step: string; handle: Handler<T> } };

export interface ConsumeOptions {
  /** Durable consumer name prefix: one consumer per (service, event type). */
  service: string;
  /** The step each event type belongs to (for `job.failed`) and its handler. */
  handlers: HandlerMap;
  /** Messages worked on at once by this process (and pulled at once: no prefetched backlog). Default 1. */
  concurrency?: number;
  /** AckWait; heartbeats keep long work alive. Default 30 s. */
  ackWaitMs?: number;
  /** Deliveries before a failing message is dead-lettered. Default 5. */
  maxDeliver?: number;
  /** Redelivery delays after transient failures (nak delay), by attempt; the last repeats. Default 1 s, 2 s, 4 s, 8 s, 16 s. */
  backoffMs?: number[];
  /** How often `working()` is sent while a handler runs. Default ackWaitMs / 3. */
  heartbeatMs?: number;
  /** How often each consumer's pending count (lag) is read into the metrics. Default 5 s. */
  lagIntervalMs?: number;
  /**
   * Honour job cancellation (default true): a message of a cancelled job is acked as cancelled without
   * running its handler, and handlers in hand see `ctx.signal` abort when their job is cancelled.
   * False for consumers that must see every event of every job (the notifier's projection).
   */
  cancellable?: boolean;
}

/** What `cancelJob` says about a cancel. */
export interface CancelJobOptions {
  /** Why, for the user (the job document, the webhook). */
  reason?: string;
  /** Who asked: an API key name, an operator. */
  by?: string;
  /** The job is a test run: `job.cancelled` carries the envelope's `testMode`. */
  testMode?: boolean;
}

export interface Consumer {
  /** Stop pulling; wait up to `graceMs` for handlers in hand, then abort them and nak what is unfinished. */
  stop(graceMs?: number): Promise<void>;
  /** Messages in hand now. */
  readonly inFlight: number;
  /** Resolves when the consumer stopped (after `stop`, or a fatal error). */
  readonly closed: Promise<void>;
}

export type { EventOf, EventType, Logger };
