import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMongoWireServer, type MongoWireServer } from '../testing/mongo-wire.ts';
import { jobStoreContract } from './contract.ts';
import { MongoJobStore } from './mongo.ts';

// A real MongoDB when MONGODB_URI is set; otherwise the real driver against the in-memory
// wire-protocol test double (testing/mongo-wire.ts), since no MongoDB can run on the build machine.
const realUri = process.env.MONGODB_URI;

describe(`MongoJobStore (${realUri ? 'MONGODB_URI' : 'wire-protocol test server'})`, () => {
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
    admin = new MongoClient(uri, { serverSelectionTimeoutMS: 5000 });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.db(db).dropDatabase();
    await admin?.close();
    await wire?.close();
  });

  // A fresh collection per test keeps the list assertions exact.
  jobStoreContract('MongoJobStore', () =>
    MongoJobStore.open({ uri, db, collection: `jobs_${randomBytes(4).toString('hex')}` }),
  );

  it('creates a unique partial index on dedupeKey', async () => {
    const collection = `jobs_${randomBytes(4).toString('hex')}`;
    const store = await MongoJobStore.open({ uri, db, collection });
    const idx = await admin.db(db).collection(collection).indexes();
    expect(idx.find((i) => i.name === 'dedupeKey_unique')).toMatchObject({ unique: true });
    await store.close();
  });
});

describe('MongoJobStore.open', () => {
  it('fails clearly, naming the URI without its password, when no server answers', async () => {
    const err = (await MongoJobStore.open({
      uri: 'mongodb://reelbus:secret@127.0.0.1:1/?directConnection=true',
      db: 'x',
      serverSelectionTimeoutMS: 300,
    }).catch((e: unknown) => e)) as Error;
    expect(err.name).toBe('TransientError');
    expect(err.message).toContain('cannot open the MongoDB job store at mongodb://***@127.0.0.1:1');
    expect(err.message).not.toContain('secret');
  });
});
