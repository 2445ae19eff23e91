// How a service opens its document stores: `rt.openDocuments` on the backend JOB_STORE names, the
// documents outliving the process (a restarted service sees them), and start-up retried.
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { names } from '@reelbus/contracts';
import type { Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { startService } from '../runtime/service.ts';
import { replicatedCasIsAtomic } from '../state/kv.ts';
import { startMongoWireServer, type MongoWireServer } from '../testing/mongo-wire.ts';
import { freePort, randomNamespace, startNatsServer, type NatsServerHandle } from '../testing/nats.ts';
import { documentStores } from './open.ts';

const Reel = z.object({ title: z.string(), approved: z.array(z.string()).default([]) });

let nats: NatsServerHandle;
let wire: MongoWireServer;

beforeAll(async () => {
  nats = await startNatsServer();
  wire = await startMongoWireServer();
});
afterAll(async () => {
  await wire?.close();
  await nats?.stop();
});

/** A service as ingest would start it: no consumers, documents only. */
const start = (env: Record<string, string>) =>
  startService({
    name: 'docs-test',
    env: { NATS_URL: nats.url, HEALTH_HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...env },
    needs: { blobs: false, jobs: false },
    consumes: false,
    handleSignals: false,
  });

describe('rt.openDocuments', () => {
  for (const backend of ['kv', 'mongo'] as const) {
    it(`keeps documents outside the process (JOB_STORE=${backend}): a restarted service edits where the last one stopped`, async () => {
      const ns = randomNamespace();
      const env: Record<string, string> =
        backend === 'kv'
          ? { REELBUS_NAMESPACE: ns }
          : { REELBUS_NAMESPACE: ns, JOB_STORE: 'mongo', MONGODB_URI: wire.uri, MONGODB_DB: ns };
      const first = await start(env);
      const reels = await first.openDocuments({ collection: 'reels', schema: Reel });
      const projects = await first.openDocuments({ collection: 'projects', schema: Reel });
      expect(reels.kind).toBe(backend);
      const created = await reels.create('r1', { title: 'first' });
      await projects.create('p1', { title: 'a project' });
      await first.shutdown();

      const second = await start(env);
      const again = await second.openDocuments({ collection: 'reels', schema: Reel });
      expect(await again.get('r1')).toEqual(created);
      const edited = await again.update('r1', (d) => ({ ...d, approved: ['t1'] }), { expectedRevision: 1 });
      expect(edited.revision).toBe(2);
      expect(
        (await (await second.openDocuments({ collection: 'projects', schema: Reel })).get('p1'))?.revision,
      ).toBe(1);
      await second.shutdown();

      if (backend === 'kv') {
        const nc = await connect({ servers: nats.url });
        const streams = await (await jetstreamManager(nc)).streams.names().next();
        expect(streams).toEqual(expect.arrayContaining([`KV_${ns}_doc_reels`, `KV_${ns}_doc_projects`]));
        await nc.close();
      }
    });
  }
});

describe('documentStores', () => {
  it('refuses replicas > 1 on a nats-server that would lose concurrent updates, naming the setting', async () => {
    const nc = await connect({ servers: nats.url });
    const version = nc.info!.version;
    const stores = documentStores({
      kind: 'kv',
      nc,
      names: names(randomNamespace()),
      replicas: 3,
      mongoDb: 'x',
      startupTimeoutMs: 500,
    });
    const err = await stores.open({ collection: 'reels', schema: Reel }).catch((e: unknown) => e);
    if (replicatedCasIsAtomic(version)) {
      // A new enough server refuses R3 on a single node for its own reason, not ours.
      expect(err).not.toBeInstanceOf(ConfigError);
    } else {
      // Refused at once (a ConfigError is not retried), with the line a service prints before exiting 78.
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems).toEqual([
        expect.stringMatching(
          new RegExp(
            `^STREAM_REPLICAS: 3 replicas with JOB_STORE=kv need nats-server ≥ 2\\.9\\.21; .* runs ${version}`,
          ),
        ),
      ]);
    }
    await stores.close();
    await nc.close();
  });

  it('retries opening on MongoDB until the server answers, then opens every collection on it', async () => {
    const port = await freePort();
    let late: MongoWireServer | undefined;
    const warnings: string[] = [];
    // The server starts when the first attempt has failed and been logged: no timing guesses.
    const logger = {
      warn: (obj: { err: string }, msg: string) => {
        warnings.push(`${msg}: ${obj.err}`);
        if (warnings.length === 1) void startMongoWireServer({ port }).then((s) => (late = s));
      },
    } as unknown as Logger;
    const nc = await connect({ servers: nats.url });
    const stores = documentStores({
      kind: 'mongo',
      nc,
      names: names('x'),
      replicas: 1,
      mongoUri: `mongodb://127.0.0.1:${port}/?directConnection=true`,
      mongoDb: 'late',
      logger,
      serverSelectionTimeoutMS: 300,
    });
    try {
      const reels = await stores.open({ collection: 'reels', schema: Reel });
      expect(warnings[0]).toMatch(
        /^cannot open the reels document store yet; retrying: cannot open the MongoDB document stores at mongodb:\/\/127\.0\.0\.1:\d+/,
      );
      await reels.create('r1', { title: 'late' });
      const projects = await stores.open({ collection: 'projects', schema: Reel });
      expect(await projects.get('r1')).toBeUndefined();
      expect((await reels.get('r1'))?.doc.title).toBe('late');
    } finally {
      await stores.close();
      await nc.close();
      await late?.close();
    }
  });

  it('gives up after the start-up window with the reason, the URI shown without its password', async () => {
    const port = await freePort();
    const nc = await connect({ servers: nats.url });
    const stores = documentStores({
      kind: 'mongo',
      nc,
      names: names('x'),
      replicas: 1,
      mongoUri: `mongodb://u:secret@127.0.0.1:${port}/?directConnection=true`,
      mongoDb: 'never',
      startupTimeoutMs: 1000,
      serverSelectionTimeoutMS: 200,
    });
    const err = (await stores.open({ collection: 'reels', schema: Reel }).catch((e: unknown) => e)) as Error;
    expect(err.name).toBe('TransientError');
    expect(err.message).toContain(
      `cannot open the MongoDB document stores at mongodb://***@127.0.0.1:${port}`,
    );
    expect(err.message).not.toContain('secret');
    await stores.close();
    await nc.close();
  });
});
