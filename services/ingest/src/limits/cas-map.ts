import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { JS_API_CODE, isJsApiError } from '@reelbus/kit';

/**
 * A tiny key → string map with compare-and-set, what the API limits need to count across ingest
 * replicas: NATS JetStream KV in a service, a Map in unit tests. Keys: letters, digits, `-_.=/`.
 */
export interface CasEntry {
  value: string;
  revision: number;
}

export interface CasMap {
  get(key: string): Promise<CasEntry | undefined>;
  /**
   * Writes `value` when the key is still at `revision` (0: when it is absent). False when another
   * writer came first: read again and retry.
   */
  put(key: string, value: string, revision: number): Promise<boolean>;
}

/** A CasMap in memory: one process only (tests, and limits counted per replica). */
export class MemoryCasMap implements CasMap {
  readonly #entries = new Map<string, CasEntry>();
  #revision = 0;

  async get(key: string): Promise<CasEntry | undefined> {
    const e = this.#entries.get(key);
    return e && { ...e };
  }

  async put(key: string, value: string, revision: number): Promise<boolean> {
    const cur = this.#entries.get(key);
    if ((cur?.revision ?? 0) !== revision) return false;
    this.#entries.set(key, { value, revision: ++this.#revision });
    return true;
  }
}

const isWrongLastSequence = (err: unknown) =>
  isJsApiError(err, JS_API_CODE.StreamWrongLastSequence, JS_API_CODE.StreamWrongLastSequenceUnknown);

/** A CasMap in a NATS JetStream KV bucket, shared by every ingest replica. */
export class KvCasMap implements CasMap {
  private constructor(readonly kv: KV) {}

  /** Opens (creating when missing) `bucket`; entries older than `ttlMs` vanish (0 = kept). */
  static async open(opts: {
    nc: NatsConnection;
    bucket: string;
    ttlMs?: number;
    replicas?: number;
    description: string;
  }): Promise<KvCasMap> {
    const { nc, bucket, ttlMs = 0, replicas = 1, description } = opts;
    // Like the job store: no direct gets, so a compare-and-set always reads the leader's revision.
    const kv = await new Kvm(nc).create(bucket, {
      history: 1,
      replicas,
      description,
      allow_direct: false,
      ...(ttlMs > 0 ? { ttl: ttlMs } : {}),
    });
    return new KvCasMap(kv);
  }

  async get(key: string): Promise<CasEntry | undefined> {
    const e = await this.kv.get(key);
    if (!e || e.operation !== 'PUT') return undefined;
    return { value: e.string(), revision: e.revision };
  }

  async put(key: string, value: string, revision: number): Promise<boolean> {
    try {
      if (revision === 0) await this.kv.create(key, value);
      else await this.kv.update(key, value, revision);
      return true;
    } catch (err) {
      if (isWrongLastSequence(err)) return false;
      throw err;
    }
  }
}

/** A KV-safe key token for any string (key names, IP addresses). */
export const keyToken = (s: string) => Buffer.from(s, 'utf8').toString('base64url') || '_';
