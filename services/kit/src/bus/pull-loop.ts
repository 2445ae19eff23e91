import type { Consumer as JsConsumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { describeError } from '../errors.ts';
import { isJsApiError, JS_API_CODE } from './api-codes.ts';
import type { Bus } from './bus.ts';
import { abortableDelay } from './dead-letters.ts';
import type { Slots } from './slots.ts';

/** Waits after a failed pull: 1 s, 2 s, 4 s, … capped at 30 s. */
export function pullRetryDelay(failures: number): number {
  return Math.min(30_000, 500 * 2 ** Math.min(failures, 6));
}

export interface PullLoopOptions {
  bus: Bus;
  consumerName: string;
  /** Most slots this type's open pulls may hold, so the types of one consume() take turns. */
  share: number;
  /** How long one pull waits for messages. */
  pullMs: number;
  slots: Slots;
  logger: Logger;
  /** Takes a message in hand; it gives its slot back when done. */
  dispatch: (msg: JsMsg) => void;
  /** Re-creates the durable consumer after the server lost it. */
  recreateConsumer: () => Promise<unknown>;
}

/**
 * Pulls one event type's messages. A pull asks for as many messages as it holds free slots, and a
 * new pull starts as soon as a slot frees while earlier pulls are still open: never more messages
 * requested than there are free slots (nothing waits in a local buffer), and no stop-and-go between
 * batches. State lives in fields, as in nats.js's `PullConsumerMessagesImpl`.
 */
export class PullLoop {
  readonly #o: PullLoopOptions;
  #consumer: JsConsumer | undefined;
  #failures = 0;
  #retryAt = 0;
  /** Slots held by this loop's open pulls, not yet filled by a message. */
  #pending = 0;
  #wake: (() => void) | undefined;
  #stopping = false;
  readonly #stopCtl = new AbortController();
  readonly #fetches = new Set<ConsumerMessages>();
  readonly #drains = new Set<Promise<void>>();

  constructor(opts: PullLoopOptions) {
    this.#o = opts;
  }

  /** Pulls until `stop()` or the connection closes; resolves when every open pull has ended. */
  async run(): Promise<void> {
    while (this.#running()) {
      if (this.#pending >= this.#o.share) {
        await new Promise<void>((r) => (this.#wake = r));
        continue;
      }
      if (Date.now() < this.#retryAt) {
        await abortableDelay(this.#retryAt - Date.now(), this.#stopCtl.signal);
        continue;
      }
      const n = await this.#o.slots.acquire(this.#o.share - this.#pending);
      if (n === 0) break;
      if (!(await this.#pull(n))) break;
    }
    await Promise.all(this.#drains);
  }

  /** Stops pulling: open pulls are closed, messages still arriving are handed back. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#stopCtl.abort();
    this.#wakeUp();
    await Promise.all([...this.#fetches].map((f) => f.close().catch(() => undefined)));
  }

  #running(): boolean {
    return !this.#stopping && !this.#o.bus.nc.isClosed();
  }

  /** Opens one pull for `n` slots; false when the loop should end. */
  async #pull(n: number): Promise<boolean> {
    if (this.#stopping) {
      this.#o.slots.release(n);
      return false;
    }
    let iter: ConsumerMessages;
    try {
      this.#consumer ??= await this.#o.bus.js.consumers.get(
        this.#o.bus.names.eventsStream,
        this.#o.consumerName,
      );
      iter = await this.#consumer.fetch({ max_messages: n, expires: this.#o.pullMs });
    } catch (err) {
      this.#o.slots.release(n);
      if (!this.#running()) return false;
      await this.#failed(err);
      return true;
    }
    if (this.#stopping) {
      this.#o.slots.release(n);
      await iter.close().catch(() => undefined);
      return false;
    }
    this.#pending += n;
    this.#fetches.add(iter);
    const d: Promise<void> = this.#drain(iter, n).finally(() => {
      this.#fetches.delete(iter);
      this.#drains.delete(d);
    });
    this.#drains.add(d);
    return true;
  }

  /** Hands each message of one pull to `dispatch`; gives back the slots the pull did not fill. */
  async #drain(iter: ConsumerMessages, n: number): Promise<void> {
    let received = 0;
    try {
      for await (const msg of iter) {
        received++;
        this.#unpend(1);
        if (this.#stopping) {
          // arrived while stopping: give it straight back to another replica
          msg.nak();
          this.#o.slots.release(1);
          continue;
        }
        this.#o.dispatch(msg);
      }
      this.#failures = 0;
    } catch (err) {
      if (this.#running()) await this.#failed(err);
    } finally {
      this.#unpend(n - received);
      this.#o.slots.release(n - received);
    }
  }

  async #failed(err: unknown): Promise<void> {
    this.#failures++;
    this.#consumer = undefined;
    const wait = pullRetryDelay(this.#failures);
    this.#retryAt = Date.now() + wait;
    this.#o.logger.warn({ err: describeError(err), retryInMs: wait }, 'pull failed');
    if (isJsApiError(err, JS_API_CODE.ConsumerNotFound)) {
      await this.#o
        .recreateConsumer()
        .catch((e) => this.#o.logger.error({ err: describeError(e) }, 'cannot recreate the consumer'));
    }
  }

  #unpend(k: number): void {
    if (k <= 0) return;
    this.#pending -= k;
    this.#wakeUp();
  }

  #wakeUp(): void {
    this.#wake?.();
    this.#wake = undefined;
  }
}
