import type { Collection, Filter, MongoClient } from 'mongodb';
import type { Job, JobKind, JobStatus } from '@reelbus/contracts';
import { TransientError } from '../errors.ts';
import { JobNotFoundError } from './errors.ts';
import {
  applyMutation,
  casBackoff,
  casExhausted,
  MAX_CAS_ATTEMPTS,
  parseNewJob,
  parseStoredJob,
} from './shared.ts';
import type { JobStore } from './types.ts';

/** The stored shape: the job plus `_id` (= job id) and `_rev`, the compare-and-set counter. */
type JobDoc = Omit<Job, 'id'> & { _id: string; _rev: number };

export interface MongoJobStoreOptions {
  uri: string;
  db: string;
  collection?: string;
  /** How long to look for a server before failing (a wrong URI fails within this). Default 5000. */
  serverSelectionTimeoutMS?: number;
}

/** `mongodb://user:pass@host` → `mongodb://***@host`: URIs in error messages never show passwords. */
function redact(uri: string): string {
  return uri.replace(/\/\/[^@/]*@/, '//***@');
}

function toDoc(job: Job, rev: number): JobDoc {
  const { id, ...rest } = job;
  return { _id: id, _rev: rev, ...rest };
}

function fromDoc(doc: JobDoc, where: string): Job {
  const { _id, _rev: _ignored, ...rest } = doc;
  return parseStoredJob(_id, { id: _id, ...rest }, where);
}

/** A MongoServerError with code 11000 (checked by shape: the driver is loaded only by `open`). */
const isDuplicateKey = (err: unknown): err is Error & { keyPattern?: Record<string, unknown> } =>
  err instanceof Error && err.name === 'MongoServerError' && (err as { code?: unknown }).code === 11000;

/**
 * Jobs in a MongoDB collection (the production store). `dedupeKey` is unique through a partial index;
 * updates are compare-and-set on `_rev`.
 */
export class MongoJobStore implements JobStore {
  readonly kind = 'mongo' as const;

  private constructor(
    private readonly client: MongoClient,
    readonly col: Collection<JobDoc>,
  ) {}

  /** Connects, and creates the indexes when missing. */
  static async open(opts: MongoJobStoreOptions): Promise<MongoJobStore> {
    const { uri, db, collection = 'jobs', serverSelectionTimeoutMS = 5000 } = opts;
    // ignoreUndefined: a mutation that sets `error = undefined` removes the field instead of storing null.
    // The driver (~25 MB resident) is loaded only by a service that uses MongoDB.
    const { MongoClient } = await import('mongodb');
    const client = new MongoClient(uri, { serverSelectionTimeoutMS, ignoreUndefined: true });
    try {
      await client.connect();
      const col = client.db(db).collection<JobDoc>(collection);
      await col.createIndex(
        { dedupeKey: 1 },
        { name: 'dedupeKey_unique', unique: true, partialFilterExpression: { dedupeKey: { $exists: true } } },
      );
      await col.createIndex({ createdAt: -1, _id: -1 }, { name: 'createdAt_desc' });
      await col.createIndex({ status: 1, createdAt: -1 }, { name: 'status_createdAt' });
      return new MongoJobStore(client, col);
    } catch (err) {
      await client.close().catch(() => {});
      throw new TransientError(
        `cannot open the MongoDB job store at ${redact(uri)} (db ${db}, collection ${collection}): ${(err as Error).message}; ` +
          'check MONGODB_URI and that the server is reachable',
        { cause: err },
      );
    }
  }

  private where(): string {
    return `MongoDB collection ${this.col.collectionName}`;
  }

  private async read(id: string): Promise<{ job: Job; rev: number } | undefined> {
    const doc = await this.col.findOne({ _id: id });
    return doc ? { job: fromDoc(doc, this.where()), rev: doc._rev } : undefined;
  }

  async get(id: string): Promise<Job | undefined> {
    return (await this.read(id))?.job;
  }

  async findByDedupeKey(dedupeKey: string): Promise<Job | undefined> {
    const doc = await this.col.findOne({ dedupeKey });
    return doc ? fromDoc(doc, this.where()) : undefined;
  }

  async create(input: Job): Promise<{ created: boolean; job: Job }> {
    const job = parseNewJob(input, `create of job "${input.id}"`);
    try {
      await this.col.insertOne(toDoc(job, 1));
      return { created: true, job };
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const byDedupe = err.keyPattern && 'dedupeKey' in err.keyPattern;
      const existing =
        (byDedupe ? undefined : await this.get(job.id)) ??
        (job.dedupeKey !== undefined ? await this.findByDedupeKey(job.dedupeKey) : undefined) ??
        (await this.get(job.id));
      if (existing) return { created: false, job: existing };
      throw new TransientError(
        `job "${job.id}": duplicate key on create but the existing job vanished; retry`,
        { cause: err },
      );
    }
  }

  async update(id: string, mutate: (job: Job) => Job | undefined): Promise<Job> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const cur = await this.read(id);
      if (!cur) throw new JobNotFoundError(id);
      const next = applyMutation(cur.job, mutate);
      if (next === undefined) return cur.job;
      const res = await this.col.replaceOne({ _id: id, _rev: cur.rev }, toDoc(next, cur.rev + 1));
      if (res.matchedCount === 1) return next;
      await casBackoff(attempt);
    }
    throw casExhausted(id, this.where());
  }

  async list(opts: { limit?: number; status?: JobStatus; kind?: JobKind } = {}): Promise<Job[]> {
    const { limit, status, kind } = opts;
    const filter: Filter<JobDoc> = {};
    if (status) filter.status = status;
    if (kind) filter.kind = kind;
    // createdAt is an ISO-8601 UTC string; its lexical order is its time order.
    let cursor = this.col.find(filter).sort({ createdAt: -1, _id: -1 });
    if (limit !== undefined) {
      if (limit <= 0) return [];
      cursor = cursor.limit(limit);
    }
    const docs = await cursor.toArray();
    return docs.map((d) => fromDoc(d, this.where()));
  }

  async delete(id: string): Promise<void> {
    await this.col.deleteOne({ _id: id });
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
