// Job cancellation, the kit side. A cancelled job id is a key in the JetStream KV bucket
// `<namespace>_cancelled`; every process that consumes watches that bucket into an in-memory map, so
// the consume loop asks "is this job cancelled?" without a network round trip per message, and a
// cancel reaches the handlers in hand on every replica as soon as the watch delivers the new key
// (milliseconds; the watch is a push consumer of the bucket's stream).
import type { NatsConnection, QueuedIterator } from '@nats-io/transport-node';
import { Kvm, type KV, type KvWatchEntry } from '@nats-io/kv';
import type { Logger } from 'pino';
import { z } from 'zod';
import { describeError, TransientError } from '../errors.ts';
import { abortableDelay } from './dead-letters.ts';
import { EVENTS_MAX_AGE_MS } from './streams.ts';

/** How long a cancelled job id is kept: as long as the events that could still name it. */
export const CANCELLED_MAX_AGE_MS = EVENTS_MAX_AGE_MS;

/** The value stored under a cancelled job's id. */
export const CancelRecord = z.object({
  /** When the cancel was asked for. */
  at: z.iso.datetime(),
  reason: z.string().optional(),
  by: z.string().optional(),
});
export type CancelRecord = z.infer<typeof CancelRecord>;

/** Opens (creating when missing) the bucket of cancelled job ids. */
export async function openCancelledBucket(opts: {
  nc: NatsConnection;
  bucket: string;
  replicas?: number;
}): Promise<KV> {
  const { nc, bucket, replicas = 1 } = opts;
  try {
    return await new Kvm(nc).create(bucket, {
      history: 1,
      replicas,
      ttl: CANCELLED_MAX_AGE_MS,
      description: 'reelbus cancelled jobs: one key per cancelled job id, watched by every consuming service',
    });
  } catch (err) {
    throw new TransientError(`cannot open the cancelled-jobs KV bucket "${bucket}": ${describeError(err)}`, {
      cause: err,
    });
  }
}

/** Reads a stored record; a value that is not one still means "cancelled" (the key is the flag). */
export function parseCancelRecord(opts: { value: string; fallbackAt: Date }): CancelRecord {
  const { value, fallbackAt } = opts;
  try {
    const parsed = CancelRecord.safeParse(JSON.parse(value));
    if (parsed.success) return parsed.data;
  } catch {
    // not JSON: fall through
  }
  return { at: fallbackAt.toISOString() };
}

type Listener = (jobId: string, record: CancelRecord) => void;

/**
 * The live set of cancelled jobs of one namespace, read from the bucket by a KV watch. `has` is a map
 * lookup; `onCancel` listeners hear of each new cancel. Created ready: `watch()` resolves once the
 * bucket's existing keys are loaded, so a consumer started after a cancel never misses it.
 */
export class CancelledJobs {
  readonly #kv: KV;
  readonly #log: Logger;
  readonly #connectionClosed: () => boolean;
  readonly #jobs = new Map<string, CancelRecord>();
  readonly #listeners = new Set<Listener>();
  readonly #stopCtl = new AbortController();
  #iter: QueuedIterator<KvWatchEntry> | undefined;
  #lastRevision = 0;
  readonly #pruneTimer: NodeJS.Timeout;

  private constructor(kv: KV, logger: Logger, connectionClosed: () => boolean) {
    this.#kv = kv;
    this.#log = logger;
    this.#connectionClosed = connectionClosed;
    // The bucket forgets keys after CANCELLED_MAX_AGE_MS without telling watchers: forget them here too.
    this.#pruneTimer = setInterval(() => this.#prune(), 60 * 60 * 1000);
    this.#pruneTimer.unref();
  }

  /** Starts watching `kv`; resolves once every key already in it is loaded (or rejects after `readyTimeoutMs`). */
  static async watch(opts: {
    kv: KV;
    logger: Logger;
    /** True once the connection is closed for good: the watch then ends instead of starting again. */
    connectionClosed?: () => boolean;
    readyTimeoutMs?: number;
  }): Promise<CancelledJobs> {
    const { kv, logger, connectionClosed = () => false, readyTimeoutMs = 15_000 } = opts;
    const set = new CancelledJobs(kv, logger, connectionClosed);
    try {
      await set.#start(readyTimeoutMs);
    } catch (err) {
      set.stop();
      throw err;
    }
    return set;
  }

  /** True when `jobId` was cancelled. */
  has(jobId: string | undefined): boolean {
    return jobId !== undefined && this.#jobs.has(jobId);
  }

  /** The cancel of `jobId`, when it was cancelled. */
  get(jobId: string): CancelRecord | undefined {
    return this.#jobs.get(jobId);
  }

  /** Jobs cancelled now. */
  get size(): number {
    return this.#jobs.size;
  }

  /** Calls `fn` for every cancel from now on; returns the unsubscribe function. */
  onCancel(fn: Listener): () => void {
    this.#listeners.add(fn);
    return () => void this.#listeners.delete(fn);
  }

  stop(): void {
    this.#stopCtl.abort();
    clearInterval(this.#pruneTimer);
    this.#iter?.stop();
  }

  async #start(readyTimeoutMs: number): Promise<void> {
    const { values } = await this.#kv.status();
    let markReady!: () => void;
    const ready = new Promise<void>((r) => (markReady = r));
    if (values === 0) markReady();
    this.#iter = await this.#kv.watch();
    void this.#follow(this.#iter, markReady);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        ready,
        new Promise<never>((_r, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new TransientError(
                  `the cancelled-jobs bucket did not load within ${readyTimeoutMs} ms (${values} keys)`,
                ),
              ),
            readyTimeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Applies the watch's entries; when it ends while not stopped, watches again from where it was. */
  async #follow(first: QueuedIterator<KvWatchEntry>, markReady: () => void): Promise<void> {
    let iter: QueuedIterator<KvWatchEntry> | undefined = first;
    for (let failures = 0; !this.#stopCtl.signal.aborted;) {
      try {
        iter ??= this.#iter = await this.#kv.watch({ resumeFromRevision: this.#lastRevision + 1 });
        for await (const entry of iter) {
          failures = 0;
          this.#apply(entry);
          // The last of the existing keys (or anything after them) arrives with nothing pending.
          if (entry.delta === 0 || entry.isUpdate) markReady();
        }
      } catch (err) {
        this.#log.warn({ err: describeError(err) }, 'watching the cancelled-jobs bucket failed');
      }
      iter = undefined;
      if (this.#stopCtl.signal.aborted || this.#connectionClosed()) break;
      failures++;
      const wait = Math.min(30_000, 500 * 2 ** Math.min(failures, 6));
      this.#log.warn({ retryInMs: wait }, 'cancelled-jobs watch ended; watching again');
      await abortableDelay(wait, this.#stopCtl.signal);
    }
  }

  #apply(entry: KvWatchEntry): void {
    this.#lastRevision = Math.max(this.#lastRevision, entry.revision);
    const jobId = entry.key;
    if (entry.operation !== 'PUT') {
      this.#jobs.delete(jobId);
      return;
    }
    const record = parseCancelRecord({ value: entry.string(), fallbackAt: entry.created });
    const known = this.#jobs.has(jobId);
    this.#jobs.set(jobId, record);
    if (known) return;
    for (const fn of this.#listeners) {
      try {
        fn(jobId, record);
      } catch (err) {
        this.#log.error({ err: describeError(err), jobId }, 'cancel listener threw');
      }
    }
  }

  #prune(): void {
    const oldest = Date.now() - CANCELLED_MAX_AGE_MS;
    for (const [jobId, record] of this.#jobs) if (Date.parse(record.at) < oldest) this.#jobs.delete(jobId);
  }
}
