// The consume loop: one durable pull consumer per (service, event type), pulled by a PullLoop each
// (pull-loop.ts), sharing this process's work slots. Each message becomes a Delivery; `admit` decides
// whether its handler runs, the handler gets a context from `createHandlerContext`, and `settle` turns
// what it returned or threw into ack / nak(delay) / dead letter / cancelled, which this file carries out.
import type { JsMsg } from '@nats-io/jetstream';
import {
  context as otelContext,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
} from '@opentelemetry/api';
import {
  HEADERS,
  JobId,
  parseEnvelope,
  type EventOf,
  type EventType,
  type ParseResult,
} from '@reelbus/contracts';
import type { Logger } from 'pino';
import { describeError, isPermanent, JobCancelledError } from '../errors.ts';
import { DURATION_BUCKETS, METRIC, METRIC_HELP, metrics } from '../health/metrics.ts';
import { retryStartup } from '../runtime/startup-retry.ts';
import { tracer } from '../telemetry/telemetry.ts';
import type { Bus } from './bus.ts';
import type { CancelledJobs, CancelRecord } from './cancellation.ts';
import { REPLAY_FOR_HEADER, writeDeadLetter } from './dead-letters.ts';
import { Delivery } from './delivery.ts';
import { ensureConsumer } from './durable-consumer.ts';
import { createHandlerContext } from './handler-context.ts';
import { PullLoop } from './pull-loop.ts';
import { admit, backoffDelay, settle, type HandlerResult, type Settlement } from './settle.ts';
import { Slots } from './slots.ts';
import { DEFAULT_ACK_WAIT_MS, DEFAULT_MAX_DELIVER } from './streams.ts';
import { consumerSpanAttributes, extractTrace } from './trace.ts';
import type { ConsumeOptions, Consumer, Handler } from './types.ts';

const DEFAULT_BACKOFF_MS = [1_000, 2_000, 4_000, 8_000, 16_000];
/** A pull waits this long for messages when this process's slots are not contended. */
const LONG_PULL_MS = 30_000;
/** ... and this long when several event types share fewer slots, so each type gets a turn. */
const SHORT_PULL_MS = 1_000;
const DEFAULT_LAG_INTERVAL_MS = 5_000;

interface TypeLoop {
  type: EventType;
  step: string;
  handle: Handler<EventType>;
  consumerName: string;
}

interface Settings {
  concurrency: number;
  ackWaitMs: number;
  maxDeliver: number;
  backoffMs: number[];
  heartbeatMs: number;
  lagIntervalMs: number;
}

/** One message on its way through the loop: its delivery, type, span and logger. */
interface Scope {
  d: Delivery;
  t: TypeLoop;
  span: Span;
  trace: Context;
  traceId: string | undefined;
  log: Logger;
  /** Handler run time, when it ran. */
  ms?: number;
}

/** Options with their defaults, checked. */
function resolveSettings(opts: ConsumeOptions): Settings {
  const {
    concurrency = 1,
    ackWaitMs = DEFAULT_ACK_WAIT_MS,
    maxDeliver = DEFAULT_MAX_DELIVER,
    backoffMs = DEFAULT_BACKOFF_MS,
    heartbeatMs = Math.max(100, Math.floor(ackWaitMs / 3)),
    lagIntervalMs = DEFAULT_LAG_INTERVAL_MS,
  } = opts;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new Error(`concurrency must be a whole number ≥ 1 (got ${concurrency})`);
  if (!Number.isInteger(maxDeliver) || maxDeliver < 1)
    throw new Error(`maxDeliver must be a whole number ≥ 1 (got ${maxDeliver})`);
  return { concurrency, ackWaitMs, maxDeliver, backoffMs, heartbeatMs, lagIntervalMs };
}

function validJobId(v: string | undefined | null): string | undefined {
  return v && JobId.safeParse(v).success ? v : undefined;
}

/** The job a message belongs to: from the envelope, else from what parsed of it, else from its header. */
function jobIdOf(parsed: ParseResult, msg: JsMsg): string | undefined {
  if (parsed.ok) return parsed.event.jobId;
  return validJobId(parsed.partial?.jobId) ?? validJobId(msg.headers?.get(HEADERS.jobId));
}

/**
 * Starts consuming (see ConsumeOptions): creates the durable consumers, waits until the set of
 * cancelled jobs is loaded (unless `cancellable: false`), then pulls.
 */
export async function startConsumer(opts: ConsumeOptions & { bus: Bus }): Promise<Consumer> {
  const { bus, service, handlers, cancellable = true } = opts;
  const settings = resolveSettings(opts);
  const entries = Object.entries(handlers).filter(([, e]) => e) as Array<
    [EventType, { step: string; handle: Handler<EventType> }]
  >;
  if (entries.length === 0) throw new Error(`consume(${service}): no handlers given`);
  const cancelled = cancellable
    ? await retryStartup(
        `watch the cancelled jobs (${bus.names.cancelledBucket})`,
        () => bus.cancelledJobs(),
        {
          logger: bus.logger,
        },
      )
    : undefined;
  const types: TypeLoop[] = [];
  for (const [type, entry] of entries) {
    const consumerName = await retryStartup(
      `create the consumer of ${service} for ${type}`,
      () =>
        ensureConsumer({
          bus,
          service,
          type,
          ackWaitMs: settings.ackWaitMs,
          maxDeliver: settings.maxDeliver,
        }),
      { logger: bus.logger },
    );
    types.push({ type, step: entry.step, handle: entry.handle, consumerName });
  }
  const loop = new ConsumeLoop({ bus, service, types, settings, cancelled });
  loop.start();
  return loop;
}

/** The running consume loop of one `consume()` call. */
class ConsumeLoop implements Consumer {
  readonly closed: Promise<void>;
  readonly #bus: Bus;
  readonly #service: string;
  readonly #s: Settings;
  readonly #log: Logger;
  readonly #types: TypeLoop[];
  readonly #cancelled: CancelledJobs | undefined;
  readonly #slots: Slots;
  readonly #pullers: PullLoop[];
  readonly #inFlight = new Set<Delivery>();
  readonly #stopCtl = new AbortController();
  #resolveClosed!: () => void;
  #stopping = false;
  #stopPromise: Promise<void> | undefined;
  #loopsDone: Promise<void> = Promise.resolve();
  #lagTimer: NodeJS.Timeout | undefined;
  #lagPolling = false;
  #unsubscribe: (() => void) | undefined;

  constructor(opts: {
    bus: Bus;
    service: string;
    types: TypeLoop[];
    settings: Settings;
    cancelled: CancelledJobs | undefined;
  }) {
    const { bus, service, types, settings, cancelled } = opts;
    this.#bus = bus;
    this.#service = service;
    this.#s = settings;
    this.#types = types;
    this.#cancelled = cancelled;
    this.#log = bus.logger.child({ service });
    this.#slots = new Slots(settings.concurrency);
    this.closed = new Promise<void>((r) => (this.#resolveClosed = r));
    const share = Math.max(1, Math.floor(settings.concurrency / types.length));
    const pullMs = types.length > settings.concurrency ? SHORT_PULL_MS : LONG_PULL_MS;
    this.#pullers = types.map(
      (t) =>
        new PullLoop({
          bus,
          consumerName: t.consumerName,
          share,
          pullMs,
          slots: this.#slots,
          logger: this.#log.child({ type: t.type, consumer: t.consumerName }),
          dispatch: (msg) => this.#dispatch(msg, t),
          recreateConsumer: () =>
            ensureConsumer({
              bus,
              service,
              type: t.type,
              ackWaitMs: settings.ackWaitMs,
              maxDeliver: settings.maxDeliver,
            }),
        }),
    );
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  start(): void {
    this.#unsubscribe = this.#cancelled?.onCancel((jobId, record) => this.#cancelInFlight(jobId, record));
    void this.#pollLag();
    this.#lagTimer = setInterval(() => void this.#pollLag(), this.#s.lagIntervalMs);
    this.#lagTimer.unref();
    this.#loopsDone = Promise.all(this.#pullers.map((p) => p.run())).then(() => undefined);
    void this.#loopsDone.then(() => this.#loopsEnded());
    this.#log.info(
      {
        types: this.#types.map((t) => t.type),
        concurrency: this.#s.concurrency,
        ackWaitMs: this.#s.ackWaitMs,
        maxDeliver: this.#s.maxDeliver,
        consumers: this.#types.map((t) => t.consumerName),
        cancellable: this.#cancelled !== undefined,
      },
      'consuming',
    );
  }

  /** Stop pulling; wait up to `graceMs` for handlers in hand, then abort them and nak what is unfinished. */
  stop(graceMs = 0): Promise<void> {
    this.#stopPromise ??= (async () => {
      this.#stopping = true;
      clearInterval(this.#lagTimer);
      this.#stopCtl.abort();
      const pullersStopped = this.#pullers.map((p) => p.stop());
      this.#slots.cancelWaiters();
      await Promise.all(pullersStopped);
      await this.#finishInHand(graceMs);
      await this.#loopsDone;
      this.#unsubscribe?.();
      this.#log.info('consumer stopped');
      this.#resolveClosed();
    })();
    return this.#stopPromise;
  }

  /** Waits up to `graceMs` for the handlers in hand; releases (nak + abort) those still running. */
  async #finishInHand(graceMs: number): Promise<void> {
    const pending = [...this.#inFlight];
    if (pending.length === 0) return;
    this.#log.info({ inFlight: pending.length, graceMs }, 'stopping: waiting for messages in hand');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(pending.map((d) => d.done)),
      new Promise<void>((r) => (timer = setTimeout(r, graceMs))),
    ]);
    clearTimeout(timer);
    for (const d of this.#inFlight) {
      if (d.settled) continue;
      this.#log.warn(
        { seq: d.msg.info.streamSequence },
        'grace period over: aborting the handler and releasing the message',
      );
      d.release();
    }
  }

  /** Every pull loop ended: after stop(), or because the connection closed under us. */
  async #loopsEnded(): Promise<void> {
    clearInterval(this.#lagTimer);
    if (this.#stopping) return;
    // the connection closed under us: nothing more will arrive
    this.#stopping = true;
    await Promise.all([...this.#inFlight].map((d) => d.done));
    this.#unsubscribe?.();
    this.#resolveClosed();
  }

  #isCancelled(jobId: string | undefined): boolean {
    return this.#cancelled?.has(jobId) ?? false;
  }

  /** A job was cancelled: abort its handlers in hand (they settle as cancelled when they return). */
  #cancelInFlight(jobId: string, record: CancelRecord): void {
    for (const d of this.#inFlight) {
      if (d.jobId !== jobId || d.settled || d.cancelled || d.type === 'job.cancelled') continue;
      this.#log.info(
        { jobId, type: d.type, seq: d.msg.info.streamSequence, by: record.by, reason: record.reason },
        'job cancelled: aborting its handler',
      );
      d.cancel(new JobCancelledError({ jobId, reason: record.reason, by: record.by }));
    }
  }

  #count(name: string, type: string, by = 1): void {
    metrics.add(
      name,
      { service: this.#service, type },
      by,
      name === METRIC.inFlight ? 'gauge' : 'counter',
      METRIC_HELP[name],
    );
  }

  #dispatch(msg: JsMsg, t: TypeLoop): void {
    const d = new Delivery({ msg, type: t.type });
    this.#inFlight.add(d);
    this.#count(METRIC.inFlight, t.type, 1);
    this.#process(d, t)
      .catch((err) =>
        this.#log.error({ err: describeError(err), type: t.type }, 'unexpected error in the consume loop'),
      )
      .finally(() => {
        this.#inFlight.delete(d);
        this.#count(METRIC.inFlight, t.type, -1);
        this.#slots.release(1);
        d.finish();
      });
  }

  /** One message, from receipt to settlement, in one CONSUMER span. */
  async #process(d: Delivery, t: TypeLoop): Promise<void> {
    const received = Date.now();
    const { msg } = d;
    const deliveryCount = msg.info.deliveryCount;
    // The parent is the producer's span (from the message headers), so a job is one trace hop after
    // hop; a redelivery carries the same headers and gets the same parent, its delivery count telling
    // the attempts apart.
    const parent = extractTrace(msg.headers);
    const span = tracer().startSpan(
      `process ${msg.subject}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: consumerSpanAttributes({ msg, service: this.#service, consumer: t.consumerName }),
      },
      parent,
    );
    const sc = span.spanContext();
    const parsed = parseEnvelope(msg.data);
    // Known before the first await, so a cancel arriving from now on finds this delivery.
    d.jobId = jobIdOf(parsed, msg);
    const traceId = trace.isSpanContextValid(sc) ? sc.traceId : undefined;
    const log = this.#log.child({
      jobId: d.jobId,
      traceId,
      eventId: parsed.ok ? parsed.event.id : parsed.partial?.id,
      type: t.type,
      delivery: deliveryCount,
      seq: msg.info.streamSequence,
    });
    const s: Scope = { d, t, span, trace: trace.setSpan(parent, span), traceId, log };
    let settledAs = 'released';
    try {
      const admission = admit({
        parsed,
        type: t.type,
        step: t.step,
        service: this.#service,
        replayFor: msg.headers?.get(REPLAY_FOR_HEADER) || undefined,
        cancelled: d.cancelled || this.#isCancelled(d.jobId),
      });
      if (admission.action === 'handle') {
        span.setAttribute('reelbus.job_id', admission.event.jobId);
        if (admission.event.testMode) {
          span.setAttribute('reelbus.test_mode', true);
          s.log = log.child({ testMode: true });
        }
        const settlement = await this.#runHandler(s, admission.event);
        if (settlement) settledAs = await this.#carryOut(s, settlement, true);
      } else {
        settledAs = await this.#carryOut(s, admission, false);
      }
    } catch (err) {
      // Dead-lettering itself failed (NATS unreachable): keep the message, try again later.
      span.setStatus({ code: SpanStatusCode.ERROR, message: describeError(err) });
      const delay = backoffDelay({ deliveryCount, backoffMs: this.#s.backoffMs, fallbackMs: 1_000 });
      log.error(
        { err: describeError(err), retryInMs: delay },
        'cannot settle the message; it will be redelivered',
      );
      d.nak(delay);
      settledAs = 'retry';
    } finally {
      span.setAttribute('reelbus.outcome', settledAs);
      span.end();
      metrics.observe(
        METRIC.handlingSeconds,
        { service: this.#service, type: t.type, outcome: settledAs },
        (Date.now() - received) / 1000,
        { buckets: DURATION_BUCKETS, help: METRIC_HELP[METRIC.handlingSeconds] },
      );
    }
  }

  /**
   * Runs the handler with its context and a heartbeat, and decides what its result means; undefined
   * when the message was released at shutdown meanwhile (nothing more to do: it will be redelivered).
   */
  async #runHandler(s: Scope, event: EventOf<EventType>): Promise<Settlement | undefined> {
    const { d, t, log } = s;
    const deliveryCount = d.msg.info.deliveryCount;
    const ctx = createHandlerContext({
      publisher: {
        publish: (type, jobId, data, popts) =>
          this.#bus.publishWithContext(s.trace, type, jobId, data, popts),
      },
      jobId: event.jobId,
      logger: log,
      deliveryCount,
      maxDeliver: this.#s.maxDeliver,
      signal: d.signal,
      traceId: s.traceId,
      testMode: event.testMode === true,
      working: () => d.working(),
    });
    const heartbeat = setInterval(() => d.working(), this.#s.heartbeatMs);
    const started = Date.now();
    let result: HandlerResult;
    try {
      result = { outcome: await otelContext.with(s.trace, () => t.handle(event, ctx)) };
    } catch (error) {
      result = { error };
      if (error instanceof Error) s.span.recordException(error);
    } finally {
      clearInterval(heartbeat);
    }
    s.ms = Date.now() - started;
    if (d.settled) {
      log.info(
        { ms: s.ms },
        'handler finished after the message was released at shutdown; it will be redelivered',
      );
      return undefined;
    }
    return settle({
      ...result,
      step: t.step,
      deliveryCount,
      maxDeliver: this.#s.maxDeliver,
      backoffMs: this.#s.backoffMs,
      cancelled: d.cancelled || this.#isCancelled(event.jobId),
    });
  }

  /** Does what `settlement` says; returns the outcome label of spans and metrics. */
  async #carryOut(s: Scope, settlement: Settlement, ran: boolean): Promise<string> {
    const { d, t, span, log, ms } = s;
    switch (settlement.action) {
      case 'ack': {
        const err = d.ack();
        if (err) log.warn({ err: describeError(err) }, 'ack failed; the message will be redelivered');
        if (!ran) {
          log.debug({ reason: settlement.reason }, 'skipped without running the handler');
          return 'skip';
        }
        this.#count(METRIC.handled, t.type);
        if (settlement.as === 'skip') log.info({ ms, reason: settlement.reason }, 'skipped');
        else log.info({ ms }, 'handled');
        return settlement.as;
      }
      case 'nak': {
        span.setStatus({ code: SpanStatusCode.ERROR, message: settlement.reason });
        this.#count(METRIC.failed, t.type);
        log.warn(
          {
            err: settlement.reason,
            ms,
            retryInMs: settlement.delayMs,
            attemptsLeft: this.#s.maxDeliver - d.msg.info.deliveryCount,
          },
          'handler failed; will retry',
        );
        d.nak(settlement.delayMs);
        return 'retry';
      }
      case 'deadLetter':
        span.setStatus({ code: SpanStatusCode.ERROR, message: settlement.reason });
        // A transient failure that ran out of attempts is a failed attempt too (as it always counted).
        if (ran && !settlement.permanent) this.#count(METRIC.failed, t.type);
        await this.#deadLetter(s, settlement);
        return 'dead_lettered';
      case 'cancelled': {
        const err = d.ack();
        if (err) log.warn({ err: describeError(err) }, 'ack failed; the message will be redelivered');
        this.#count(METRIC.cancelled, t.type);
        const record = d.jobId ? this.#cancelled?.get(d.jobId) : undefined;
        log.info(
          { ms, by: record?.by, reason: record?.reason },
          ran
            ? 'job cancelled: handler stopped, message settled as cancelled'
            : 'job cancelled: message settled without running the handler',
        );
        return 'cancelled';
      }
    }
  }

  /** Dead letter, then `job.failed` for the job (when it has one), then term. */
  async #deadLetter(s: Scope, dl: Extract<Settlement, { action: 'deadLetter' }>): Promise<void> {
    const { d, t, log } = s;
    const { msg } = d;
    const { reason, step, permanent } = dl;
    const seq = await writeDeadLetter({
      bus: this.#bus,
      service: this.#service,
      type: t.type,
      msg,
      reason,
      step,
      held: () => !d.settled,
      working: () => d.working(),
      signal: this.#stopCtl.signal,
    });
    // A dead-lettered job.failed must not beget another job.failed (a loop through its own consumers).
    if (d.jobId && t.type !== 'job.failed') {
      try {
        await this.#bus.publishWithContext(
          s.trace,
          'job.failed',
          d.jobId,
          {
            step,
            reason: reason.slice(0, 4000),
            permanent,
            service: this.#service,
            attempts: msg.info.deliveryCount,
            deadLetter: { stream: this.#bus.names.deadLetterStream, seq },
          },
          { id: `job.failed:${d.jobId}:${step}:${seq}` },
        );
      } catch (err) {
        if (!isPermanent(err)) throw err;
        log.error(
          { err: describeError(err) },
          'cannot publish job.failed (invalid); the dead letter is kept',
        );
      }
    } else if (!d.jobId) {
      log.warn('no job id in the message: dead-lettered without job.failed');
    }
    d.term();
    this.#count(METRIC.deadLettered, t.type);
    log.error(
      { reason, step, permanent, deadLetterSeq: seq, deliveries: msg.info.deliveryCount },
      'message dead-lettered',
    );
  }

  /** Reads each consumer's pending counts (lag) into the metrics. */
  async #pollLag(): Promise<void> {
    if (this.#lagPolling || this.#stopping || this.#bus.nc.isClosed()) return;
    this.#lagPolling = true;
    try {
      for (const t of this.#types) {
        const info = await this.#bus.jsm.consumers
          .info(this.#bus.names.eventsStream, t.consumerName)
          .catch(() => undefined);
        if (!info) continue;
        const labels = { service: this.#service, type: t.type, consumer: t.consumerName };
        metrics.set(METRIC.consumerPending, labels, info.num_pending, METRIC_HELP[METRIC.consumerPending]);
        metrics.set(
          METRIC.consumerAckPending,
          labels,
          info.num_ack_pending,
          METRIC_HELP[METRIC.consumerAckPending],
        );
      }
    } finally {
      this.#lagPolling = false;
    }
  }
}
