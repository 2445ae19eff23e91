import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isPermanent } from '../errors.ts';
import { startMongoWireServer, type MongoWireServer } from '../testing/mongo-wire.ts';
import { documentStoreContract } from './contract.ts';
import { MongoDocumentStore } from './mongo.ts';

// A real MongoDB when MONGODB_URI is set; otherwise the real driver against the in-memory
// wire-protocol test double (testing/mongo-wire.ts), since no MongoDB can run on the build machine.
const realUri = process.env.MONGODB_URI;
const Note = z.object({ text: z.string() });

describe(`MongoDocumentStore (${realUri ? 'MONGODB_URI' : 'wire-protocol test server'})`, () => {
  const db = `reelbus_test_${randomBytes(5).toString('hex')}`;
  let wire: MongoWireServer | undefined;
  let uri: string;
  let admin: MongoClient;

  beforeAll(async () => {
    if (realUri) uri = realUri;
    else {
      wire = await startMongoWireServer();
      uri = wire.uri;
    }
    admin = new MongoClient(uri, { serverSelectionTimeoutMS: 5000, ignoreUndefined: true });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.db(db).dropDatabase();
    await admin?.close();
    await wire?.close();
  });

  // Each store opens its own client from the URI, as two processes would.
  documentStoreContract('MongoDocumentStore', (opts) => MongoDocumentStore.open({ ...opts, uri, db }));

  it('keeps a collection in the MongoDB collection of its name, the revision beside the document, with a list index', async () => {
    const store = await MongoDocumentStore.open({ client: admin, db, collection: 'notes', schema: Note });
    await store.create('n1', { text: 'hello' });
    await store.update('n1', () => ({ text: 'hello again' }));
    const raw = await admin
      .db(db)
      .collection('notes')
      .findOne({ _id: 'n1' as never });
    expect(raw).toMatchObject({ _id: 'n1', revision: 2, doc: { text: 'hello again' } });
    const idx = await admin.db(db).collection('notes').indexes();
    expect(idx.find((i) => i.name === 'createdAt_desc')).toMatchObject({ key: { createdAt: -1, _id: -1 } });
    // A client passed in stays open when the store closes: other stores share it.
    await store.close();
    const again = await MongoDocumentStore.open({ client: admin, db, collection: 'notes', schema: Note });
    expect(await again.get('n1')).toMatchObject({ revision: 2, doc: { text: 'hello again' } });
  });

  it('reports a stored record that is not a document, naming the id and the collection', async () => {
    const store = await MongoDocumentStore.open({ client: admin, db, collection: 'broken', schema: Note });
    await admin
      .db(db)
      .collection('broken')
      .insertOne({ _id: 'b1' as never, text: 'no envelope' });
    const err = await store.get('b1').catch((e: unknown) => e);
    expect(isPermanent(err)).toBe(true);
    expect((err as Error).message).toBe(
      `broken: the record "b1" in MongoDB collection ${db}.broken is not a stored document`,
    );
  });
});

describe('MongoDocumentStore.open', () => {
  it('fails clearly, naming the URI without its password and the collection, when no server answers', async () => {
    const err = (await MongoDocumentStore.open({
      uri: 'mongodb://reelbus:secret@127.0.0.1:1/?directConnection=true',
      db: 'x',
      collection: 'reels',
      schema: Note,
      serverSelectionTimeoutMS: 300,
    }).catch((e: unknown) => e)) as Error;
    expect(err.name).toBe('TransientError');
    expect(err.message).toContain(
      'cannot open the MongoDB reels document store at mongodb://***@127.0.0.1:1/?directConnection=true (db x, collection reels)',
    );
    expect(err.message).not.toContain('secret');
  });
});
