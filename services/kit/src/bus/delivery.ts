import type { JsMsg } from '@nats-io/jetstream';
import type { EventType } from '@reelbus/contracts';
import type { JobCancelledError } from '../errors.ts';

/**
 * One message in hand: settled exactly once (the first of ack / nak / term wins, later calls do
 * nothing), the abort controller its handler's `ctx.signal` comes from, and the job it belongs to
 * (so a cancellation finds it).
 */
export class Delivery {
  readonly msg: JsMsg;
  readonly type: EventType;
  /** Set as soon as the message is parsed (before anything awaits), so a cancel cannot slip past. */
  jobId: string | undefined;
  readonly done: Promise<void>;
  readonly #abort = new AbortController();
  #settled = false;
  #cancelled = false;
  #resolveDone!: () => void;

  constructor(opts: { msg: JsMsg; type: EventType }) {
    this.msg = opts.msg;
    this.type = opts.type;
    this.done = new Promise((r) => (this.#resolveDone = r));
  }

  /** True once acked, naked or terminated: nothing more is sent for it. */
  get settled(): boolean {
    return this.#settled;
  }

  /** True once its job was cancelled while it was in hand. */
  get cancelled(): boolean {
    return this.#cancelled;
  }

  /** The handler's `ctx.signal`. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /**
   * Acks without waiting for the server's confirmation (`ack()`, not `ackAck()`): an ack lost with
   * the connection only means a redelivery after AckWait, which deterministic outputs absorb — what an
   * unconfirmed `ackAck()` led to as well, at the price of a request per message (measured: 64 in
   * flight 3100 → 5500 msg/s). Shutdown drains the connection, which flushes acks still buffered.
   * Returns the error when the ack could not even be queued.
   */
  ack(): unknown {
    if (!this.#take()) return undefined;
    try {
      this.msg.ack();
      return undefined;
    } catch (err) {
      return err;
    }
  }

  /** Hands the message back for a redelivery after `delayMs`. */
  nak(delayMs = 0): void {
    if (!this.#take()) return;
    try {
      this.msg.nak(delayMs);
    } catch {
      // connection gone: AckWait expiry redelivers it
    }
  }

  /** Tells JetStream never to redeliver it (after it was dead-lettered). */
  term(): void {
    if (!this.#take()) return;
    try {
      this.msg.term();
    } catch {
      // connection gone: the redelivery dead-letters again, deduplicated by the dead letter's msg id
    }
  }

  /** Resets AckWait while the handler works (nothing once settled). */
  working(): void {
    if (this.#settled) return;
    try {
      this.msg.working();
    } catch {
      // connection gone: nothing to keep alive
    }
  }

  /** Its job was cancelled: abort the handler with `reason` (it settles when the handler returns). */
  cancel(reason: JobCancelledError): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    this.#abort.abort(reason);
  }

  /** Shutdown past the grace period: hand the message back now and abort the handler. */
  release(): void {
    this.nak(0);
    if (!this.#abort.signal.aborted) this.#abort.abort(new Error('service shutting down'));
  }

  /** The loop is done with it (settled or released, its span ended). */
  finish(): void {
    this.#resolveDone();
  }

  #take(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    return true;
  }
}
