import type { Collection, Filter, MongoClient } from 'mongodb';
import { z } from 'zod';
import { PermanentError } from '../errors.ts';
import { casBackoff, casExhausted, MAX_CAS_ATTEMPTS } from '../state/cas.ts';
import { isDuplicateKey, openMongoCollection } from '../state/mongo.ts';
import { DocumentExistsError, DocumentNotFoundError } from './errors.ts';
import {
  assertCollectionName,
  checkExpectedRevision,
  decideUpdate,
  DocumentCodec,
  isDocumentId,
  pageOf,
  parseListOptions,
  staleRevision,
} from './shared.ts';
import type {
  DocumentPage,
  DocumentStore,
  DocumentStoreOptions,
  ListOptions,
  Mutation,
  StoredDocument,
  UpdateOptions,
} from './types.ts';

export interface MongoDocumentStoreOptions<S extends z.ZodType> extends DocumentStoreOptions<S> {
  /** A connected client several stores share (it stays the caller's to close) … */
  client?: MongoClient;
  /** … or a URI: the store opens its own client and closes it in `close()`. */
  uri?: string;
  db: string;
  /** With `uri`: how long to look for a server before failing. Default 5000. */
  serverSelectionTimeoutMS?: number;
}

/** The stored shape: the document under `doc`, so its own fields never meet the store's. */
interface DocumentRecord {
  _id: string;
  revision: number;
  createdAt: string;
  updatedAt: string;
  doc: unknown;
}

const Record_ = z.object({
  _id: z.string(),
  revision: z.number().int().min(1),
  createdAt: z.string(),
  updatedAt: z.string(),
  doc: z.unknown(),
});

/** Default largest document: MongoDB holds 16 MiB of BSON, which can be twice the JSON (number arrays). */
const DEFAULT_MAX_BYTES = 8 * 1024 * 1024;
const MONGO_MAX_BYTES = 15 * 1024 * 1024;

/**
 * Documents of one collection in a MongoDB collection of the same name (compose / cluster profiles).
 * Every write is a compare-and-set on the `revision` field, which is also the user-visible revision.
 */
export class MongoDocumentStore<T, In = T> implements DocumentStore<T, In> {
  readonly kind = 'mongo' as const;

  private constructor(
    private readonly client: MongoClient,
    private readonly ownsClient: boolean,
    readonly col: Collection<DocumentRecord>,
    private readonly codec: DocumentCodec<T, In>,
    private readonly clock: () => Date,
  ) {}

  get collection(): string {
    return this.codec.collection;
  }

  /** Connects (with `uri`) and creates the list index when missing. */
  static async open<S extends z.ZodType>(
    opts: MongoDocumentStoreOptions<S>,
  ): Promise<MongoDocumentStore<z.output<S>, z.input<S>>> {
    const { db, collection, schema, maxBytes = DEFAULT_MAX_BYTES, clock = () => new Date() } = opts;
    assertCollectionName(collection);
    const { client, col, ownsClient } = await openMongoCollection<DocumentRecord>({
      ...(opts.client ? { client: opts.client } : {}),
      ...(opts.uri ? { uri: opts.uri } : {}),
      ...(opts.serverSelectionTimeoutMS !== undefined
        ? { serverSelectionTimeoutMS: opts.serverSelectionTimeoutMS }
        : {}),
      db,
      collection,
      what: `${collection} document store`,
      prepare: async (c) => {
        await c.createIndex({ createdAt: -1, _id: -1 }, { name: 'createdAt_desc' });
      },
    });
    const codec = new DocumentCodec<z.output<S>, z.input<S>>(
      collection,
      schema as z.ZodType<z.output<S>>,
      Math.min(maxBytes, MONGO_MAX_BYTES),
    );
    return new MongoDocumentStore(client, ownsClient, col, codec, clock);
  }

  private where(): string {
    return `MongoDB collection ${this.col.dbName}.${this.col.collectionName}`;
  }

  private toStored(raw: unknown, id: string): StoredDocument<T> {
    const rec = Record_.safeParse(raw);
    if (!rec.success)
      throw new PermanentError(
        `${this.collection}: the record "${id}" in ${this.where()} is not a stored document`,
      );
    const { _id, doc, ...meta } = rec.data;
    return { id: _id, ...meta, doc: this.codec.decode(_id, doc, this.where()) };
  }

  private async read(id: string): Promise<StoredDocument<T> | undefined> {
    const rec = await this.col.findOne({ _id: id });
    return rec ? this.toStored(rec, id) : undefined;
  }

  async create(id: string, input: In): Promise<StoredDocument<T>> {
    const { doc, json } = this.codec.encodeNew(id, input);
    const at = this.clock().toISOString();
    try {
      await this.col.insertOne({ _id: id, revision: 1, createdAt: at, updatedAt: at, doc: JSON.parse(json) });
    } catch (err) {
      if (isDuplicateKey(err)) throw new DocumentExistsError(this.collection, id, { cause: err });
      throw err;
    }
    return { id, doc, revision: 1, createdAt: at, updatedAt: at };
  }

  async get(id: string): Promise<StoredDocument<T> | undefined> {
    if (!isDocumentId(id)) return undefined;
    return this.read(id);
  }

  async update(id: string, mutate: Mutation<T, In>, opts: UpdateOptions = {}): Promise<StoredDocument<T>> {
    const { expectedRevision } = opts;
    checkExpectedRevision(this.collection, id, expectedRevision);
    if (!isDocumentId(id)) throw new DocumentNotFoundError(this.collection, id);
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const current = await this.read(id);
      if (!current) throw new DocumentNotFoundError(this.collection, id);
      const decision = decideUpdate({
        current,
        mutate,
        expectedRevision,
        codec: this.codec,
        now: this.clock(),
      });
      if (decision.action === 'conflict') throw decision.error;
      if (decision.action === 'keep') return current;
      const { next, json } = decision;
      const res = await this.col.replaceOne(
        { _id: id, revision: current.revision },
        {
          revision: next.revision,
          createdAt: next.createdAt,
          updatedAt: next.updatedAt,
          doc: JSON.parse(json),
        },
      );
      if (res.matchedCount === 1) return next;
      // Lost the race. With an expected revision the re-read reports the winner's revision at once.
      if (expectedRevision === undefined) await casBackoff(attempt);
    }
    throw casExhausted(`${this.collection}: document "${id}"`, this.where());
  }

  async list(opts: ListOptions = {}): Promise<DocumentPage<T>> {
    const { limit, after } = parseListOptions(this.collection, opts);
    // createdAt is an ISO-8601 UTC string; its lexical order is its time order.
    const filter: Filter<DocumentRecord> = after
      ? {
          $or: [
            { createdAt: { $lt: after.createdAt } },
            { createdAt: after.createdAt, _id: { $lt: after.id } },
          ],
        }
      : {};
    const recs = await this.col
      .find(filter)
      .sort({ createdAt: -1, _id: -1 })
      .limit(limit + 1)
      .toArray();
    return pageOf(
      recs.map((r) => this.toStored(r, r._id)),
      limit,
      after,
    );
  }

  async delete(id: string, opts: UpdateOptions = {}): Promise<boolean> {
    const { expectedRevision } = opts;
    checkExpectedRevision(this.collection, id, expectedRevision);
    if (!isDocumentId(id)) {
      if (expectedRevision !== undefined) throw new DocumentNotFoundError(this.collection, id);
      return false;
    }
    const filter = expectedRevision === undefined ? { _id: id } : { _id: id, revision: expectedRevision };
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      if ((await this.col.deleteOne(filter)).deletedCount === 1) return true;
      if (expectedRevision === undefined) return false;
      const current = await this.read(id);
      if (!current) throw new DocumentNotFoundError(this.collection, id);
      const stale = staleRevision(this.collection, current, expectedRevision);
      if (stale) throw stale;
      // Deleted and created again at the expected revision between the two calls: try again.
    }
    throw casExhausted(`${this.collection}: document "${id}"`, this.where());
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.close();
  }
}
