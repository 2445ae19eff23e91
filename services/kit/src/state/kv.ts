import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import { isJsApiError, JS_API_CODE } from '../bus/api-codes.ts';
import { ConfigError, TransientError } from '../errors.ts';

/**
 * True when nats-server `version` keeps compare-and-set atomic on a replicated stream. Before 2.9.21
 * the expected-last-subject-sequence check ran only before the Raft proposal, so two concurrent
 * updates of one key could both succeed and one was silently lost (nats-io/nats-server#4320): on a
 * 3-node cluster of Debian bookworm's 2.9.10, 140 of 200 racing pairs both "won". One server (R1)
 * is not affected.
 */
export function replicatedCasIsAtomic(version: string): boolean {
  const [major = 0, minor = 0, patch = 0] = version.split(/[.-]/).map((n) => Number.parseInt(n, 10) || 0);
  if (major !== 2) return major > 2;
  return minor > 9 || (minor === 9 && patch >= 21);
}

/**
 * Throws a ConfigError when a KV bucket at `replicas` > 1 (job store, document stores) would live on
 * a nats-server that loses concurrent compare-and-set updates (see `replicatedCasIsAtomic`).
 */
export function assertReplicatedCasIsAtomic(nc: NatsConnection, replicas: number): void {
  const version = nc.info?.version ?? '0.0.0';
  if (replicas <= 1 || replicatedCasIsAtomic(version)) return;
  throw new ConfigError([
    `STREAM_REPLICAS: ${replicas} replicas with JOB_STORE=kv need nats-server ≥ 2.9.21; ${nc.getServer()} ` +
      `runs ${version}, whose compare-and-set is not atomic on replicated streams (nats-io/nats-server#4320) ` +
      `and would lose concurrent updates of jobs and documents. Upgrade nats-server ` +
      `(bash tools/fetch-nats-server.sh gets one from Debian), or use JOB_STORE=mongo.`,
  ]);
}

/** The error a compare-and-set write (create, update with a revision) gets when it lost the race. */
export function isWrongLastSequence(err: unknown): boolean {
  return isJsApiError(err, JS_API_CODE.StreamWrongLastSequence, JS_API_CODE.StreamWrongLastSequenceUnknown);
}

/** An entry that holds a value (not a delete or purge marker). */
export const isLiveEntry = (e: KvEntry | null): e is KvEntry => e !== null && e.operation === 'PUT';

/**
 * Opens (creating when missing) a bucket for compare-and-set documents: one revision kept per key,
 * and no direct gets, because on a replicated bucket a direct get may be answered by a lagging
 * follower, while a compare-and-set wants the latest revision (the leader's).
 * Refuses replicas > 1 on a nats-server whose replicated compare-and-set is not atomic.
 */
export async function openCasBucket(opts: {
  nc: NatsConnection;
  bucket: string;
  replicas?: number;
  /** Named in the error, e.g. `job store`. */
  what: string;
  /** Shown by `nats kv ls`. */
  description: string;
}): Promise<KV> {
  const { nc, bucket, replicas = 1, what, description } = opts;
  assertReplicatedCasIsAtomic(nc, replicas);
  try {
    return await new Kvm(nc).create(bucket, {
      replicas,
      history: 1,
      description,
      allow_direct: false,
    });
  } catch (err) {
    throw new TransientError(`cannot open the ${what} KV bucket "${bucket}": ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Attempts after the first when a read finds no leader (250 ms, 0.5 s, 1 s, 2 s, 4 s: ~8 s in all). */
const LEADER_READ_RETRIES = 5;

/** Errors a replicated bucket answers with while it has no leader: timeouts, no responders, 503. */
function isLeaderlessError(err: unknown): boolean {
  const e = err as { name?: string; code?: string | number; message?: string };
  const text = `${e?.name ?? ''} ${e?.code ?? ''} ${e?.message ?? ''}`.toLowerCase();
  return /timeout|no responders|503|no leader|temporarily unavailable/.test(text);
}

/**
 * Reads `key` from the bucket's leader. While a replicated bucket elects a new leader (a node died)
 * reads time out for a few seconds: ride that out instead of failing the caller at once.
 */
export async function getFromLeader(kv: KV, key: string): Promise<KvEntry | null> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await kv.get(key);
    } catch (err) {
      if (attempt >= LEADER_READ_RETRIES || !isLeaderlessError(err)) throw err;
      await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
    }
  }
}

/** Every key that holds a value (deleted keys are left out), optionally those `accept` keeps. */
export async function liveKeys(kv: KV, accept: (key: string) => boolean = () => true): Promise<string[]> {
  const keys: string[] = [];
  for await (const k of await kv.keys()) if (accept(k)) keys.push(k);
  return keys;
}
