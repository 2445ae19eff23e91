// The compare-and-set stores on what a production cluster runs: buckets at 3 replicas on three
// clustered nats-servers (≥ 2.10, see replicatedCasIsAtomic). The contracts' concurrent cases (20
// updates; two writers with one expectedRevision; two reviewers approving at once) are the ones
// Debian bookworm's 2.9.10 fails: there a replicated compare-and-set loses updates. Both contracts
// share one cluster, so a loaded machine runs three nats-servers for them, not six.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { names } from '@reelbus/contracts';
import { afterAll, beforeAll } from 'vitest';
import { documentStoreContract } from '../docs/contract.ts';
import { KvDocumentStore } from '../docs/kv.ts';
import { jobStoreContract } from '../jobs/contract.ts';
import { KvJobStore } from '../jobs/kv.ts';
import { retryStartup } from '../runtime/startup-retry.ts';
import { startNatsCluster, type NatsCluster } from '../testing/cluster.ts';
import { randomNamespace } from '../testing/nats.ts';

let cluster: NatsCluster;
/** Two connections to two different nodes: the document contract's "two processes" use one each. */
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

// Creating an R3 bucket while a starved node misses heartbeats answers "no suitable peers for
// placement"; services retry that start-up step (retryStartup), and so do these tests.
const opening = <T>(what: string, open: () => Promise<T>) => retryStartup(what, open, { timeoutMs: 20_000 });

jobStoreContract('KvJobStore on a 3-node nats-server cluster, bucket at 3 replicas', () =>
  opening('open the job bucket', () =>
    KvJobStore.open({ nc: connections[0]!, bucket: `${randomNamespace()}_jobs`, replicas: 3 }),
  ),
);

let opened = 0;
documentStoreContract('KvDocumentStore on a 3-node nats-server cluster, bucket at 3 replicas', (opts) => {
  const nc = connections[opened++ % 2]!;
  return opening('open a document bucket', () =>
    KvDocumentStore.open({ ...opts, nc, bucket: names(ns).documentBucket(opts.collection), replicas: 3 }),
  );
});
