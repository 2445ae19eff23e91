import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { jetstreamManager } from '@nats-io/jetstream';
import { names } from '@reelbus/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isPermanent } from '../errors.ts';
import { replicatedCasIsAtomic } from '../state/kv.ts';
import { randomNamespace, startNatsServer, type NatsServerHandle } from '../testing/nats.ts';
import { documentStoreContract } from './contract.ts';
import { isInvalidDocument } from './errors.ts';
import { KvDocumentStore } from './kv.ts';

let server: NatsServerHandle;
let nc: NatsConnection;
/** A second connection: the contract's "two processes" use one each. */
let nc2: NatsConnection;
// One namespace for the file; every contract test uses fresh collections, so fresh buckets.
const ns = randomNamespace();

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  nc2 = await connect({ servers: server.url });
});
afterAll(async () => {
  await nc2?.close();
  await nc?.close();
  await server?.stop();
});

let opened = 0;
documentStoreContract('KvDocumentStore on nats-server', (opts) =>
  KvDocumentStore.open({
    ...opts,
    nc: opened++ % 2 ? nc2 : nc,
    bucket: names(ns).documentBucket(opts.collection),
  }),
);

const Note = z.object({ text: z.string() });

describe('KvDocumentStore', () => {
  it('keeps a collection in the bucket names() gives it, one key per id, the revision beside the document', async () => {
    const bucket = names(ns).documentBucket('notes');
    expect(bucket).toBe(`${ns}_doc_notes`);
    const store = await KvDocumentStore.open({ nc, bucket, collection: 'notes', schema: Note });
    await store.create('n1', { text: 'hello' });
    await store.update('n1', () => ({ text: 'hello again' }));
    const entry = await (await new Kvm(nc).open(bucket)).get('n1');
    expect(entry?.json()).toMatchObject({ id: 'n1', revision: 2, doc: { text: 'hello again' } });
    const info = await (await jetstreamManager(nc)).streams.info(`KV_${bucket}`);
    expect(info.config).toMatchObject({ num_replicas: 1, max_msgs_per_subject: 1, allow_direct: false });
  });

  it('reports a stored value that is not a document, naming the id and the bucket', async () => {
    const bucket = names(ns).documentBucket('broken');
    const store = await KvDocumentStore.open({ nc, bucket, collection: 'broken', schema: Note });
    await (await new Kvm(nc).open(bucket)).put('b1', JSON.stringify({ text: 'no envelope' }));
    const err = await store.get('b1').catch((e: unknown) => e);
    expect(isPermanent(err)).toBe(true);
    expect((err as Error).message).toBe(
      `broken: the value of "b1" in KV bucket ${bucket} is not a stored document`,
    );
  });

  it("holds documents to the server's max_payload even when asked for more", async () => {
    const bucket = names(ns).documentBucket('big');
    const store = await KvDocumentStore.open({
      nc,
      bucket,
      collection: 'big',
      schema: Note,
      maxBytes: 64 << 20,
    });
    const limit = nc.info!.max_payload - 4096;
    const err = await store.create('b1', { text: 'x'.repeat(limit) }).catch((e: unknown) => e);
    expect(isInvalidDocument(err)).toBe(true);
    expect((err as Error).message).toContain(
      `of JSON; this store takes at most ${(limit / 1024).toFixed(1)} KiB`,
    );
    // The largest document allowed fits in one message with its envelope.
    const largest = { text: 'x'.repeat(limit - JSON.stringify({ text: '' }).length) };
    expect((await store.create('b2', largest)).doc.text).toHaveLength(largest.text.length);
    expect((await store.get('b2'))?.revision).toBe(1);
  });

  it("refuses a collection name that cannot name a bucket, or the job store's", async () => {
    await expect(
      KvDocumentStore.open({ nc, bucket: `${ns}_doc_x`, collection: 'Bad.Name', schema: Note }),
    ).rejects.toThrow(/document collection "Bad.Name" must match/);
    await expect(
      KvDocumentStore.open({ nc, bucket: `${ns}_doc_jobs`, collection: 'jobs', schema: Note }),
    ).rejects.toThrow(/"jobs" is the job store's/);
  });

  it('refuses a replicated bucket on a server that would lose concurrent updates, naming the setting', async () => {
    const version = nc.info!.version;
    const open = KvDocumentStore.open({
      nc,
      bucket: names(ns).documentBucket('replicated'),
      collection: 'replicated',
      schema: Note,
      replicas: 3,
    });
    if (replicatedCasIsAtomic(version)) {
      // A new enough server refuses R3 on a single node for its own reason, not ours.
      await expect(open).rejects.not.toThrow(/STREAM_REPLICAS/);
    } else {
      await expect(open).rejects.toThrow(
        /STREAM_REPLICAS: 3 replicas with JOB_STORE=kv need nats-server ≥ 2\.9\.21/,
      );
    }
  });
});
