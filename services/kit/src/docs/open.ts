import type { NatsConnection } from '@nats-io/transport-node';
import type { MongoClient } from 'mongodb';
import type { Logger } from 'pino';
import type { Names } from '@reelbus/contracts';
import type { z } from 'zod';
import { describeError } from '../errors.ts';
import { retryStartup } from '../runtime/startup-retry.ts';
import { connectMongo } from '../state/mongo.ts';
import { KvDocumentStore } from './kv.ts';
import { MongoDocumentStore } from './mongo.ts';
import type { DocumentStore, DocumentStoreOptions } from './types.ts';

/** Where a service's documents live: the same backend as its jobs (`JOB_STORE`). */
export type DocumentBackend =
  | { kind: 'kv'; nc: NatsConnection; names: Names; replicas?: number }
  | { kind: 'mongo'; client: MongoClient; db: string };

/** Opens one collection's store on `backend`: bucket `names.documentBucket(collection)`, or the MongoDB collection of that name. */
export function openDocumentStore<S extends z.ZodType>(
  backend: DocumentBackend,
  opts: DocumentStoreOptions<S>,
): Promise<DocumentStore<z.output<S>, z.input<S>>> {
  if (backend.kind === 'mongo')
    return MongoDocumentStore.open({ ...opts, client: backend.client, db: backend.db });
  return KvDocumentStore.open({
    ...opts,
    nc: backend.nc,
    bucket: backend.names.documentBucket(opts.collection),
    ...(backend.replicas !== undefined ? { replicas: backend.replicas } : {}),
  });
}

/** A service's document stores: opened on demand, closed together at shutdown. */
export interface DocumentStores {
  /** Opens a collection's store, retrying start-up errors that may pass (a cluster electing leaders) for up to 60 s. */
  open<S extends z.ZodType>(opts: DocumentStoreOptions<S>): Promise<DocumentStore<z.output<S>, z.input<S>>>;
  /** Closes every store opened here, then the MongoDB client they share. */
  close(): Promise<void>;
}

/**
 * The document stores of one service, on the job store's backend: with `kind: 'mongo'` the stores
 * share one MongoDB client, connected by the first `open`.
 */
export function documentStores(opts: {
  kind: 'kv' | 'mongo';
  nc: NatsConnection;
  names: Names;
  replicas: number;
  mongoUri?: string | undefined;
  mongoDb: string;
  logger?: Logger;
  /** How long start-up errors are retried; default 60 s. */
  startupTimeoutMs?: number;
  /** How long one MongoDB connection attempt looks for a server; default 5 s. */
  serverSelectionTimeoutMS?: number;
}): DocumentStores {
  const { kind, nc, names, replicas, mongoUri, mongoDb, logger, startupTimeoutMs, serverSelectionTimeoutMS } =
    opts;
  const opened: Array<DocumentStore<unknown, unknown>> = [];
  let client: Promise<MongoClient> | undefined;
  const retry = {
    ...(logger ? { logger } : {}),
    ...(startupTimeoutMs ? { timeoutMs: startupTimeoutMs } : {}),
  };

  const backend = async (): Promise<DocumentBackend> => {
    if (kind === 'kv') return { kind, nc, names, replicas };
    if (!mongoUri) throw new Error('document stores on MongoDB need MONGODB_URI');
    client ??= connectMongo({
      uri: mongoUri,
      what: 'document stores',
      ...(serverSelectionTimeoutMS ? { serverSelectionTimeoutMS } : {}),
    }).catch((err: unknown) => {
      client = undefined; // the next attempt connects afresh
      throw err;
    });
    return { kind, client: await client, db: mongoDb };
  };

  return {
    async open(storeOpts) {
      const store = await retryStartup(
        `open the ${storeOpts.collection} document store`,
        async () => openDocumentStore(await backend(), storeOpts),
        retry,
      );
      opened.push(store as DocumentStore<unknown, unknown>);
      return store;
    },
    async close() {
      for (const store of opened.splice(0)) {
        await store
          .close()
          .catch((err) =>
            logger?.warn(
              { err: describeError(err), collection: store.collection },
              'closing a document store failed',
            ),
          );
      }
      const c = client;
      client = undefined;
      if (c) await (await c.catch(() => undefined))?.close();
    },
  };
}
