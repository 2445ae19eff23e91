import { randomUUID } from 'node:crypto';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { context as otelContext, SpanKind, SpanStatusCode, trace, type Context } from '@opentelemetry/api';
import type { KV } from '@nats-io/kv';
import {
  findEvent,
  formatIssues,
  HEADERS,
  JobId,
  latestEvent,
  names as makeNames,
  parseEnvelope,
  type EventDataInput,
  type EventDefinition,
  type EventOf,
  type EventType,
  type Names,
} from '@reelbus/contracts';
import type { Logger } from 'pino';
import { describeError, PermanentError, TransientError } from '../errors.ts';
import { silentLogger } from '../logger.ts';
import type { BusHandle } from '../runtime/types.ts';
import { tracer } from '../telemetry/telemetry.ts';
import { isJsApiError, JS_API_CODE } from './api-codes.ts';
import { CancelledJobs, openCancelledBucket, parseCancelRecord, type CancelRecord } from './cancellation.ts';
import { startConsumer } from './consume.ts';
import { streamConfigs, type StreamDefinition } from './streams.ts';
import { injectTrace } from './trace.ts';
import type { CancelJobOptions, ConsumeOptions, Consumer, PublishOptions } from './types.ts';

/** What `Bus.cancelJob` did. */
export interface CancelJobResult {
  /** The `job.cancelled` event (id `job.cancelled:<jobId>`). */
  event: EventOf<'job.cancelled'>;
  /** The job was cancelled before: the first cancel's reason and author stand. */
  alreadyCancelled: boolean;
  /** What the cancelled-jobs bucket holds for the job. */
  cancel: CancelRecord;
}

export interface BusConnectOptions {
  /** NATS URLs, e.g. `nats://127.0.0.1:4222`. */
  servers: string | string[];
  /** Prefix of every subject, stream and consumer (default `reelbus`). */
  namespace?: string;
  /** Connection name shown by the server (the service name). */
  name: string;
  logger?: Logger;
  /** Replicas of the streams `ensureStreams` creates (3 in the cluster profile). */
  replicas?: number;
  /** Keep trying to reach NATS at start instead of failing at once (default true). */
  waitOnFirstConnect?: boolean;
}

/**
 * The connection to NATS JetStream: typed publish, the consume loop, stream setup and a live view
 * of one job's events. Reconnects forever; `close()` stops consumers and drains.
 */
export class Bus implements BusHandle {
  readonly names: Names;
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly logger: Logger;
  readonly replicas: number;
  /** The connection name (the service). */
  readonly name: string;
  readonly #consumers = new Set<Consumer>();
  #connected = true;
  #cancelledBucket: Promise<KV> | undefined;
  #cancelledJobs: Promise<CancelledJobs> | undefined;

  private constructor(opts: {
    nc: NatsConnection;
    jsm: JetStreamManager;
    names: Names;
    logger: Logger;
    replicas: number;
    name: string;
  }) {
    this.name = opts.name;
    this.nc = opts.nc;
    this.jsm = opts.jsm;
    this.js = jetstream(opts.nc);
    this.names = opts.names;
    this.logger = opts.logger;
    this.replicas = opts.replicas;
    void this.#watchStatus();
  }

  /** Connects to NATS (reconnecting forever after the first connection). */
  static async connect(opts: BusConnectOptions): Promise<Bus> {
    const {
      servers,
      namespace,
      name,
      logger = silentLogger(),
      replicas = 1,
      waitOnFirstConnect = true,
    } = opts;
    const names = makeNames(namespace);
    const nc = await connect({
      servers,
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1_000,
      waitOnFirstConnect,
    });
    logger.info({ server: nc.getServer(), namespace: names.namespace }, 'connected to NATS');
    const jsm = await jetstreamManager(nc);
    return new Bus({ nc, jsm, names, logger, replicas, name });
  }

  async #watchStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      switch (s.type) {
        case 'disconnect':
          this.#connected = false;
          this.logger.warn({ server: s.server }, 'disconnected from NATS; reconnecting');
          break;
        case 'reconnect':
          this.#connected = true;
          this.logger.info({ server: s.server }, 'reconnected to NATS');
          break;
        case 'error':
          this.logger.error({ err: s.error }, 'NATS error');
          break;
        default:
          break;
      }
    }
  }

  /** True while the connection is up (readiness). */
  isConnected(): boolean {
    return this.#connected && !this.nc.isClosed() && !this.nc.isDraining();
  }

  /**
   * Creates the events and dead-letter streams, or brings an existing stream's config up to date
   * where JetStream allows it. Safe to run from every replica at every start.
   */
  async ensureStreams(): Promise<void> {
    const { events, deadLetters } = streamConfigs({ names: this.names, replicas: this.replicas });
    await this.#ensureStream(events);
    await this.#ensureStream(deadLetters);
  }

  async #ensureStream(def: StreamDefinition): Promise<void> {
    const cfg = def as unknown as StreamConfig;
    try {
      await this.jsm.streams.add(cfg);
      this.logger.debug({ stream: def.name }, 'stream ready');
      return;
    } catch (err) {
      if (!isJsApiError(err, JS_API_CODE.StreamNameInUse)) {
        throw new TransientError(`cannot create stream ${def.name}: ${describeError(err)}`, { cause: err });
      }
    }
    // It exists with another config: update what may change (storage and retention cannot).
    const { name, retention: _r, storage: _s, ...changeable } = def;
    try {
      await this.jsm.streams.update(name, changeable as unknown as Partial<StreamConfig>);
      this.logger.info({ stream: name }, 'stream config updated');
    } catch (err) {
      this.logger.warn(
        { stream: name, err: describeError(err) },
        'stream exists with a config that cannot be updated; using it as it is',
      );
    }
  }

  /** Validates `data`, wraps it in an envelope and publishes it (see Publisher). */
  publish<T extends EventType>(
    type: T,
    jobId: string,
    data: EventDataInput<T>,
    opts: PublishOptions = {},
  ): Promise<EventOf<T>> {
    return this.publishWithContext(otelContext.active(), type, jobId, data, opts);
  }

  /** `publish` with the trace context given explicitly (the consume loop passes the message's). */
  async publishWithContext<T extends EventType>(
    ctx: Context,
    type: T,
    jobId: string,
    data: EventDataInput<T>,
    opts: PublishOptions = {},
  ): Promise<EventOf<T>> {
    const event = buildEnvelope({
      type,
      jobId,
      data,
      id: opts.id,
      version: opts.version,
      testMode: opts.testMode,
    });
    const subject = this.names.eventSubject(type);
    const body = JSON.stringify(event);
    // OpenTelemetry messaging conventions for the PRODUCER span; its context goes into the headers,
    // so every consumer span of this message (first delivery and redeliveries) is its child.
    const span = tracer().startSpan(
      `send ${subject}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': 'nats',
          'messaging.operation.type': 'send',
          'messaging.operation.name': 'send',
          'messaging.destination.name': subject,
          'messaging.message.id': event.id,
          'messaging.message.body.size': Buffer.byteLength(body),
          'messaging.client.id':
            this.nc.info?.client_id !== undefined ? `${this.name}#${this.nc.info.client_id}` : this.name,
          'reelbus.event.type': type,
          'reelbus.job_id': jobId,
          ...(event.testMode ? { 'reelbus.test_mode': true } : {}),
        },
      },
      ctx,
    );
    try {
      const h = natsHeaders();
      for (const [k, v] of Object.entries(opts.headers ?? {})) h.set(k, v);
      h.set(HEADERS.type, event.type);
      h.set(HEADERS.version, String(event.version));
      h.set(HEADERS.jobId, event.jobId);
      injectTrace(trace.setSpan(ctx, span), h);
      const ack = await this.js.publish(subject, body, { msgID: event.id, headers: h });
      span.setAttribute('reelbus.duplicate', ack.duplicate);
      span.setAttribute('messaging.nats.stream_sequence', ack.seq);
      if (ack.duplicate)
        this.logger.debug({ type, jobId, eventId: event.id }, 'duplicate event id: JetStream kept the first');
      return event as EventOf<T>;
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: describeError(err) });
      if (err instanceof PermanentError) throw err;
      throw new TransientError(`cannot publish ${type} for job ${jobId}: ${describeError(err)}`, {
        cause: err,
      });
    } finally {
      span.end();
    }
  }

  /** Starts the consume loop (see ConsumeOptions). */
  async consume(opts: ConsumeOptions): Promise<Consumer> {
    const consumer = await startConsumer({ ...opts, bus: this });
    this.#consumers.add(consumer);
    void consumer.closed.then(() => this.#consumers.delete(consumer));
    return consumer;
  }

  /** The bucket of cancelled job ids, opened (created when missing) on first use. */
  #openCancelledBucket(): Promise<KV> {
    this.#cancelledBucket ??= openCancelledBucket({
      nc: this.nc,
      bucket: this.names.cancelledBucket,
      replicas: this.replicas,
    }).catch((err: unknown) => {
      this.#cancelledBucket = undefined;
      throw err;
    });
    return this.#cancelledBucket;
  }

  /**
   * The live set of cancelled jobs, shared by every consumer of this connection: a watch of the
   * `<namespace>_cancelled` bucket, started on first use and loaded before this resolves.
   */
  cancelledJobs(): Promise<CancelledJobs> {
    this.#cancelledJobs ??= this.#openCancelledBucket()
      .then((kv) =>
        CancelledJobs.watch({ kv, logger: this.logger, connectionClosed: () => this.nc.isClosed() }),
      )
      .catch((err: unknown) => {
        this.#cancelledJobs = undefined;
        throw err;
      });
    return this.#cancelledJobs;
  }

  /**
   * Cancels a job: writes its id to the cancelled-jobs bucket (every consuming service then aborts
   * its handlers in hand for the job and settles its later messages as cancelled), then publishes
   * `job.cancelled` (id `job.cancelled:<jobId>`) for the read model and webhooks. Idempotent: a job
   * cancelled again keeps its first reason and author. The job document is not touched here.
   */
  async cancelJob(jobId: string, opts: CancelJobOptions = {}): Promise<CancelJobResult> {
    const { reason, by, testMode } = opts;
    if (!JobId.safeParse(jobId).success) {
      throw new PermanentError(`jobId: "${jobId}" is not a job id (1-128 letters, digits, "-" or "_")`);
    }
    const data = { ...(reason !== undefined ? { reason } : {}), ...(by !== undefined ? { by } : {}) };
    // Checked before anything is written: a bad reason fails with nothing cancelled.
    buildEnvelope({ type: 'job.cancelled', jobId, data });
    const kv = await this.#openCancelledBucket();
    let cancel: CancelRecord = { at: new Date().toISOString(), ...data };
    let alreadyCancelled = false;
    try {
      await kv.create(jobId, JSON.stringify(cancel));
    } catch (err) {
      if (
        !isJsApiError(err, JS_API_CODE.StreamWrongLastSequence, JS_API_CODE.StreamWrongLastSequenceUnknown)
      ) {
        throw new TransientError(`cannot cancel job ${jobId}: ${describeError(err)}`, { cause: err });
      }
      alreadyCancelled = true;
      const entry = await kv.get(jobId);
      if (entry) cancel = parseCancelRecord({ value: entry.string(), fallbackAt: entry.created });
    }
    const event = await this.publish(
      'job.cancelled',
      jobId,
      {
        ...(cancel.reason !== undefined ? { reason: cancel.reason } : {}),
        ...(cancel.by !== undefined ? { by: cancel.by } : {}),
      },
      { id: `job.cancelled:${jobId}`, ...(testMode ? { testMode } : {}) },
    );
    this.logger.info({ jobId, by: cancel.by, reason: cancel.reason, alreadyCancelled }, 'job cancelled');
    return { event, alreadyCancelled, cancel };
  }

  /** A live core-NATS view of one job's events (no history: use the job store for that). */
  watchJob(jobId: string, onEvent: (event: EventOf<EventType>) => void): { stop(): void } {
    return this.watchEvents(onEvent, { jobId });
  }

  /**
   * A live core-NATS view of every job's events, or of one job's with `jobId` (no history: use the
   * job store for that). Invalid messages are skipped; `ready` resolves once the server has the
   * subscription (events published after it are seen); `stop()` ends it.
   */
  watchEvents(
    onEvent: (event: EventOf<EventType>) => void,
    opts: { jobId?: string } = {},
  ): { stop(): void; ready: Promise<void> } {
    const { jobId } = opts;
    const sub = this.nc.subscribe(this.names.allEvents, {
      callback: (err, msg) => {
        if (err) {
          this.logger.warn({ err: describeError(err), jobId }, 'event watch ended');
          return;
        }
        if (jobId !== undefined && msg.headers?.get(HEADERS.jobId) !== jobId) return;
        const parsed = parseEnvelope(msg.data);
        if (!parsed.ok) {
          this.logger.debug({ jobId, reason: parsed.reason }, 'event watch skipped an invalid event');
          return;
        }
        try {
          onEvent(parsed.event);
        } catch (e) {
          this.logger.error({ err: describeError(e), jobId }, 'event watch callback threw');
        }
      },
    });
    const ready = this.nc.flush();
    ready.catch(() => undefined); // callers that do not wait for it must not see an unhandled rejection
    return { stop: () => sub.unsubscribe(), ready };
  }

  /** Stops every consumer (naking what is in hand after `graceMs`) and drains the connection. */
  async close(graceMs = 0): Promise<void> {
    await Promise.all([...this.#consumers].map((c) => c.stop(graceMs)));
    const cancelled = await this.#cancelledJobs?.catch(() => undefined);
    cancelled?.stop();
    if (this.nc.isClosed()) return;
    try {
      await this.nc.drain();
    } catch (err) {
      this.logger.debug({ err: describeError(err) }, 'drain failed; closing');
      await this.nc.close();
    }
  }
}

/** Builds and validates an envelope; a PermanentError names each bad field. */
export function buildEnvelope<T extends EventType>(opts: {
  type: T;
  jobId: string;
  data: EventDataInput<T>;
  id?: string | undefined;
  version?: number | undefined;
  /** Only `true` is written: an envelope without the field is a normal job's. */
  testMode?: boolean | undefined;
}): EventOf<T> {
  const { type, jobId, data, id = randomUUID(), version, testMode } = opts;
  let def: EventDefinition | undefined;
  if (version === undefined) {
    try {
      def = latestEvent(type);
    } catch {
      def = undefined;
    }
  } else {
    def = findEvent(type, version);
  }
  if (!def) {
    throw new PermanentError(
      `cannot publish "${type}"${version ? ` v${version}` : ''}: no such event in the catalogue`,
    );
  }
  const envelope = {
    id,
    type,
    version: def.version,
    jobId,
    occurredAt: new Date().toISOString(),
    ...(testMode ? { testMode: true } : {}),
    data,
  };
  const res = def.envelope.safeParse(envelope);
  if (!res.success) {
    throw new PermanentError(`invalid ${type} v${def.version} for job ${jobId}: ${formatIssues(res.error)}`);
  }
  return res.data as EventOf<T>;
}
