import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { JetStreamApiError, type JsMsg, type StoredMsg } from '@nats-io/jetstream';
import { HEADERS, parseEnvelope, type EventOf, type EventType } from '@reelbus/contracts';
import { PermanentError } from '../errors.ts';
import { isJsApiError, JS_API_CODE } from './api-codes.ts';
import type { Bus } from './bus.ts';

/** Header naming the one service a replayed dead letter is meant for (others ack and skip it). */
export const REPLAY_FOR_HEADER = HEADERS.replayFor;
/** The `Nats-Msg-Id` a dead letter had before it was dead-lettered. */
export const ORIGINAL_MSG_ID_HEADER = HEADERS.originalMsgId;

/**
 * The headers of the dead-letter copy of `msg`: the original ones (its `Nats-Msg-Id` kept as
 * `Reelbus-Original-Msg-Id`) plus the `Reelbus-Dlq-*` reason headers.
 */
export function deadLetterHeaders(opts: {
  msg: Pick<JsMsg, 'headers' | 'subject' | 'info'>;
  reason: string;
  service: string;
  step: string;
  at?: Date;
}): MsgHdrs {
  const { msg, reason, service, step, at = new Date() } = opts;
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
  h.set(HEADERS.dlqAt, at.toISOString());
  return h;
}

/**
 * Copies `msg` (original bytes, headers + reason) to the dead-letter stream and returns its sequence
 * there. One dead letter per (service, stored message): a redelivery after a crash half-way is
 * deduplicated by its `Nats-Msg-Id`. Tries 3 times, sending `working()` between tries; gives up early
 * when `held()` turns false (the message was released at shutdown).
 */
export async function writeDeadLetter(opts: {
  bus: Bus;
  service: string;
  type: EventType;
  msg: JsMsg;
  reason: string;
  step: string;
  held: () => boolean;
  working: () => void;
  /** Aborts the waits between tries (shutdown). */
  signal: AbortSignal;
}): Promise<number> {
  const { bus, service, type, msg, reason, step, held, working, signal } = opts;
  const headers = deadLetterHeaders({ msg, reason, service, step });
  const msgID = `dlq:${service}:${msg.info.stream}:${msg.info.streamSequence}`;
  for (let attempt = 1; ; attempt++) {
    try {
      const pa = await bus.js.publish(bus.names.deadLetterSubject(service, type), msg.data, {
        msgID,
        headers,
      });
      return pa.seq;
    } catch (err) {
      if (attempt >= 3 || !held()) throw err;
      working();
      await abortableDelay(attempt * 1_000, signal);
    }
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
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

/** The part of the kit `Bus` the dead-letter tools use (a `Bus` is one). */
export type DeadLetterBus = Pick<Bus, 'js' | 'jsm' | 'names' | 'logger'>;

/** One message in the dead-letter stream, with why it is there. */
export interface DeadLetter {
  /** Sequence in the dead-letter stream: what `getDeadLetter` / `replayDeadLetter` take. */
  seq: number;
  /** When it was dead-lettered. */
  at: string;
  reason: string;
  service: string;
  step: string;
  /** The events subject it was read from, and where a replay sends it. */
  originalSubject: string;
  /** Its sequence in the events stream. */
  originalSeq: number | undefined;
  deliveries: number | undefined;
  /** The original `Nats-Msg-Id` (the envelope id for well-formed events). */
  originalId: string | undefined;
  type: string | undefined;
  jobId: string | undefined;
  /** The decoded envelope, when the message is a valid event (it may be one a consumer failed on). */
  event: EventOf<EventType> | undefined;
  /** Why the bytes are not a valid envelope, when they are not. */
  invalid: string | undefined;
  /** The original bytes as text. */
  raw: string;
  headers: Record<string, string>;
}

function headerRecord(h: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (h) for (const [k, vs] of h) out[k] = vs.join(', ');
  return out;
}

function toDeadLetter(m: StoredMsg): DeadLetter {
  const h = m.header;
  const get = (k: string) => (h?.has(k) ? h.get(k) : undefined) || undefined;
  const num = (k: string) => {
    const v = get(k);
    return v === undefined ? undefined : Number(v);
  };
  const parsed = parseEnvelope(m.data);
  return {
    seq: m.seq,
    at: get(HEADERS.dlqAt) ?? m.time.toISOString(),
    reason: get(HEADERS.dlqReason) ?? '(no reason recorded)',
    service: get(HEADERS.dlqService) ?? '',
    step: get(HEADERS.dlqStep) ?? '',
    originalSubject: get(HEADERS.dlqSubject) ?? '',
    originalSeq: num(HEADERS.dlqStreamSeq),
    deliveries: num(HEADERS.dlqDeliveries),
    originalId: get(ORIGINAL_MSG_ID_HEADER) ?? (parsed.ok ? parsed.event.id : parsed.partial?.id),
    type: parsed.ok ? parsed.event.type : (parsed.partial?.type ?? get(HEADERS.type)),
    jobId: parsed.ok ? parsed.event.jobId : (parsed.partial?.jobId ?? get(HEADERS.jobId)),
    event: parsed.ok ? parsed.event : undefined,
    invalid: parsed.ok ? undefined : parsed.reason,
    raw: new TextDecoder().decode(m.data),
    headers: headerRecord(h),
  };
}

/**
 * Dead letters, oldest first (up to `limit`, default 100), starting at `fromSeq`; with `jobId`, only
 * that job's (the whole stream is read until `limit` of them are found).
 */
export async function listDeadLetters(
  bus: DeadLetterBus,
  opts: { limit?: number; fromSeq?: number; jobId?: string } = {},
): Promise<DeadLetter[]> {
  const { limit = 100, fromSeq = 0, jobId } = opts;
  const stream = bus.names.deadLetterStream;
  const info = await bus.jsm.streams.info(stream);
  const out: DeadLetter[] = [];
  if (info.state.messages === 0) return out;
  for (
    let seq = Math.max(fromSeq, info.state.first_seq);
    seq <= info.state.last_seq && out.length < limit;
    seq++
  ) {
    const m = await getStored(bus, seq);
    if (!m) continue;
    const dl = toDeadLetter(m);
    if (jobId === undefined || dl.jobId === jobId) out.push(dl);
  }
  return out;
}

async function getStored(bus: DeadLetterBus, seq: number): Promise<StoredMsg | undefined> {
  try {
    return (await bus.jsm.streams.getMessage(bus.names.deadLetterStream, { seq })) ?? undefined;
  } catch (err) {
    if (
      isJsApiError(err, JS_API_CODE.NoMessageFound) ||
      (err instanceof JetStreamApiError && err.status === 404)
    )
      return undefined;
    throw err;
  }
}

/** One dead letter with its reason, or undefined when there is none at `seq`. */
export async function getDeadLetter(bus: DeadLetterBus, seq: number): Promise<DeadLetter | undefined> {
  const m = await getStored(bus, seq);
  return m ? toDeadLetter(m) : undefined;
}

/** What `replayDeadLetter` did: where the message went again, and whether the dead letter was removed. */
export interface ReplayResult {
  /** The events stream and the replay's sequence in it. */
  stream: string;
  seq: number;
  /** The replay's `Nats-Msg-Id`: `<original id>:replay:<dead-letter seq>`. */
  msgId: string;
  /** The dead letter that was replayed (as it was before). */
  deadLetter: DeadLetter;
  /** True when `remove` was asked and the dead letter is gone from the stream. */
  removed: boolean;
}

/** Why a dead letter cannot be replayed: there is none at that sequence, or it does not say where from. */
export class DeadLetterReplayError extends PermanentError {
  override name = 'DeadLetterReplayError';
  readonly reason: 'not_found' | 'no_subject';
  constructor(reason: 'not_found' | 'no_subject', message: string) {
    super(message);
    this.reason = reason;
  }
}

/**
 * Publishes the original bytes of dead letter `seq` to its original subject again, with a new
 * `Nats-Msg-Id` (`<id>:replay:<seq>`) so JetStream does not drop it as a duplicate (and drops a
 * second replay of the same dead letter within its duplicate window). Only the service that gave up
 * on it handles the replay; the others ack and skip it. With `remove`, the dead letter is deleted
 * once the replay is stored (what the CLI and `POST /v1/dead-letters/:seq/replay` do); without, it
 * stays (delete it with `deleteDeadLetter`). Throws a `DeadLetterReplayError` when there is nothing
 * to replay.
 */
export async function replayDeadLetter(
  bus: DeadLetterBus,
  seq: number,
  opts: { remove?: boolean } = {},
): Promise<ReplayResult> {
  const m = await getStored(bus, seq);
  if (!m)
    throw new DeadLetterReplayError(
      'not_found',
      `no dead letter at sequence ${seq} in ${bus.names.deadLetterStream}`,
    );
  const dl = toDeadLetter(m);
  if (!dl.originalSubject)
    throw new DeadLetterReplayError(
      'no_subject',
      `dead letter ${seq} has no ${HEADERS.dlqSubject} header: cannot tell where to replay it`,
    );
  const h = natsHeaders();
  for (const [k, vs] of m.header ?? []) {
    if (
      k.toLowerCase().startsWith('reelbus-dlq-') ||
      k === ORIGINAL_MSG_ID_HEADER ||
      k.toLowerCase() === HEADERS.msgId.toLowerCase()
    )
      continue;
    for (const v of vs) h.append(k, v);
  }
  if (dl.service) h.set(REPLAY_FOR_HEADER, dl.service);
  const msgId = `${dl.originalId ?? `dlq-${seq}`}:replay:${seq}`;
  const pa = await bus.js.publish(dl.originalSubject, m.data, { msgID: msgId, headers: h });
  bus.logger.info(
    { deadLetterSeq: seq, subject: dl.originalSubject, msgId, seq: pa.seq, jobId: dl.jobId },
    'dead letter replayed',
  );
  const removed = opts.remove ? await deleteDeadLetter(bus, seq) : false;
  return { stream: pa.stream, seq: pa.seq, msgId, deadLetter: dl, removed };
}

/** Removes dead letter `seq` (e.g. after a successful replay); false when it was already gone. */
export async function deleteDeadLetter(bus: DeadLetterBus, seq: number): Promise<boolean> {
  try {
    return await bus.jsm.streams.deleteMessage(bus.names.deadLetterStream, seq);
  } catch (err) {
    // a concurrent replay of the same dead letter removed it first
    if (
      isJsApiError(
        err,
        JS_API_CODE.NoMessageFound,
        JS_API_CODE.SequenceNotFound,
        JS_API_CODE.MessageDeleteFailed,
      )
    )
      return false;
    throw err;
  }
}

/** Removes every dead letter of `jobId` (job deletion); returns how many. */
export async function deleteJobDeadLetters(bus: Bus, jobId: string): Promise<number> {
  let removed = 0;
  let fromSeq = 0;
  for (;;) {
    const page = await listDeadLetters(bus, { limit: 500, fromSeq });
    if (page.length === 0) return removed;
    for (const dl of page) {
      if (dl.jobId === jobId && (await deleteDeadLetter(bus, dl.seq))) removed += 1;
    }
    fromSeq = page[page.length - 1]!.seq + 1;
  }
}
