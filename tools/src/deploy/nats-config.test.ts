// The NATS configs of docker compose and Kubernetes, run by a real nats-server ≥ 2.10 (what their
// images are) with the exact command lines the compose file and the StatefulSet give it. Only what
// cannot exist here is rewritten: /data becomes a temporary directory, the pod DNS names of the
// routes become loopback ports, and the ports are free ones.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import {
  freePort,
  recentNatsServerBinary,
  startNatsServer,
  type NatsServerHandle,
  waitForMetaLeader,
  ClusterNotSettledError,
} from '@reelbus/kit/testing';
import { K8S_DIR, loadCompose, loadK8sObjects, podContainer, ROOT } from './deploy-files.ts';

const bin = recentNatsServerBinary();
const started: NatsServerHandle[] = [];
const dirs: string[] = [];

afterAll(async () => {
  await Promise.all(started.map((s) => s.stop({ keepStore: true })));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'reelbus-nats-config-'));
  dirs.push(d);
  return d;
}

/** The container's arguments with the config path made local: exactly ['-c', <file>] is expected. */
function configArgs(args: string[] | undefined): string[] {
  expect(args).toEqual(['-c', '/etc/nats/nats.conf']);
  return [];
}

interface JszConfig {
  config: { sync_always?: boolean; store_dir: string };
  meta_cluster?: { leader?: string; cluster_size?: number };
}

async function monitor<T>(port: number, path: string): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
}

describe('NATS configs on a real nats-server ≥ 2.10', () => {
  it('compose: starts from its command and config, JetStream on /data with fsync on every write', async () => {
    const nats = loadCompose().services.nats!;
    configArgs(nats.command as string[]);
    const mount = nats.volumes!.find((v) => v.endsWith(':/etc/nats/nats.conf:ro'))!;
    const store = tempDir();
    const config = readFileSync(join(ROOT, mount.split(':')[0]!), 'utf8').replace(
      /store_dir:\s*\/data\b/,
      `store_dir: ${store}`,
    );
    const mport = await freePort();
    const server = await startNatsServer({
      bin,
      storeDir: store,
      config,
      storeInConfig: true,
      args: ['-m', String(mport)],
    });
    started.push(server);

    // The compose health check's URL.
    const health = String(nats.healthcheck?.test).match(/http:\/\/127\.0\.0\.1:8222(\/healthz\S*)/)?.[1];
    expect(health).toBe('/healthz?js-enabled-only=true');
    expect(await monitor<{ status: string }>(mport, health!)).toEqual({ status: 'ok' });
    const jsz = await monitor<JszConfig>(mport, '/jsz');
    expect(jsz.config.sync_always).toBe(true);
    expect(jsz.config.store_dir.startsWith(store)).toBe(true);
  });

  it('Kubernetes: three servers from the ConfigMap config form a cluster that holds a 3-replica stream', async () => {
    const sts = loadK8sObjects().find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'nats')!;
    const container = podContainer(sts);
    configArgs(container.args);
    expect(container.env?.find((e) => e.name === 'POD_NAME')?.valueFrom).toEqual({
      fieldRef: { fieldPath: 'metadata.name' },
    });
    const template = readFileSync(join(K8S_DIR, 'nats', 'nats.conf'), 'utf8');
    /** Three servers from the template; up to two fresh sets if one does not settle (see startNatsCluster). */
    const startCluster = async (attempt: number) => {
      const clusterName = `k8s-check-${process.pid}-${attempt}`;
      const ports = await Promise.all(
        [0, 1, 2].map(async () => ({
          client: await freePort(),
          route: await freePort(),
          monitor: await freePort(),
        })),
      );
      const servers = await Promise.all(
        ports.map(async (p, i) => {
          const dir = tempDir();
          let config = template
            .replace(/store_dir:\s*\/data\b/, `store_dir: ${dir}`)
            .replace(/pid_file:\s*\S+/, `pid_file: ${join(dir, 'nats.pid')}`)
            .replace(/^listen:\s*0\.0\.0\.0:4222$/m, `listen: 127.0.0.1:${p.client}`)
            .replace(/^http:\s*0\.0\.0\.0:8222$/m, `http: 127.0.0.1:${p.monitor}`)
            .replace(/(cluster\s*\{[^}]*?)listen:\s*0\.0\.0\.0:6222/, `$1listen: 127.0.0.1:${p.route}`)
            // its own cluster name, so no other test cluster's server can route into it
            .replace(/(cluster\s*\{\s*name:\s*)reelbus\b/, `$1${clusterName}`);
          ports.forEach((q, j) => {
            config = config.replace(
              `nats://nats-${j}.nats-headless.reelbus.svc.cluster.local:6222`,
              `nats://127.0.0.1:${q.route}`,
            );
          });
          expect(config, 'every pod-specific address was rewritten').not.toMatch(
            /0\.0\.0\.0|svc\.cluster\.local|\/data\b/,
          );
          expect(config).toContain(`name: ${clusterName}`);
          const server = await startNatsServer({
            bin,
            port: p.client,
            storeDir: dir,
            config,
            storeInConfig: true,
            env: { POD_NAME: `nats-${i}` },
          });
          started.push(server);
          return server;
        }),
      );
      try {
        await waitForMetaLeader(
          ports.map((p) => `http://127.0.0.1:${p.monitor}`),
          30_000,
        );
      } catch (err) {
        await Promise.all(servers.map((sv) => sv.stop({ keepStore: true })));
        if (attempt >= 3 || !(err instanceof ClusterNotSettledError)) throw err;
        process.stderr.write(`${(err as Error).message}\nstarting a fresh cluster\n`);
        return startCluster(attempt + 1);
      }
      return { servers, ports };
    };
    const { servers, ports } = await startCluster(1);

    const nc = await connect({ servers: servers.map((s) => s.url) });
    try {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.add({ name: 'K8S_CHECK', subjects: ['k8s.check'], num_replicas: 3 });
      expect(info.config.num_replicas).toBe(3);
      const members = [info.cluster?.leader, ...(info.cluster?.replicas ?? []).map((r) => r.name)].sort();
      expect(members).toEqual(['nats-0', 'nats-1', 'nats-2']); // server_name from $POD_NAME
      for (const p of ports) {
        const jsz = await monitor<JszConfig>(p.monitor, '/jsz');
        expect(jsz.config.sync_always).toBe(true);
        expect(jsz.meta_cluster?.cluster_size).toBe(3);
      }
    } finally {
      await nc.close();
    }
  }, 150_000);
});
