import type { Collection, Filter, MongoClient } from 'mongodb';
import type { Job, JobKind, JobStatus } from '@reelbus/contracts';
import { TransientError } from '../errors.ts';
import { casBackoff, casExhausted, MAX_CAS_ATTEMPTS } from '../state/cas.ts';
import { isDuplicateKey, openMongoCollection } from '../state/mongo.ts';
import { JobNotFoundError } from './errors.ts';
import { applyMutation, parseNewJob, parseStoredJob } from './shared.ts';
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

function toDoc(job: Job, rev: number): JobDoc {
  const { id, ...rest } = job;
  return { _id: id, _rev: rev, ...rest };
}

function fromDoc(doc: JobDoc, where: string): Job {
  const { _id, _rev: _ignored, ...rest } = doc;
  return parseStoredJob(_id, { id: _id, ...rest }, where);
}

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
    const { client, col } = await openMongoCollection<JobDoc>({
      uri,
      db,
      collection,
      what: 'job store',
      serverSelectionTimeoutMS,
      prepare: async (c) => {
        await c.createIndex(
          { dedupeKey: 1 },
          {
            name: 'dedupeKey_unique',
            unique: true,
            partialFilterExpression: { dedupeKey: { $exists: true } },
          },
        );
        await c.createIndex({ createdAt: -1, _id: -1 }, { name: 'createdAt_desc' });
        await c.createIndex({ status: 1, createdAt: -1 }, { name: 'status_createdAt' });
      },
    });
    return new MongoJobStore(client, col);
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
    throw casExhausted(`job "${id}"`, `${this.where()} job store`);
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
