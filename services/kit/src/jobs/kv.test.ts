import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { newJob } from '@reelbus/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPermanent } from '../errors.ts';
import { randomNamespace, startNatsServer, type NatsServerHandle } from '../testing/nats.ts';
import { jobStoreContract } from './contract.ts';
import { replicatedCasIsAtomic } from '../state/kv.ts';
import { dedupeIndexKey, KvJobStore } from './kv.ts';

let server: NatsServerHandle;
let nc: NatsConnection;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

// A fresh bucket per test keeps the list assertions exact.
jobStoreContract('KvJobStore on nats-server', () =>
  KvJobStore.open({ nc, bucket: `${randomNamespace()}_jobs` }),
);

describe('KvJobStore', () => {
  it('takes over a dedupe claim whose job never appeared (its creator crashed between the two writes)', async () => {
    const bucket = `${randomNamespace()}_jobs`;
    const store = await KvJobStore.open({ nc, bucket });
    const dedupeKey = 'twilio:REcrashed';
    await store.kv.create(dedupeIndexKey(dedupeKey), 'ghost_job');
    const job = newJob({ id: 'real_job', kind: 'call', dedupeKey });
    const res = await store.create(job);
    expect(res.created).toBe(true);
    expect(await store.findByDedupeKey(dedupeKey)).toEqual(job);
  });

  it('reports a stored document that is not a job, naming the job id', async () => {
    const bucket = `${randomNamespace()}_jobs`;
    const store = await KvJobStore.open({ nc, bucket });
    const kv = await new Kvm(nc).open(bucket);
    await kv.put('broken_job', JSON.stringify({ id: 'broken_job', kind: 'nonsense' }));
    const err = await store.get('broken_job').catch((e: unknown) => e);
    expect(isPermanent(err)).toBe(true);
    expect((err as Error).message).toContain('job "broken_job"');
  });

  it('answers undefined for an id that could never be a job id', async () => {
    const store = await KvJobStore.open({ nc, bucket: `${randomNamespace()}_jobs` });
    expect(await store.get('../etc.passwd')).toBeUndefined();
  });
});

describe('replicatedCasIsAtomic', () => {
  it.each([
    ['2.9.10', false], // Debian bookworm
    ['2.9.20', false],
    ['2.9.21', true], // nats-io/nats-server#4319
    ['2.10.0', true],
    ['2.10.27', true], // Debian trixie
    ['2.11.1-RC.2', true],
    ['3.0.0', true],
    ['1.4.1', false],
  ])('nats-server %s → %s', (version, atomic) => {
    expect(replicatedCasIsAtomic(version)).toBe(atomic);
  });

  it('refuses a replicated bucket on a server that would lose concurrent updates, naming the setting', async () => {
    const version = nc.info!.version;
    const open = KvJobStore.open({ nc, bucket: `${randomNamespace()}_jobs`, replicas: 3 });
    if (replicatedCasIsAtomic(version)) {
      // A new enough server refuses R3 on a single node for its own reason, not ours.
      await expect(open).rejects.not.toThrow(/STREAM_REPLICAS/);
    } else {
      await expect(open).rejects.toThrow(
        new RegExp(
          `STREAM_REPLICAS: 3 replicas with JOB_STORE=kv need nats-server ≥ 2.9.21; .* runs ${version}`,
        ),
      );
    }
  });
});
