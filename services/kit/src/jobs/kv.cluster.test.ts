// The job store on what a production cluster runs: a bucket at 3 replicas on three clustered
// nats-servers (≥ 2.10, see replicatedCasIsAtomic). The contract's "20 concurrent updates" case is
// the one Debian bookworm's 2.9.10 fails: there its replicated compare-and-set loses updates.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll } from 'vitest';
import { startNatsCluster, type NatsCluster } from '../testing/cluster.ts';
import { randomNamespace } from '../testing/nats.ts';
import { jobStoreContract } from './contract.ts';
import { KvJobStore } from './kv.ts';

let cluster: NatsCluster;
let nc: NatsConnection;

beforeAll(async () => {
  cluster = await startNatsCluster({ size: 3 });
  nc = await connect({ servers: cluster.urls });
}, 90_000);
afterAll(async () => {
  await nc?.close();
  await cluster?.stop();
});

jobStoreContract('KvJobStore on a 3-node nats-server cluster, bucket at 3 replicas', () =>
  KvJobStore.open({ nc, bucket: `${randomNamespace()}_jobs`, replicas: 3 }),
);
