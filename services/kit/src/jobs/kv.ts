import type { NatsConnection } from '@nats-io/transport-node';
import type { KV } from '@nats-io/kv';
import type { Job, JobKind, JobStatus } from '@reelbus/contracts';
import { JobId } from '@reelbus/contracts';
import { casBackoff, casExhausted, MAX_CAS_ATTEMPTS } from '../state/cas.ts';
import {
  getFromLeader,
  isLiveEntry as live,
  isWrongLastSequence,
  liveKeys,
  openCasBucket,
} from '../state/kv.ts';
import { JobNotFoundError } from './errors.ts';
import { applyMutation, byCreatedDesc, parseNewJob, parseStoredJob } from './shared.ts';
import type { JobStore } from './types.ts';

/** Dedupe index entries live in the same bucket under this prefix; job ids cannot contain a dot. */
const DEDUPE_PREFIX = 'dedupe.';
/** How long `create` waits for a job whose dedupe key another creator has just claimed. */
const CLAIM_WAIT_MS = 2_000;

export interface KvJobStoreOptions {
  nc: NatsConnection;
  /** KV bucket name (letters, digits, `-`, `_`), e.g. `<namespace>_jobs`. */
  bucket: string;
  /** Stream replicas (1 embedded, 3 in a cluster). */
  replicas?: number;
}

/** KV key of the dedupe index entry: base64url keeps any dedupe key (`twilio:RE…`) within KV key rules. */
export function dedupeIndexKey(dedupeKey: string): string {
  return DEDUPE_PREFIX + Buffer.from(dedupeKey, 'utf8').toString('base64url');
}

/**
 * Jobs in a NATS JetStream KV bucket (the embedded profile: no server beyond NATS).
 * One key per job id holding the JSON document; writes are compare-and-set on the entry revision.
 */
export class KvJobStore implements JobStore {
  readonly kind = 'kv' as const;

  private constructor(
    readonly kv: KV,
    readonly bucket: string,
  ) {}

  /** Opens (creating when missing) the bucket. The connection stays the caller's to close. */
  static async open(opts: KvJobStoreOptions): Promise<KvJobStore> {
    const { nc, bucket, replicas = 1 } = opts;
    // Refuses replicas > 1 on a nats-server that would lose concurrent updates (nats-server#4320).
    const kv = await openCasBucket({
      nc,
      bucket,
      replicas,
      what: 'job store',
      description: 'reelbus job documents',
    });
    return new KvJobStore(kv, bucket);
  }

  private where(): string {
    return `KV bucket ${this.bucket}`;
  }

  private async read(id: string): Promise<{ job: Job; revision: number } | undefined> {
    const entry = await getFromLeader(this.kv, id);
    if (!live(entry)) return undefined;
    return { job: parseStoredJob(id, entry.json<unknown>(), this.where()), revision: entry.revision };
  }

  async get(id: string): Promise<Job | undefined> {
    // An id that cannot exist (e.g. from a URL) is simply not found, rather than a KV key error.
    if (!JobId.safeParse(id).success) return undefined;
    return (await this.read(id))?.job;
  }

  async findByDedupeKey(dedupeKey: string): Promise<Job | undefined> {
    const entry = await this.kv.get(dedupeIndexKey(dedupeKey));
    if (!live(entry)) return undefined;
    return this.get(entry.string());
  }

  async create(input: Job): Promise<{ created: boolean; job: Job }> {
    const job = parseNewJob(input, `create of job "${input.id}"`);
    if (job.dedupeKey !== undefined) {
      const existing = await this.claimDedupeKey(job);
      if (existing) return { created: false, job: existing };
    }
    try {
      await this.kv.create(job.id, JSON.stringify(job));
      return { created: true, job };
    } catch (err) {
      if (!isWrongLastSequence(err)) throw err;
    }
    const existing = await this.get(job.id);
    if (existing) return { created: false, job: existing };
    // Deleted between our create and get: try once more.
    await this.kv.create(job.id, JSON.stringify(job));
    return { created: true, job };
  }

  /**
   * Claims `dedupe.<key>` for this job (create-if-absent). Returns the job that already owns the key,
   * or undefined when this job may be created. A claim whose job never appears (its creator crashed
   * between the two writes) is taken over by compare-and-set after a short wait.
   */
  private async claimDedupeKey(job: Job): Promise<Job | undefined> {
    const key = dedupeIndexKey(job.dedupeKey!);
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      try {
        await this.kv.create(key, job.id);
        return undefined;
      } catch (err) {
        if (!isWrongLastSequence(err)) throw err;
      }
      const entry = await this.kv.get(key);
      if (!live(entry)) continue; // deleted meanwhile: claim again
      const ownerId = entry.string();
      if (ownerId === job.id) return undefined; // our own earlier attempt
      const deadline = Date.now() + CLAIM_WAIT_MS;
      for (let n = 0; ; n++) {
        const owner = await this.get(ownerId);
        if (owner) return owner;
        if (Date.now() > deadline) break;
        await casBackoff(n);
      }
      try {
        await this.kv.update(key, job.id, entry.revision);
        return undefined;
      } catch (err) {
        if (!isWrongLastSequence(err)) throw err;
      }
    }
    throw casExhausted(`job "${job.id}"`, `${this.where()} job store`);
  }

  async update(id: string, mutate: (job: Job) => Job | undefined): Promise<Job> {
    if (!JobId.safeParse(id).success) throw new JobNotFoundError(id);
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const cur = await this.read(id);
      if (!cur) throw new JobNotFoundError(id);
      const next = applyMutation(cur.job, mutate);
      if (next === undefined) return cur.job;
      try {
        await this.kv.update(id, JSON.stringify(next), cur.revision);
        return next;
      } catch (err) {
        if (!isWrongLastSequence(err)) throw err;
      }
      await casBackoff(attempt);
    }
    throw casExhausted(`job "${id}"`, `${this.where()} job store`);
  }

  /**
   * Reads every job and filters in memory: O(n) in the bucket size, fine for the embedded profile
   * (one machine, thousands of jobs); the Mongo store answers from an index.
   */
  async list(opts: { limit?: number; status?: JobStatus; kind?: JobKind } = {}): Promise<Job[]> {
    const { limit, status, kind } = opts;
    const ids = await liveKeys(this.kv, (k) => !k.startsWith(DEDUPE_PREFIX));
    const jobs: Job[] = [];
    // Bounded parallel reads.
    for (let i = 0; i < ids.length; i += 32) {
      const batch = await Promise.all(ids.slice(i, i + 32).map((id) => this.read(id)));
      for (const r of batch) {
        if (!r) continue;
        if (status && r.job.status !== status) continue;
        if (kind && r.job.kind !== kind) continue;
        jobs.push(r.job);
      }
    }
    jobs.sort(byCreatedDesc);
    return limit === undefined ? jobs : jobs.slice(0, Math.max(0, limit));
  }

  async delete(id: string): Promise<void> {
    if (!JobId.safeParse(id).success) return;
    const cur = await this.read(id);
    if (!cur) return;
    await this.kv.delete(id);
    if (cur.job.dedupeKey !== undefined) {
      const key = dedupeIndexKey(cur.job.dedupeKey);
      const entry = await this.kv.get(key);
      // Only drop the index entry if it still points at this job.
      if (live(entry) && entry.string() === id)
        await this.kv.delete(key, { previousSeq: entry.revision }).catch(() => {});
    }
  }

  /** The NATS connection belongs to the caller; nothing to release here. */
  async close(): Promise<void> {}
}
