import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, recentNatsServerBinary, startNatsServer, type NatsServerHandle } from './nats.ts';

/** One server of a test cluster; `kill`/`stop` keep its store so `restart` rejoins with its data. */
export interface ClusterServer {
  /** Client URL, e.g. `nats://127.0.0.1:4222`. */
  url: string;
  /** `server_name`, e.g. `n1` (what JetStream reports as a stream's leader). */
  name: string;
  /** Monitoring endpoint (`/jsz`, `/varz`, …). */
  monitorUrl: string;
  /** True while its process runs. */
  running(): boolean;
  /** SIGKILL (a crash) and wait. */
  kill(): Promise<void>;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and store, and waits until it sees a JetStream meta leader. */
  restart(): Promise<void>;
}

export interface NatsCluster {
  /** Every server's client URL (for `NATS_URL`, comma-joined). */
  urls: string[];
  servers: ClusterServer[];
  /** Stops every server and removes every store. */
  stop(): Promise<void>;
}

interface Ports {
  client: number;
  cluster: number;
  monitor: number;
}

/** The server's config file: its name, monitoring port, and routes to every member (its own route is ignored). */
function clusterConfig(opts: { name: string; ports: Ports; all: Ports[]; clusterName: string }): string {
  const { name, ports, all, clusterName } = opts;
  return [
    `server_name: ${name}`,
    `listen: 127.0.0.1:${ports.client}`,
    `http: 127.0.0.1:${ports.monitor}`,
    // JetStream and its store_dir come from startNatsServer's `-js -sd` (a second store_dir is an error)
    'cluster {',
    `  name: ${clusterName}`,
    `  listen: 127.0.0.1:${ports.cluster}`,
    `  routes: [${all.map((p) => `nats-route://127.0.0.1:${p.cluster}`).join(', ')}]`,
    '}',
    '',
  ].join('\n');
}

function isRunning(h: NatsServerHandle | undefined): boolean {
  return !!h && h.process.exitCode === null && h.process.signalCode === null;
}

interface MetaCluster {
  leader?: string;
  cluster_size?: number;
  /** Only on the leader: its followers. */
  replicas?: Array<{ name: string; current?: boolean }>;
}

/** JetStream's meta group as one server's monitoring endpoint sees it, when it answers. */
async function metaCluster(monitorUrl: string): Promise<MetaCluster | undefined> {
  try {
    const res = await fetch(`${monitorUrl}/jsz`, { signal: AbortSignal.timeout(1_000) });
    if (!res.ok) return undefined;
    return ((await res.json()) as { meta_cluster?: MetaCluster }).meta_cluster;
  } catch {
    return undefined;
  }
}

/**
 * Polls (there is no event across the process boundary) until every given server names the same
 * JetStream meta leader and that leader (one of them) has the others as current followers: before
 * that, an R3 stream can fail with "no suitable peers for placement".
 */
/** The cluster did not settle (see waitForMetaLeader) in time. */
export class ClusterNotSettledError extends Error {
  override name = 'ClusterNotSettledError';
}

export async function waitForMetaLeader(monitorUrls: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const metas = await Promise.all(monitorUrls.map(metaCluster));
    const leaders = new Set(metas.map((m) => m?.leader));
    // The leader's view of its followers (a stopped server stays listed, not current).
    const followers = metas.find((m) => m?.replicas)?.replicas ?? [];
    const settled =
      leaders.size === 1 &&
      !leaders.has(undefined) &&
      !leaders.has('') &&
      followers.filter((f) => f.current).length >= monitorUrls.length - 1;
    if (settled) return;
    if (Date.now() > deadline) {
      throw new ClusterNotSettledError(
        `NATS cluster: no JetStream meta leader with every peer current within ${timeoutMs} ms ` +
          `(${monitorUrls.join(', ')}): ${JSON.stringify(metas)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface NatsClusterOptions {
  size?: number;
  name?: string;
  /** How long one attempt waits for the cluster to settle. Default 20 s. */
  readyTimeoutMs?: number;
  /** Fresh clusters to try when one does not settle. Default 2. */
  attempts?: number;
  /** The nats-server binary; default `recentNatsServerBinary()` (≥ 2.10). */
  bin?: string;
}

/**
 * Starts a real nats-server cluster on loopback (default 3 servers): JetStream on each, its own store
 * and `server_name` (`n1`…), clustered by routes. Resolves once every server is ready and JetStream
 * has a meta leader with every other server as a current follower, so R3 streams can be created at
 * once. When a cluster does not settle in time — on a loaded 2-core machine nats-server 2.10
 * sometimes bootstraps its meta group with two of three servers and leaves the third out — it is
 * stopped and a fresh one (new ports, stores and name) started, saying so on stderr.
 */
export async function startNatsCluster(opts: NatsClusterOptions = {}): Promise<NatsCluster> {
  const { attempts = 2 } = opts;
  for (let attempt = 1; ; attempt++) {
    try {
      return await formCluster(opts);
    } catch (err) {
      if (attempt >= attempts || !(err instanceof ClusterNotSettledError)) throw err;
      process.stderr.write(
        `startNatsCluster: ${err.message}\nstarting a fresh cluster (attempt ${attempt + 1} of ${attempts})\n`,
      );
    }
  }
}

async function formCluster(opts: NatsClusterOptions): Promise<NatsCluster> {
  // A name of its own: a server of another test cluster still redialing a route port that the kernel
  // has since handed to this cluster would otherwise be let in (same name) and confuse JetStream.
  const {
    size = 3,
    name: clusterName = `reelbus-${randomBytes(4).toString('hex')}`,
    readyTimeoutMs = 20_000,
  } = opts;
  const bin = opts.bin ?? recentNatsServerBinary();
  const root = mkdtempSync(join(tmpdir(), 'reelbus-nats-cluster-'));
  const all: Ports[] = [];
  for (let i = 0; i < size; i++)
    all.push({ client: await freePort(), cluster: await freePort(), monitor: await freePort() });

  const handles: Array<NatsServerHandle | undefined> = new Array(size).fill(undefined);
  const launch = async (i: number): Promise<void> => {
    const ports = all[i]!;
    const name = `n${i + 1}`;
    const storeDir = join(root, name);
    mkdirSync(storeDir, { recursive: true });
    handles[i] = await startNatsServer({
      port: ports.client,
      storeDir,
      name,
      bin,
      config: clusterConfig({ name, ports, all, clusterName }),
    });
  };

  const stopAll = async () => {
    await Promise.all(handles.map((h) => h?.stop({ keepStore: true })));
    rmSync(root, { recursive: true, force: true });
  };

  try {
    // In parallel: a server with JetStream waits for its peers before it elects a meta leader.
    await Promise.all(all.map((_, i) => launch(i)));
    await waitForMetaLeader(
      all.map((p) => `http://127.0.0.1:${p.monitor}`),
      readyTimeoutMs,
    );
  } catch (err) {
    await stopAll();
    throw err;
  }

  const servers: ClusterServer[] = all.map((ports, i) => {
    const monitorUrl = `http://127.0.0.1:${ports.monitor}`;
    return {
      url: `nats://127.0.0.1:${ports.client}`,
      name: `n${i + 1}`,
      monitorUrl,
      running: () => isRunning(handles[i]),
      kill: async () => handles[i]?.kill(),
      stop: async () => handles[i]?.stop({ keepStore: true }),
      restart: async () => {
        await handles[i]?.stop({ keepStore: true });
        await launch(i);
        await waitForMetaLeader(
          all.filter((_, j) => isRunning(handles[j])).map((p) => `http://127.0.0.1:${p.monitor}`),
          readyTimeoutMs,
        );
      },
    };
  });

  return { urls: servers.map((s) => s.url), servers, stop: stopAll };
}
