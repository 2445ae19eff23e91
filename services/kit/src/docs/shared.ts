/**
 * The decisions both document stores make, as pure functions: what a valid id, document, page and
 * update are. The backends only read, compare-and-set and loop.
 */
import { DOCUMENT_COLLECTION_RE, problemsOf } from '@reelbus/contracts';
import type { z } from 'zod';
import { PermanentError } from '../errors.ts';
import {
  InvalidDocumentError,
  InvalidListOptionsError,
  RevisionConflictError,
  type DocumentIssue,
} from './errors.ts';
import type { DocumentPage, ListOptions, Mutation, StoredDocument } from './types.ts';

/** A document id: letters, digits, `-` and `_` (safe as a KV key, in URLs and blob keys; sorts the same in JS and MongoDB). */
export const DOCUMENT_ID_RE = /^[A-Za-z0-9_-]{1,128}$/;

export const isDocumentId = (id: unknown): id is string => typeof id === 'string' && DOCUMENT_ID_RE.test(id);

/** Throws unless `collection` can name a KV bucket and a MongoDB collection (a programming error, not input). */
export function assertCollectionName(collection: string): void {
  if (!DOCUMENT_COLLECTION_RE.test(collection))
    throw new Error(`document collection "${collection}" must match ${DOCUMENT_COLLECTION_RE}`);
  if (collection === 'jobs')
    throw new Error('document collection "jobs" is the job store\'s; choose another name');
}

/** Every bad field, with JSON paths (`sections[1].title`) as HTTP errors name them. */
export function issuesOf(error: z.ZodError): DocumentIssue[] {
  return problemsOf(error);
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

/** Validation and (de)serialisation of one collection's documents. */
export class DocumentCodec<T, In> {
  constructor(
    readonly collection: string,
    private readonly schema: z.ZodType<T>,
    /** Largest document, in bytes of its JSON. */
    readonly maxBytes: number,
  ) {}

  /**
   * The document to write, and its JSON. Refuses (InvalidDocumentError, every bad field named) a
   * document that does not fit the schema, does not survive JSON (a Date, a Map) or is too large.
   * The returned `doc` is what a later read gives back.
   */
  encode(id: string, input: In | T): { doc: T; json: string } {
    const first = this.schema.safeParse(input);
    if (!first.success) throw new InvalidDocumentError(this.collection, id, issuesOf(first.error));
    const json = JSON.stringify(first.data);
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes > this.maxBytes) {
      throw new InvalidDocumentError(this.collection, id, [
        {
          path: '',
          message: `is ${formatBytes(bytes)} of JSON; this store takes at most ${formatBytes(this.maxBytes)}`,
        },
      ]);
    }
    const again = this.schema.safeParse(JSON.parse(json));
    if (!again.success) {
      const issues = issuesOf(again.error).map((i) => ({
        ...i,
        message: `${i.message} after a JSON round trip (documents must be plain JSON: no Date, Map, undefined in arrays)`,
      }));
      throw new InvalidDocumentError(this.collection, id, issues);
    }
    return { doc: again.data, json };
  }

  /** `encode` for a new document: a bad id is named together with the document's own problems. */
  encodeNew(id: string, input: In | T): { doc: T; json: string } {
    if (isDocumentId(id)) return this.encode(id, input);
    const issues: DocumentIssue[] = [
      { path: 'id', message: `must be 1-128 letters, digits, "-" or "_" (got ${JSON.stringify(id)})` },
    ];
    try {
      this.encode(String(id), input);
    } catch (err) {
      if (!(err instanceof InvalidDocumentError)) throw err;
      issues.push(...err.issues);
    }
    throw new InvalidDocumentError(this.collection, String(id), issues);
  }

  /** A stored document, parsed (defaults fill fields added since it was written). */
  decode(id: string, raw: unknown, where: string): T {
    const res = this.schema.safeParse(raw);
    if (!res.success) {
      const problems = issuesOf(res.error)
        .map((i) => `${i.path || '(document)'}: ${i.message}`)
        .join('; ');
      throw new PermanentError(
        `${this.collection}: stored document "${id}" in ${where} does not fit the schema: ${problems}`,
      );
    }
    return res.data;
  }
}

/** `now`, or just after `previous` when the clock has not moved past it: updatedAt always grows. */
export function nextTimestamp(previous: string, now: Date): string {
  const prev = Date.parse(previous);
  return (Number.isNaN(prev) || now.getTime() > prev ? now : new Date(prev + 1)).toISOString();
}

/** What an update does to the document it read. */
export type UpdateDecision<T> =
  | { action: 'conflict'; error: RevisionConflictError }
  | { action: 'keep' }
  | { action: 'write'; next: StoredDocument<T>; json: string };

/**
 * Decides one update attempt on `current`: a conflict when `expectedRevision` is stale (checked
 * before `mutate` runs), keep when `mutate` returns undefined or the same document, else the next
 * revision. `mutate` gets a copy, so a refused change leaves `current` untouched.
 */
export function decideUpdate<T, In>(opts: {
  current: StoredDocument<T>;
  mutate: Mutation<T, In>;
  expectedRevision?: number | undefined;
  codec: DocumentCodec<T, In>;
  now: Date;
}): UpdateDecision<T> {
  const { current, mutate, expectedRevision, codec, now } = opts;
  const stale = staleRevision(codec.collection, current, expectedRevision);
  if (stale) return { action: 'conflict', error: stale };
  const { doc, ...meta } = current;
  const result = mutate(structuredClone(doc), meta);
  if (result === undefined) return { action: 'keep' };
  const { doc: nextDoc, json } = codec.encode(current.id, result);
  if (json === JSON.stringify(doc)) return { action: 'keep' };
  return {
    action: 'write',
    json,
    next: {
      id: current.id,
      doc: nextDoc,
      revision: current.revision + 1,
      createdAt: current.createdAt,
      updatedAt: nextTimestamp(current.updatedAt, now),
    },
  };
}

/** The conflict to report when `expectedRevision` is given and `current` is at another revision. */
export function staleRevision(
  collection: string,
  current: Pick<StoredDocument<unknown>, 'id' | 'revision'>,
  expectedRevision: number | undefined,
): RevisionConflictError | undefined {
  if (expectedRevision === undefined || expectedRevision === current.revision) return undefined;
  return new RevisionConflictError(collection, current.id, expectedRevision, current.revision);
}

/** Throws InvalidDocumentError naming `expectedRevision` unless it is a whole number ≥ 1 (or absent). */
export function checkExpectedRevision(collection: string, id: string, expectedRevision: unknown): void {
  if (expectedRevision === undefined) return;
  if (!Number.isSafeInteger(expectedRevision) || (expectedRevision as number) < 1) {
    throw new InvalidDocumentError(collection, id, [
      { path: 'expectedRevision', message: `must be a whole number ≥ 1 (got ${String(expectedRevision)})` },
    ]);
  }
}

/** A position in the newest-first order. */
export interface ListPosition {
  createdAt: string;
  id: string;
}

/** Newest first; documents created in the same millisecond by id, descending, so pages never overlap. */
export function newestFirst(a: ListPosition, b: ListPosition): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? 1 : -1;
  return a.id === b.id ? 0 : a.id < b.id ? 1 : -1;
}

export function encodeCursor(p: ListPosition): string {
  return Buffer.from(JSON.stringify([p.createdAt, p.id]), 'utf8').toString('base64url');
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The default and largest page. */
export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;

/** Validates `list` options: the page size and the position after which the page starts. */
export function parseListOptions(
  collection: string,
  opts: ListOptions,
): { limit: number; after: ListPosition | undefined } {
  const { limit = DEFAULT_PAGE, cursor } = opts;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE)
    throw new InvalidListOptionsError(
      collection,
      'limit',
      `must be a whole number from 1 to ${MAX_PAGE} (got ${limit})`,
    );
  if (cursor === undefined) return { limit, after: undefined };
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (
    !Array.isArray(value) ||
    value.length !== 2 ||
    typeof value[0] !== 'string' ||
    !ISO_UTC.test(value[0]) ||
    !isDocumentId(value[1])
  ) {
    throw new InvalidListOptionsError(
      collection,
      'cursor',
      `"${cursor}" is not a cursor this store returned`,
    );
  }
  return { limit, after: { createdAt: value[0], id: value[1] } };
}

/**
 * The page of `limit` documents after `after`, from documents in any order (the KV store reads them
 * all); the MongoDB store asks its index for `limit + 1` documents after `after` and passes those.
 */
export function pageOf<T>(
  docs: StoredDocument<T>[],
  limit: number,
  after: ListPosition | undefined,
): DocumentPage<T> {
  const sorted = docs.filter((d) => !after || newestFirst(after, d) < 0).sort(newestFirst);
  const items = sorted.slice(0, limit);
  const last = items[items.length - 1];
  return sorted.length > limit && last ? { items, nextCursor: encodeCursor(last) } : { items };
}
