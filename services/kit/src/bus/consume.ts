import { headers as natsHeaders } from '@nats-io/transport-node';
import {
  JetStreamApiError,
  type ConsumerConfig,
  type ConsumerMessages,
  type JsMsg,
} from '@nats-io/jetstream';
import { context as otelContext, SpanKind, SpanStatusCode, trace, type Context } from '@opentelemetry/api';
import { HEADERS, JobId, parseEnvelope, type EventOf, type EventType } from '@reelbus/contracts';
import type { Logger } from 'pino';
import { describeError, isPermanent } from '../errors.ts';
import { retryStartup } from '../runtime/startup-retry.ts';
import { DURATION_BUCKETS, METRIC, METRIC_HELP, metrics } from '../health/metrics.ts';
import { tracer } from '../telemetry/telemetry.ts';
import type { Bus } from './bus.ts';
import { consumerConfig, DEFAULT_ACK_WAIT_MS, DEFAULT_MAX_DELIVER } from './streams.ts';
import { extractTrace } from './trace.ts';
import type { ConsumeOptions, Consumer, Handler, HandlerContext, HandlerOutcome } from './types.ts';

/** Header naming the one service a replayed dead letter is meant for (others ack and skip it). */
export const REPLAY_FOR_HEADER = HEADERS.replayFor;
/** The `Nats-Msg-Id` a dead letter had before it was dead-lettered. */
export const ORIGINAL_MSG_ID_HEADER = HEADERS.originalMsgId;

const DEFAULT_BACKOFF_MS = [1_000, 2_000, 4_000, 8_000, 16_000];
/** A pull waits this long for messages when this process's slots are not contended. */
const LONG_PULL_MS = 30_000;
/** ... and this long when several event types share fewer slots, so each type gets a turn. */
const SHORT_PULL_MS = 1_000;
const PROGRESS_INTERVAL_MS = 1_000;
const DEFAULT_LAG_INTERVAL_MS = 5_000;

/**
 * OpenTelemetry messaging attributes of the CONSUMER span of one delivery (semantic conventions
 * v1.2x: system, operation, destination, message id, consumer group; NATS specifics under
 * `messaging.nats.*`, as other systems put theirs under `messaging.<system>.*`).
 */
export function consumerSpanAttributes(opts: {
  msg: JsMsg;
  service: string;
  consumer: string;
}): Record<string, string | number> {
  const { msg, service, consumer } = opts;
  return {
    'messaging.system': 'nats',
    'messaging.operation.type': 'process',
    'messaging.operation.name': 'process',
    'messaging.destination.name': msg.subject,
    'messaging.destination.subscription.name': consumer,
    'messaging.consumer.group.name': consumer,
    'messaging.client.id': service,
    'messaging.message.id': msg.headers?.get(HEADERS.msgId) || msg.headers?.get(ORIGINAL_MSG_ID_HEADER) || '',
    'messaging.message.body.size': msg.data.length,
    'messaging.nats.message.delivery_count': msg.info.deliveryCount,
    'messaging.nats.stream': msg.info.stream,
    'messaging.nats.stream_sequence': msg.info.streamSequence,
  };
}

/** Counting semaphore of work slots, shared by every event type of one consume() call. */
class Slots {
  #free: number;
  readonly #waiters: Array<(n: number) => void> = [];
  constructor(total: number) {
    this.#free = total;
  }
  /** Waits for at least one free slot and takes up to `max` (0 when cancelled). */
  acquire(max: number): Promise<number> {
    if (this.#free > 0 && this.#waiters.length === 0) {
      const n = Math.min(max, this.#free);
      this.#free -= n;
      return Promise.resolve(n);
    }
    return new Promise((resolve) => {
      this.#waiters.push((given) => {
        if (given === 0) return resolve(0);
        const n = Math.min(max, this.#free);
        this.#free -= n;
        resolve(n);
      });
    });
  }
  release(n: number): void {
    if (n <= 0) return;
    this.#free += n;
    while (this.#free > 0 && this.#waiters.length) this.#waiters.shift()!(1);
  }
  cancelWaiters(): void {
    while (this.#waiters.length) this.#waiters.shift()!(0);
  }
}

interface InFlight {
  msg: JsMsg;
  abort: AbortController;
  settled: boolean;
  done: Promise<void>;
}

interface TypeLoop {
  type: EventType;
  step: string;
  handle: Handler<EventType>;
  consumerName: string;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function validJobId(v: string | undefined | null): string | undefined {
  return v && JobId.safeParse(v).success ? v : undefined;
}

/** Creates or updates the durable pull consumer of (service, type). */
async function ensureConsumer(opts: {
  bus: Bus;
  service: string;
  type: string;
  ackWaitMs: number;
  maxDeliver: number;
}): Promise<string> {
  const { bus, service, type, ackWaitMs, maxDeliver } = opts;
  const def = consumerConfig({ names: bus.names, service, type, ackWaitMs, maxDeliver });
  const stream = bus.names.eventsStream;
  const cfg = def as unknown as Partial<ConsumerConfig>;
  try {
    const info = await bus.jsm.consumers.info(stream, def.durable_name);
    const c = info.config;
    if (
      c.ack_wait !== def.ack_wait ||
      c.max_deliver !== def.max_deliver ||
      c.description !== def.description
    ) {
      await bus.jsm.consumers.update(stream, def.durable_name, {
        ack_wait: def.ack_wait,
        max_deliver: def.max_deliver,
        description: def.description,
      });
      bus.logger.info({ consumer: def.durable_name }, 'consumer config updated');
    }
    if (c.filter_subject !== def.filter_subject) {
      bus.logger.warn(
        { consumer: def.durable_name, has: c.filter_subject, wants: def.filter_subject },
        'consumer filter differs and cannot be changed on this server; delete the consumer to recreate it',
      );
    }
    return def.durable_name;
  } catch (err) {
    if (!(err instanceof JetStreamApiError) || err.code !== 10014) throw err;
  }
  try {
    await bus.jsm.consumers.add(stream, cfg);
  } catch (err) {
    // another replica created it at the same moment
    await bus.jsm.consumers.info(stream, def.durable_name).catch(() => {
      throw err;
    });
  }
  bus.logger.info({ consumer: def.durable_name, filter: def.filter_subject }, 'consumer created');
  return def.durable_name;
}

/**
 * The consume loop: one durable pull consumer per (service, event type), pulling only as many
 * messages as there are free work slots; outcomes and errors map to ack / nak with backoff /
 * dead-letter + `job.failed` + term. See ConsumeOptions for the knobs.
 */
export async function startConsumer(opts: ConsumeOptions & { bus: Bus }): Promise<Consumer> {
  const {
    bus,
    service,
    handlers,
    concurrency = 1,
    ackWaitMs = DEFAULT_ACK_WAIT_MS,
    maxDeliver = DEFAULT_MAX_DELIVER,
    backoffMs = DEFAULT_BACKOFF_MS,
    heartbeatMs = Math.max(100, Math.floor(ackWaitMs / 3)),
    lagIntervalMs = DEFAULT_LAG_INTERVAL_MS,
  } = opts;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new Error(`concurrency must be a whole number ≥ 1 (got ${concurrency})`);
  const log = bus.logger.child({ service });
  const stream = bus.names.eventsStream;

  const loops: TypeLoop[] = [];
  for (const [type, entry] of Object.entries(handlers) as Array<
    [EventType, { step: string; handle: Handler<EventType> } | undefined]
  >) {
    if (!entry) continue;
    const consumerName = await retryStartup(
      `create the consumer of ${service} for ${type}`,
      () => ensureConsumer({ bus, service, type, ackWaitMs, maxDeliver }),
      { logger: bus.logger },
    );
    loops.push({ type, step: entry.step, handle: entry.handle, consumerName });
  }
  if (loops.length === 0) throw new Error(`consume(${service}): no handlers given`);

  const slots = new Slots(concurrency);
  const share = Math.max(1, Math.floor(concurrency / loops.length));
  const pullMs = loops.length > concurrency ? SHORT_PULL_MS : LONG_PULL_MS;
  const inFlight = new Set<InFlight>();
  const fetches = new Set<ConsumerMessages>();
  const stopCtl = new AbortController();
  let stopping = false;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));

  const labels = (type: string) => ({ service, type });
  const count = (name: string, type: string, by = 1) =>
    metrics.add(name, labels(type), by, name === METRIC.inFlight ? 'gauge' : 'counter', METRIC_HELP[name]);

  // ---- settling a message: exactly once -------------------------------------------------------

  /**
   * Acks without waiting for the server's confirmation (`ack()`, not `ackAck()`): an ack lost with the
   * connection only means a redelivery after AckWait, which deterministic outputs absorb — what an
   * unconfirmed `ackAck()` led to as well, at the price of a request per message (measured: 64 in
   * flight 3100 → 5500 msg/s). Shutdown drains the connection, which flushes acks still buffered.
   */
  async function ack(entry: InFlight, l: Logger): Promise<void> {
    if (entry.settled) return;
    entry.settled = true;
    try {
      entry.msg.ack();
    } catch (err) {
      l.warn({ err: describeError(err) }, 'ack failed; the message will be redelivered');
    }
  }

  function nak(entry: InFlight, delayMs: number): void {
    if (entry.settled) return;
    entry.settled = true;
    try {
      entry.msg.nak(delayMs);
    } catch {
      // connection gone: AckWait expiry redelivers it
    }
  }

  async function deadLetter(args: {
    entry: InFlight;
    loop: TypeLoop;
    reason: string;
    step: string;
    permanent: boolean;
    jobId: string | undefined;
    ctx: Context;
    l: Logger;
  }): Promise<void> {
    const { entry, loop, reason, step, permanent, jobId, ctx, l } = args;
    const { msg } = entry;
    const h = natsHeaders();
    if (msg.headers) {
      for (const [k, vs] of msg.headers) {
        if (k.toLowerCase() === HEADERS.msgId.toLowerCase()) continue;
        for (const v of vs) h.append(k, v);
      }
    }
    const originalId = msg.headers?.get(HEADERS.msgId);
    if (originalId) h.set(ORIGINAL_MSG_ID_HEADER, originalId);
    h.set(HEADERS.dlqReason, reason.replace(/[\r\n]+/g, ' ').slice(0, 4000));
    h.set(HEADERS.dlqService, service);
    h.set(HEADERS.dlqStep, step);
    h.set(HEADERS.dlqSubject, msg.subject);
    h.set(HEADERS.dlqStreamSeq, String(msg.info.streamSequence));
    h.set(HEADERS.dlqDeliveries, String(msg.info.deliveryCount));
    h.set(HEADERS.dlqAt, new Date().toISOString());
    // One dead letter per (service, stored message): a redelivery after a crash mid-way dedupes.
    const msgID = `dlq:${service}:${msg.info.stream}:${msg.info.streamSequence}`;
    let dlqSeq = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        const pa = await bus.js.publish(bus.names.deadLetterSubject(service, loop.type), msg.data, {
          msgID,
          headers: h,
        });
        dlqSeq = pa.seq;
        break;
      } catch (err) {
        if (attempt >= 3 || entry.settled) throw err;
        msg.working();
        await sleep(attempt * 1_000, stopCtl.signal);
      }
    }
    // A dead-lettered job.failed must not beget another job.failed (a loop through its own consumers).
    if (jobId && loop.type !== 'job.failed') {
      try {
        await bus.publishWithContext(
          ctx,
          'job.failed',
          jobId,
          {
            step,
            reason: reason.slice(0, 4000),
            permanent,
            service,
            attempts: msg.info.deliveryCount,
            deadLetter: { stream: bus.names.deadLetterStream, seq: dlqSeq },
          },
          { id: `job.failed:${jobId}:${step}:${dlqSeq}` },
        );
      } catch (err) {
        if (!isPermanent(err)) throw err;
        l.error({ err: describeError(err) }, 'cannot publish job.failed (invalid); the dead letter is kept');
      }
    } else if (!jobId) {
      l.warn('no job id in the message: dead-lettered without job.failed');
    }
    if (!entry.settled) {
      entry.settled = true;
      msg.term();
    }
    count(METRIC.deadLettered, loop.type);
    l.error(
      { reason, step, permanent, deadLetterSeq: dlqSeq, deliveries: msg.info.deliveryCount },
      'message dead-lettered',
    );
  }

  // ---- one message ----------------------------------------------------------------------------

  async function handleMessage(entry: InFlight, loop: TypeLoop): Promise<void> {
    const { msg } = entry;
    const deliveryCount = msg.info.deliveryCount;
    const parent = extractTrace(msg.headers);
    // The parent is the producer's span (from the message headers), so a job is one trace hop after
    // hop; a redelivery carries the same headers and gets the same parent, its delivery count telling
    // the attempts apart.
    const span = tracer().startSpan(
      `process ${msg.subject}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: consumerSpanAttributes({ msg, service, consumer: loop.consumerName }),
      },
      parent,
    );
    const ctx = trace.setSpan(parent, span);
    const sc = span.spanContext();
    const traceId = trace.isSpanContextValid(sc) ? sc.traceId : undefined;
    const parsed = parseEnvelope(msg.data);
    const jobId = parsed.ok
      ? parsed.event.jobId
      : (validJobId(parsed.partial?.jobId) ?? validJobId(msg.headers?.get(HEADERS.jobId)));
    const eventId = parsed.ok ? parsed.event.id : parsed.partial?.id;
    const l = log.child({
      jobId,
      traceId,
      eventId,
      type: loop.type,
      delivery: deliveryCount,
      seq: msg.info.streamSequence,
    });
    let settledAs = 'released';
    const fail = (err: unknown) => {
      span.setStatus({ code: SpanStatusCode.ERROR, message: describeError(err) });
    };
    const received = Date.now();
    try {
      const replayFor = msg.headers?.get(REPLAY_FOR_HEADER);
      if (replayFor && replayFor !== service) {
        l.debug({ replayFor }, 'replayed dead letter meant for another service: skipped');
        await ack(entry, l);
        settledAs = 'skip';
        return;
      }
      if (!parsed.ok || parsed.event.type !== loop.type) {
        const reason = parsed.ok
          ? `poison message: a ${parsed.event.type} event on the ${loop.type} subject`
          : `poison message: ${parsed.reason}`;
        fail(reason);
        await deadLetter({ entry, loop, reason, step: loop.step, permanent: true, jobId, ctx, l });
        settledAs = 'dead_lettered';
        return;
      }
      span.setAttribute('reelbus.job_id', parsed.event.jobId);
      const lastProgress = new Map<string, { status: string; at: number }>();
      const hctx: HandlerContext = {
        logger: l,
        deliveryCount,
        lastAttempt: deliveryCount >= maxDeliver,
        signal: entry.abort.signal,
        traceId,
        working: () => {
          if (!entry.settled) msg.working();
        },
        publish: (type, jid, data, popts) => bus.publishWithContext(ctx, type, jid, data, popts),
        progress: async (step, status, percent, message) => {
          const prev = lastProgress.get(step);
          const now = Date.now();
          if (prev && prev.status === status && now - prev.at < PROGRESS_INTERVAL_MS) return;
          lastProgress.set(step, { status, at: now });
          try {
            await bus.publishWithContext(ctx, 'job.progress', parsed.event.jobId, {
              step,
              status,
              ...(percent === undefined ? {} : { percent: Math.max(0, Math.min(100, percent)) }),
              ...(message === undefined ? {} : { message: message.slice(0, 2000) }),
              attempt: deliveryCount,
            });
          } catch (err) {
            l.warn({ err: describeError(err), step }, 'cannot publish job.progress');
          }
        },
        warn: async (step, message) => {
          await bus.publishWithContext(ctx, 'job.warning', parsed.event.jobId, {
            step,
            message: message.slice(0, 2000),
          });
        },
      };
      const heartbeat = setInterval(() => {
        if (!entry.settled) msg.working();
      }, heartbeatMs);
      let outcome: HandlerOutcome = undefined;
      let thrown: unknown;
      let threw = false;
      const started = Date.now();
      try {
        outcome = await otelContext.with(ctx, () => loop.handle(parsed.event as EventOf<EventType>, hctx));
      } catch (err) {
        threw = true;
        thrown = err;
      } finally {
        clearInterval(heartbeat);
      }
      const ms = Date.now() - started;
      if (entry.settled) {
        l.info({ ms }, 'handler finished after the message was released at shutdown; it will be redelivered');
        return;
      }
      if (!threw) {
        if (outcome && outcome.outcome === 'fail') {
          fail(outcome.reason);
          await deadLetter({
            entry,
            loop,
            reason: outcome.reason,
            step: outcome.step,
            permanent: true,
            jobId,
            ctx,
            l,
          });
          settledAs = 'dead_lettered';
          return;
        }
        await ack(entry, l);
        settledAs = outcome && outcome.outcome === 'skip' ? 'skip' : 'ok';
        count(METRIC.handled, loop.type);
        if (outcome && outcome.outcome === 'skip') l.info({ ms, reason: outcome.reason }, 'skipped');
        else l.info({ ms }, 'handled');
        return;
      }
      fail(thrown);
      if (thrown instanceof Error) span.recordException(thrown);
      const reason = describeError(thrown);
      if (isPermanent(thrown)) {
        const step = (thrown as { step?: string }).step ?? loop.step;
        await deadLetter({ entry, loop, reason, step, permanent: true, jobId, ctx, l });
        settledAs = 'dead_lettered';
        return;
      }
      count(METRIC.failed, loop.type);
      if (deliveryCount >= maxDeliver) {
        await deadLetter({
          entry,
          loop,
          reason: `gave up after ${deliveryCount} attempts: ${reason}`,
          step: (thrown as { step?: string }).step ?? loop.step,
          permanent: false,
          jobId,
          ctx,
          l,
        });
        settledAs = 'dead_lettered';
        return;
      }
      settledAs = 'retry';
      const delay = backoffMs[deliveryCount - 1] ?? backoffMs[backoffMs.length - 1] ?? 0;
      l.warn(
        { err: reason, ms, retryInMs: delay, attemptsLeft: maxDeliver - deliveryCount },
        'handler failed; will retry',
      );
      nak(entry, delay);
    } catch (err) {
      // Dead-lettering itself failed (NATS unreachable): keep the message, try again later.
      fail(err);
      const delay = backoffMs[deliveryCount - 1] ?? backoffMs[backoffMs.length - 1] ?? 1_000;
      l.error(
        { err: describeError(err), retryInMs: delay },
        'cannot settle the message; it will be redelivered',
      );
      nak(entry, delay);
      settledAs = 'retry';
    } finally {
      span.setAttribute('reelbus.outcome', settledAs);
      span.end();
      metrics.observe(
        METRIC.handlingSeconds,
        { service, type: loop.type, outcome: settledAs },
        (Date.now() - received) / 1000,
        { buckets: DURATION_BUCKETS, help: METRIC_HELP[METRIC.handlingSeconds] },
      );
    }
  }

  function dispatch(msg: JsMsg, loop: TypeLoop): void {
    let resolveDone!: () => void;
    const entry: InFlight = {
      msg,
      abort: new AbortController(),
      settled: false,
      done: new Promise((r) => (resolveDone = r)),
    };
    inFlight.add(entry);
    count(METRIC.inFlight, loop.type, 1);
    handleMessage(entry, loop)
      .catch((err) =>
        log.error({ err: describeError(err), type: loop.type }, 'unexpected error in the consume loop'),
      )
      .finally(() => {
        inFlight.delete(entry);
        count(METRIC.inFlight, loop.type, -1);
        slots.release(1);
        resolveDone();
      });
  }

  // ---- pulling --------------------------------------------------------------------------------

  /**
   * Pulls for one event type. A pull asks for as many messages as it holds free slots, and a new pull
   * starts as soon as a slot frees, while earlier pulls are still open: never more messages requested
   * than there are free slots (nothing waits in a local buffer), and no stop-and-go between batches.
   * One type's open pulls hold at most `share` slots, so the types of one consume() take turns.
   */
  async function pullLoop(loop: TypeLoop): Promise<void> {
    const l = log.child({ type: loop.type, consumer: loop.consumerName });
    let failures = 0;
    let retryAt = 0;
    let c: Awaited<ReturnType<typeof bus.js.consumers.get>> | undefined;
    /** Slots held by this loop's open pulls, not yet filled by a message. */
    let pending = 0;
    let wake: (() => void) | undefined;
    const drains = new Set<Promise<void>>();
    const unpend = (k: number) => {
      if (k <= 0) return;
      pending -= k;
      wake?.();
      wake = undefined;
    };

    const failed = async (err: unknown): Promise<void> => {
      failures++;
      c = undefined;
      const wait = Math.min(30_000, 500 * 2 ** Math.min(failures, 6));
      retryAt = Date.now() + wait;
      l.warn({ err: describeError(err), retryInMs: wait }, 'pull failed');
      if (err instanceof JetStreamApiError && err.code === 10014) {
        await ensureConsumer({ bus, service, type: loop.type, ackWaitMs, maxDeliver }).catch((e) =>
          l.error({ err: describeError(e) }, 'cannot recreate the consumer'),
        );
      }
    };

    const drain = async (iter: ConsumerMessages, n: number): Promise<void> => {
      let received = 0;
      try {
        for await (const msg of iter) {
          received++;
          unpend(1);
          if (stopping) {
            // arrived while stopping: give it straight back to another replica
            msg.nak();
            slots.release(1);
            continue;
          }
          dispatch(msg, loop);
        }
        failures = 0;
      } catch (err) {
        if (!stopping && !bus.nc.isClosed()) await failed(err);
      } finally {
        unpend(n - received);
        slots.release(n - received);
      }
    };

    while (!stopping && !bus.nc.isClosed()) {
      if (pending >= share) {
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      if (Date.now() < retryAt) {
        await sleep(retryAt - Date.now(), stopCtl.signal);
        continue;
      }
      const n = await slots.acquire(share - pending);
      if (n === 0) break;
      if (stopping) {
        slots.release(n);
        break;
      }
      let iter: ConsumerMessages;
      try {
        c ??= await bus.js.consumers.get(stream, loop.consumerName);
        iter = await c.fetch({ max_messages: n, expires: pullMs });
      } catch (err) {
        slots.release(n);
        if (stopping || bus.nc.isClosed()) break;
        await failed(err);
        continue;
      }
      if (stopping) {
        slots.release(n);
        await iter.close().catch(() => undefined);
        break;
      }
      pending += n;
      fetches.add(iter);
      const d: Promise<void> = drain(iter, n).finally(() => {
        fetches.delete(iter);
        drains.delete(d);
      });
      drains.add(d);
    }
    await Promise.all(drains);
  }

  // ---- consumer lag ---------------------------------------------------------------------------

  let lagPolling = false;
  async function pollLag(): Promise<void> {
    if (lagPolling || stopping || bus.nc.isClosed()) return;
    lagPolling = true;
    try {
      for (const loop of loops) {
        const info = await bus.jsm.consumers.info(stream, loop.consumerName).catch(() => undefined);
        if (!info) continue;
        const lagLabels = { service, type: loop.type, consumer: loop.consumerName };
        metrics.set(METRIC.consumerPending, lagLabels, info.num_pending, METRIC_HELP[METRIC.consumerPending]);
        metrics.set(
          METRIC.consumerAckPending,
          lagLabels,
          info.num_ack_pending,
          METRIC_HELP[METRIC.consumerAckPending],
        );
      }
    } finally {
      lagPolling = false;
    }
  }
  void pollLag();
  const lagTimer = setInterval(() => void pollLag(), lagIntervalMs);
  lagTimer.unref();

  const loopsDone = Promise.all(loops.map((loop) => pullLoop(loop)));
  void loopsDone.then(() => clearInterval(lagTimer));
  void loopsDone.then(async () => {
    if (!stopping) {
      // the connection closed under us: nothing more will arrive
      stopping = true;
      await Promise.all([...inFlight].map((e) => e.done));
      resolveClosed();
    }
  });
  log.info(
    {
      types: loops.map((l) => l.type),
      concurrency,
      ackWaitMs,
      maxDeliver,
      consumers: loops.map((l) => l.consumerName),
    },
    'consuming',
  );

  let stopPromise: Promise<void> | undefined;
  return {
    get inFlight() {
      return inFlight.size;
    },
    closed,
    stop(graceMs = 0) {
      stopPromise ??= (async () => {
        stopping = true;
        clearInterval(lagTimer);
        stopCtl.abort();
        slots.cancelWaiters();
        await Promise.all([...fetches].map((f) => f.close().catch(() => undefined)));
        const pending = [...inFlight];
        if (pending.length) {
          log.info({ inFlight: pending.length, graceMs }, 'stopping: waiting for messages in hand');
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            Promise.all(pending.map((e) => e.done)),
            new Promise<void>((r) => (timer = setTimeout(r, graceMs))),
          ]);
          clearTimeout(timer);
          for (const e of inFlight) {
            if (e.settled) continue;
            log.warn(
              { seq: e.msg.info.streamSequence },
              'grace period over: aborting the handler and releasing the message',
            );
            nak(e, 0);
            e.abort.abort(new Error('service shutting down'));
          }
        }
        await loopsDone;
        log.info('consumer stopped');
        resolveClosed();
      })();
      return stopPromise;
    },
  };
}
