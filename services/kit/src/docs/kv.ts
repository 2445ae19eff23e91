import type { NatsConnection } from '@nats-io/transport-node';
import type { KV } from '@nats-io/kv';
import { z } from 'zod';
import { PermanentError } from '../errors.ts';
import { casBackoff, casExhausted, MAX_CAS_ATTEMPTS } from '../state/cas.ts';
import { getFromLeader, isLiveEntry, isWrongLastSequence, liveKeys, openCasBucket } from '../state/kv.ts';
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

export interface KvDocumentStoreOptions<S extends z.ZodType> extends DocumentStoreOptions<S> {
  nc: NatsConnection;
  /** The collection's bucket: `names(namespace).documentBucket(collection)`. */
  bucket: string;
  /** Stream replicas (1 embedded, 3 in a cluster); > 1 needs nats-server ≥ 2.9.21. */
  replicas?: number;
}

/** One KV value: the store's fields around the document. */
const Envelope = z.object({
  id: z.string(),
  revision: z.number().int().min(1),
  createdAt: z.string(),
  updatedAt: z.string(),
  doc: z.unknown(),
});

/** Headroom under the server's max_payload for the envelope's fields and the message headers. */
const ENVELOPE_HEADROOM = 4096;

/**
 * Documents of one collection in a NATS JetStream KV bucket (the embedded profile), one key per id.
 * Every write is a compare-and-set on the key's KV revision (the stream sequence); the user-visible
 * `revision` is a per-document counter in the stored value.
 */
export class KvDocumentStore<T, In = T> implements DocumentStore<T, In> {
  readonly kind = 'kv' as const;

  private constructor(
    readonly kv: KV,
    readonly bucket: string,
    private readonly codec: DocumentCodec<T, In>,
    private readonly clock: () => Date,
  ) {}

  get collection(): string {
    return this.codec.collection;
  }

  /**
   * Opens (creating when missing) the collection's bucket. The connection stays the caller's.
   * Documents are limited to the server's max_payload (1 MiB by default) less a little headroom.
   */
  static async open<S extends z.ZodType>(
    opts: KvDocumentStoreOptions<S>,
  ): Promise<KvDocumentStore<z.output<S>, z.input<S>>> {
    const { nc, bucket, replicas = 1, collection, schema, maxBytes, clock = () => new Date() } = opts;
    assertCollectionName(collection);
    const kv = await openCasBucket({
      nc,
      bucket,
      replicas,
      what: `${collection} document store`,
      description: `reelbus ${collection} documents`,
    });
    const serverMax = (nc.info?.max_payload ?? 1024 * 1024) - ENVELOPE_HEADROOM;
    const codec = new DocumentCodec<z.output<S>, z.input<S>>(
      collection,
      schema as z.ZodType<z.output<S>>,
      Math.min(maxBytes ?? serverMax, serverMax),
    );
    return new KvDocumentStore(kv, bucket, codec, clock);
  }

  private where(): string {
    return `KV bucket ${this.bucket}`;
  }

  /** The document and the KV revision its next compare-and-set must name. */
  private async read(id: string): Promise<{ stored: StoredDocument<T>; seq: number } | undefined> {
    const entry = await getFromLeader(this.kv, id);
    if (!isLiveEntry(entry)) return undefined;
    let raw: unknown;
    try {
      raw = entry.json<unknown>();
    } catch (err) {
      throw new PermanentError(`${this.collection}: stored document "${id}" in ${this.where()} is not JSON`, {
        cause: err,
      });
    }
    const env = Envelope.safeParse(raw);
    if (!env.success || env.data.id !== id) {
      throw new PermanentError(
        `${this.collection}: the value of "${id}" in ${this.where()} is not a stored document`,
      );
    }
    const { doc, ...meta } = env.data;
    return { stored: { ...meta, doc: this.codec.decode(id, doc, this.where()) }, seq: entry.revision };
  }

  private static serialise<T>(s: StoredDocument<T>): string {
    return JSON.stringify({
      id: s.id,
      revision: s.revision,
      createdAt: s.createdAt,
      updatedAt: s.updatedAt,
      doc: s.doc,
    });
  }

  async create(id: string, input: In): Promise<StoredDocument<T>> {
    const { doc } = this.codec.encodeNew(id, input);
    const at = this.clock().toISOString();
    const stored: StoredDocument<T> = { id, doc, revision: 1, createdAt: at, updatedAt: at };
    try {
      await this.kv.create(id, KvDocumentStore.serialise(stored));
    } catch (err) {
      if (isWrongLastSequence(err)) throw new DocumentExistsError(this.collection, id, { cause: err });
      throw err;
    }
    return stored;
  }

  async get(id: string): Promise<StoredDocument<T> | undefined> {
    // An id that cannot exist (e.g. from a URL) is simply not found, rather than a KV key error.
    if (!isDocumentId(id)) return undefined;
    return (await this.read(id))?.stored;
  }

  async update(id: string, mutate: Mutation<T, In>, opts: UpdateOptions = {}): Promise<StoredDocument<T>> {
    const { expectedRevision } = opts;
    checkExpectedRevision(this.collection, id, expectedRevision);
    if (!isDocumentId(id)) throw new DocumentNotFoundError(this.collection, id);
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const cur = await this.read(id);
      if (!cur) throw new DocumentNotFoundError(this.collection, id);
      const decision = decideUpdate({
        current: cur.stored,
        mutate,
        expectedRevision,
        codec: this.codec,
        now: this.clock(),
      });
      if (decision.action === 'conflict') throw decision.error;
      if (decision.action === 'keep') return cur.stored;
      try {
        await this.kv.update(id, KvDocumentStore.serialise(decision.next), cur.seq);
        return decision.next;
      } catch (err) {
        if (!isWrongLastSequence(err)) throw err;
      }
      // Lost the race. With an expected revision the re-read reports the winner's revision at once.
      if (expectedRevision === undefined) await casBackoff(attempt);
    }
    throw casExhausted(`${this.collection}: document "${id}"`, this.where());
  }

  /**
   * Reads every document and sorts in memory: O(n) in the collection's size, fine for the embedded
   * profile (one machine, thousands of documents); the MongoDB store answers from an index.
   */
  async list(opts: ListOptions = {}): Promise<DocumentPage<T>> {
    const { limit, after } = parseListOptions(this.collection, opts);
    const ids = await liveKeys(this.kv);
    const docs: StoredDocument<T>[] = [];
    for (let i = 0; i < ids.length; i += 32) {
      const batch = await Promise.all(ids.slice(i, i + 32).map((id) => this.read(id)));
      for (const r of batch) if (r) docs.push(r.stored);
    }
    return pageOf(docs, limit, after);
  }

  async delete(id: string, opts: UpdateOptions = {}): Promise<boolean> {
    const { expectedRevision } = opts;
    checkExpectedRevision(this.collection, id, expectedRevision);
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const cur = isDocumentId(id) ? await this.read(id) : undefined;
      if (!cur) {
        if (expectedRevision !== undefined) throw new DocumentNotFoundError(this.collection, id);
        return false;
      }
      const stale = staleRevision(this.collection, cur.stored, expectedRevision);
      if (stale) throw stale;
      try {
        // Compare-and-set here too: of two concurrent deletes exactly one reports true.
        await this.kv.delete(id, { previousSeq: cur.seq });
        return true;
      } catch (err) {
        if (!isWrongLastSequence(err)) throw err;
      }
      if (expectedRevision === undefined) await casBackoff(attempt);
    }
    throw casExhausted(`${this.collection}: document "${id}"`, this.where());
  }

  /** The NATS connection belongs to the caller; nothing to release here. */
  async close(): Promise<void> {}
}
