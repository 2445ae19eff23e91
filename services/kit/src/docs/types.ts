import type { z } from 'zod';

/** A document as stored: the document itself and what the store keeps about it. */
export interface StoredDocument<T> {
  id: string;
  doc: T;
  /** 1 when created, one more on every change. What `If-Match` carries. */
  revision: number;
  /** ISO-8601 UTC, set by the store. */
  createdAt: string;
  /** ISO-8601 UTC, set by the store on every change (always later than the previous one). */
  updatedAt: string;
}

/** What a mutation is told about the document beside its content. */
export type DocumentMeta = Omit<StoredDocument<unknown>, 'doc'>;

/**
 * Gets a copy of the current document; returns the new one, or undefined to write nothing.
 * Throwing refuses the change (nothing is written, the error reaches the caller). Keep it a pure
 * decision: it may run more than once when another writer wins a race.
 */
export type Mutation<T, In = T> = (doc: T, meta: DocumentMeta) => In | undefined;

export interface UpdateOptions {
  /**
   * The revision the caller last saw (`If-Match`). When the stored one differs, or another writer
   * wins the race, nothing is written and `RevisionConflictError` carries the current revision.
   * Without it, a lost race re-reads and re-applies the mutation.
   */
  expectedRevision?: number;
}

export interface ListOptions {
  /** Page size, 1–1000. Default 100. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface DocumentPage<T> {
  /** Newest first (by `createdAt`, then by id). */
  items: StoredDocument<T>[];
  /** Present when more documents follow: pass it as `cursor` for the next page. */
  nextCursor?: string;
}

/**
 * Revisioned documents of one type (reels, projects), each change a compare-and-set, in NATS
 * JetStream KV (embedded default) or MongoDB. Both pass the same contract suite (`contract.ts`).
 * `T` is the schema's output, `In` what it accepts (fields with defaults may be left out).
 */
export interface DocumentStore<T, In = T> {
  readonly kind: 'kv' | 'mongo';
  /** The collection name (`reels`). */
  readonly collection: string;
  /** Stores `doc` at revision 1. Throws DocumentExistsError when the id is taken, InvalidDocumentError when `doc` does not fit the schema. */
  create(id: string, doc: In): Promise<StoredDocument<T>>;
  /** The document and its revision, or undefined (also for an id that could never exist). */
  get(id: string): Promise<StoredDocument<T> | undefined>;
  /**
   * Applies `mutate` by compare-and-set and returns the stored result (its revision one more), or the
   * current document unchanged when `mutate` returns undefined. Throws DocumentNotFoundError,
   * RevisionConflictError (with `expectedRevision`), InvalidDocumentError (the result does not fit).
   */
  update(id: string, mutate: Mutation<T, In>, opts?: UpdateOptions): Promise<StoredDocument<T>>;
  /** One page, newest first. Throws InvalidListOptionsError for a bad limit or cursor. */
  list(opts?: ListOptions): Promise<DocumentPage<T>>;
  /**
   * Removes the document; true when this call removed it, false when it was absent. With
   * `expectedRevision`: RevisionConflictError when stale, DocumentNotFoundError when absent.
   */
  delete(id: string, opts?: UpdateOptions): Promise<boolean>;
  /** Releases what the store owns (a MongoDB client it opened); connections passed in stay open. */
  close(): Promise<void>;
}

/** What every backend is opened with. */
export interface DocumentStoreOptions<S extends z.ZodType> {
  /** `DOCUMENT_COLLECTION_RE` (`reels`); `jobs` is refused (the job store's MongoDB collection). */
  collection: string;
  /** Validates every write; read documents are parsed with it too (defaults fill fields added later). */
  schema: S;
  /** Largest document, in bytes of JSON. Default and upper bound: what the backend can hold. */
  maxBytes?: number;
  /** The store's clock (tests). */
  clock?: () => Date;
}
