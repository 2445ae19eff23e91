import { MongoClient, MongoServerError, type Collection } from 'mongodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startMongoWireServer, type MongoWireServer } from './mongo-wire.ts';

interface Item {
  _id: string;
  n?: number;
  tag?: string;
  k?: string;
}

// The real `mongodb` driver against the wire-protocol test double.
describe('startMongoWireServer', () => {
  let server: MongoWireServer;
  let client: MongoClient;
  let col: Collection<Item>;
  let seq = 0;

  beforeAll(async () => {
    server = await startMongoWireServer();
    client = new MongoClient(server.uri, { serverSelectionTimeoutMS: 2000 });
    await client.connect();
  });
  afterAll(async () => {
    await client?.close();
    await server?.close();
  });
  beforeEach(() => {
    col = client.db('wire').collection<Item>(`items_${seq++}`);
  });

  it('answers ping and reports a standalone server with sessions', async () => {
    const hello = await client.db('admin').command({ hello: 1 });
    expect(hello).toMatchObject({
      ok: 1,
      isWritablePrimary: true,
      maxWireVersion: 21,
      logicalSessionTimeoutMinutes: 30,
    });
    expect(await client.db('admin').command({ ping: 1 })).toEqual({ ok: 1 });
  });

  it('finds inserted documents by filter, sorted and limited', async () => {
    await col.insertMany([
      { _id: 'a', n: 3, tag: 'x' },
      { _id: 'b', n: 1, tag: 'y' },
      { _id: 'c', n: 2, tag: 'x' },
      { _id: 'd', n: 5, tag: 'x' },
    ]);
    expect(await col.find({ tag: 'x' }).sort({ n: -1 }).limit(2).toArray()).toEqual([
      { _id: 'd', n: 5, tag: 'x' },
      { _id: 'a', n: 3, tag: 'x' },
    ]);
    const ids = async (filter: object) =>
      (await col.find(filter).sort({ _id: 1 }).toArray()).map((d) => d._id);
    expect(await ids({ n: { $gte: 2, $lt: 5 } })).toEqual(['a', 'c']);
    expect(await ids({ $or: [{ tag: 'y' }, { _id: { $in: ['c', 'zz'] } }] })).toEqual(['b', 'c']);
    expect(await ids({ $nor: [{ tag: 'y' }, { n: { $gt: 2 } }] })).toEqual(['c']);
    // The page after a (createdAt, _id) cursor, as the document store asks for it.
    expect(await ids({ $or: [{ n: { $lt: 3 } }, { n: 3, _id: { $lt: 'b' } }] })).toEqual(['a', 'b', 'c']);
    expect(await ids({ tag: { $ne: 'x' }, k: { $exists: false } })).toEqual(['b']);
    expect(await col.findOne({ _id: 'b' })).toEqual({ _id: 'b', n: 1, tag: 'y' });
    expect(await col.findOne({ _id: 'nope' })).toBeNull();
  });

  it('rejects a duplicate on a unique partial index with code 11000 and the key, like the real server', async () => {
    await col.createIndex(
      { k: 1 },
      { name: 'k_unique', unique: true, partialFilterExpression: { k: { $exists: true } } },
    );
    await col.insertOne({ _id: 'a', k: 'same' });
    await col.insertMany([{ _id: 'b' }, { _id: 'c' }]); // no k: outside the partial index, no clash
    const err = await col.insertOne({ _id: 'd', k: 'same' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MongoServerError);
    expect(err).toMatchObject({ code: 11000, keyPattern: { k: 1 }, keyValue: { k: 'same' } });
    expect((err as Error).message).toContain('index: k_unique dup key');
    const dupId = await col.insertOne({ _id: 'a' }).catch((e: unknown) => e);
    expect(dupId).toMatchObject({ code: 11000, keyPattern: { _id: 1 } });
    expect(await col.find({}).toArray()).toHaveLength(3);
    expect((await col.indexes()).find((i) => i.name === 'k_unique')).toMatchObject({
      unique: true,
      partialFilterExpression: { k: { $exists: true } },
    });
  });

  it('replaces nothing when the filter no longer matches (compare-and-set)', async () => {
    await col.insertOne({ _id: 'a', n: 1 });
    const first = await col.replaceOne({ _id: 'a', n: 1 }, { n: 2 });
    expect(first).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    const stale = await col.replaceOne({ _id: 'a', n: 1 }, { n: 99 });
    expect(stale).toMatchObject({ matchedCount: 0, modifiedCount: 0 });
    expect(await col.findOne({ _id: 'a' })).toEqual({ _id: 'a', n: 2 });
    const upsert = await col.replaceOne({ _id: 'new' }, { n: 7 }, { upsert: true });
    expect(upsert).toMatchObject({ matchedCount: 0, upsertedCount: 1, upsertedId: 'new' });
  });

  it('deletes one document and drops a database', async () => {
    await col.insertMany([{ _id: 'a' }, { _id: 'b' }]);
    expect(await col.deleteOne({ _id: 'a' })).toMatchObject({ deletedCount: 1 });
    expect(await col.deleteOne({ _id: 'a' })).toMatchObject({ deletedCount: 0 });
    await client.db('wire').dropDatabase();
    expect(await col.find({}).toArray()).toEqual([]);
  });

  it('answers an unknown command with the real error shape', async () => {
    const err = await client
      .db('admin')
      .command({ frobnicate: 1 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MongoServerError);
    expect(err).toMatchObject({ code: 59, codeName: 'CommandNotFound' });
  });
});
