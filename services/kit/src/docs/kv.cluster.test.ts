// The document stores on what a production cluster runs: a bucket at 3 replicas on three clustered
// nats-servers (≥ 2.10, see replicatedCasIsAtomic), the contract's "two processes" connected to two
// different nodes. Its concurrent cases (20 updates, two writers with one expectedRevision, two
// reviewers approving at once) are the ones a replicated compare-and-set that is not atomic fails.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { names } from '@reelbus/contracts';
import { afterAll, beforeAll } from 'vitest';
import { startNatsCluster, type NatsCluster } from '../testing/cluster.ts';
import { randomNamespace } from '../testing/nats.ts';
import { documentStoreContract } from './contract.ts';
import { KvDocumentStore } from './kv.ts';

let cluster: NatsCluster;
let connections: NatsConnection[] = [];
const ns = randomNamespace();

beforeAll(async () => {
  cluster = await startNatsCluster({ size: 3 });
  connections = await Promise.all(cluster.urls.slice(0, 2).map((url) => connect({ servers: url })));
}, 90_000);
afterAll(async () => {
  await Promise.all(connections.map((nc) => nc.close()));
  await cluster?.stop();
});

let opened = 0;
documentStoreContract('KvDocumentStore on a 3-node nats-server cluster, bucket at 3 replicas', (opts) =>
  KvDocumentStore.open({
    ...opts,
    nc: connections[opened++ % 2]!,
    bucket: names(ns).documentBucket(opts.collection),
    replicas: 3,
  }),
);
