import type { Problem } from '@reelbus/contracts';

/**
 * The document stores' errors. Each sets `name` (predicates check it, so they work across copies of
 * the kit) and `permanent` (read by `isPermanent()`: a consume loop dead-letters instead of retrying,
 * since a retry of the same message would meet the same answer).
 */

/** No document with this id in the collection. HTTP: 404. */
export class DocumentNotFoundError extends Error {
  override name = 'DocumentNotFoundError';
  readonly permanent = true;
  constructor(
    readonly collection: string,
    readonly id: string,
    opts: { cause?: unknown } = {},
  ) {
    super(`${collection}: no document "${id}"`, { cause: opts.cause });
  }
}

/** `create` of an id that is taken. HTTP: 409. */
export class DocumentExistsError extends Error {
  override name = 'DocumentExistsError';
  readonly permanent = true;
  constructor(
    readonly collection: string,
    readonly id: string,
    opts: { cause?: unknown } = {},
  ) {
    super(`${collection}: document "${id}" exists already`, { cause: opts.cause });
  }
}

/**
 * A write made against a revision that is no longer the current one (`If-Match` was stale, or
 * another writer won the race): nothing was written. HTTP: 409 with `currentRevision`.
 */
export class RevisionConflictError extends Error {
  override name = 'RevisionConflictError';
  readonly permanent = true;
  constructor(
    readonly collection: string,
    readonly id: string,
    readonly expectedRevision: number,
    readonly currentRevision: number,
    opts: { cause?: unknown } = {},
  ) {
    super(
      `${collection}: document "${id}" is at revision ${currentRevision}, not ${expectedRevision}: ` +
        'it changed since it was read; read it again and redo the change',
      { cause: opts.cause },
    );
  }
}

/** One problem of a document: a JSON path (`sections[1].title`, empty for the whole document) and what is wrong. */
export type DocumentIssue = Problem;

/** A document (or id) refused before anything was written, naming every bad field. HTTP: 400. */
export class InvalidDocumentError extends Error {
  override name = 'InvalidDocumentError';
  readonly permanent = true;
  constructor(
    readonly collection: string,
    readonly id: string,
    readonly issues: DocumentIssue[],
    opts: { cause?: unknown } = {},
  ) {
    super(
      `${collection}: document "${id}" is invalid: ${issues.map((i) => `${i.path || '(document)'}: ${i.message}`).join('; ')}`,
      { cause: opts.cause },
    );
  }
}

/** A `limit` or `cursor` given to `list` that cannot be used. HTTP: 400 naming `field`. */
export class InvalidListOptionsError extends Error {
  override name = 'InvalidListOptionsError';
  readonly permanent = true;
  constructor(
    readonly collection: string,
    readonly field: 'limit' | 'cursor',
    reason: string,
  ) {
    super(`${collection}: list ${field} ${reason}`);
  }
}

const named = (err: unknown, name: string): boolean => err instanceof Error && err.name === name;

export const isDocumentNotFound = (err: unknown): err is DocumentNotFoundError =>
  named(err, 'DocumentNotFoundError');
export const isDocumentExists = (err: unknown): err is DocumentExistsError =>
  named(err, 'DocumentExistsError');
export const isRevisionConflict = (err: unknown): err is RevisionConflictError =>
  named(err, 'RevisionConflictError');
export const isInvalidDocument = (err: unknown): err is InvalidDocumentError =>
  named(err, 'InvalidDocumentError');
export const isInvalidListOptions = (err: unknown): err is InvalidListOptionsError =>
  named(err, 'InvalidListOptionsError');
