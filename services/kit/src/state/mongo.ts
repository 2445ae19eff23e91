import type { Collection, Document, MongoClient } from 'mongodb';
import { TransientError } from '../errors.ts';

/** `mongodb://user:pass@host` → `mongodb://***@host`: URIs in error messages never show passwords. */
export function redactUri(uri: string): string {
  return uri.replace(/\/\/[^@/]*@/, '//***@');
}

/** A MongoServerError with code 11000 (checked by shape: the driver is loaded only when used). */
export const isDuplicateKey = (err: unknown): err is Error & { keyPattern?: Record<string, unknown> } =>
  err instanceof Error && err.name === 'MongoServerError' && (err as { code?: unknown }).code === 11000;

/**
 * A new MongoClient for `uri`, connected. `ignoreUndefined`: a field set to `undefined` is left out
 * instead of stored as null, as JSON does. The driver (~25 MB resident) is loaded only by a service
 * that uses MongoDB. A wrong URI fails within `serverSelectionTimeoutMS` with a TransientError naming
 * the URI (password hidden) and `what` was being opened.
 */
export async function connectMongo(opts: {
  uri: string;
  /** What is being opened, e.g. `job store`. */
  what: string;
  /** Added after the URI, e.g. `db reelbus, collection jobs`. */
  detail?: string;
  serverSelectionTimeoutMS?: number;
}): Promise<MongoClient> {
  const { uri, what, detail, serverSelectionTimeoutMS = 5000 } = opts;
  const { MongoClient } = await import('mongodb');
  const client = new MongoClient(uri, { serverSelectionTimeoutMS, ignoreUndefined: true });
  try {
    await client.connect();
    return client;
  } catch (err) {
    await client.close().catch(() => {});
    throw new TransientError(
      `cannot open the MongoDB ${what} at ${redactUri(uri)}${detail ? ` (${detail})` : ''}: ${(err as Error).message}; ` +
        'check MONGODB_URI and that the server is reachable',
      { cause: err },
    );
  }
}

/**
 * A collection of `client`, with its indexes created when missing (`prepare`). Failures name the
 * database and collection; a client this call made (from `uri`) is closed on failure.
 */
export async function openMongoCollection<D extends Document>(opts: {
  /** An existing client (the caller keeps it), or a URI for a new one (the store owns it). */
  client?: MongoClient;
  uri?: string;
  db: string;
  collection: string;
  what: string;
  serverSelectionTimeoutMS?: number;
  prepare: (col: Collection<D>) => Promise<void>;
}): Promise<{ client: MongoClient; col: Collection<D>; ownsClient: boolean }> {
  const { db, collection, what, serverSelectionTimeoutMS, prepare } = opts;
  if (!opts.client && !opts.uri) throw new Error(`opening the MongoDB ${what} needs a client or a uri`);
  const ownsClient = !opts.client;
  const client =
    opts.client ??
    (await connectMongo({
      uri: opts.uri!,
      what,
      detail: `db ${db}, collection ${collection}`,
      ...(serverSelectionTimeoutMS !== undefined ? { serverSelectionTimeoutMS } : {}),
    }));
  try {
    const col = client.db(db).collection<D>(collection);
    await prepare(col);
    return { client, col, ownsClient };
  } catch (err) {
    if (ownsClient) await client.close().catch(() => {});
    const at = opts.uri ? ` at ${redactUri(opts.uri)}` : '';
    throw new TransientError(
      `cannot open the MongoDB ${what}${at} (db ${db}, collection ${collection}): ${(err as Error).message}; ` +
        'check MONGODB_URI and that the server is reachable',
      { cause: err },
    );
  }
}
