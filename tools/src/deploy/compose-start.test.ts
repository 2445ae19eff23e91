// The services start with exactly the docker-compose environment, only the addresses of NATS,
// MinIO, MongoDB and Jaeger (and ports and the scratch dir) pointed at local stand-ins: a real
// nats-server, s3rver, the kit's MongoDB wire double and an OTLP sink. Then each service's
// durable consumers are compared with the KEDA ScaledObjects that scale it on Kubernetes.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { names } from '@reelbus/contracts';
import { freePort, startMongoWireServer, startNatsServer, type NatsServerHandle } from '@reelbus/kit/testing';
import { ROOT, composeEnvironment, loadCompose, loadK8sObjects, serviceNames } from './deploy-files.ts';

const compose = loadCompose();
const services = serviceNames();

/** The only variables rewritten: where things are, never how the service behaves. */
const REWRITTEN = [
  'NATS_URL',
  'S3_ENDPOINT',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'MONGODB_URI',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'HEALTH_HOST',
  'HEALTH_PORT',
  'INGEST_PORT',
  'TMP_DIR',
];

let nats: NatsServerHandle;
let nc: NatsConnection;
let s3: S3rver;
let s3Url: string;
let mongo: Awaited<ReturnType<typeof startMongoWireServer>>;
let otlp: Server;
let otlpUrl: string;
let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelbus-compose-'));
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  const s3Port = await freePort();
  const bucket = composeEnvironment(compose, 'minio-init').S3_BUCKET!;
  s3 = new S3rver({
    address: '127.0.0.1',
    port: s3Port,
    silent: true,
    directory: join(dir, 's3'),
    configureBuckets: [{ name: bucket }],
  });
  await s3.run();
  s3Url = `http://127.0.0.1:${s3Port}`;
  mongo = await startMongoWireServer();
  // Jaeger's OTLP/HTTP receiver stand-in: accepts whatever is exported.
  otlp = createServer((req, res) => req.resume().on('end', () => res.writeHead(200).end('{}')));
  await new Promise<void>((r) => otlp.listen(0, '127.0.0.1', r));
  const addr = otlp.address();
  otlpUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
}, 60_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await nc?.close();
  await nats?.stop();
  await s3?.close();
  await mongo?.close();
  await new Promise((r) => (otlp ? otlp.close(r) : r(undefined)));
  if (dir) await rm(dir, { recursive: true, force: true });
});

function localEnv(env: Record<string, string>, ports: { health: number }) {
  const rewritten: Record<string, string> = {
    ...env,
    NATS_URL: nats.url,
    S3_ENDPOINT: s3Url,
    // s3rver accepts only its own fixed credentials
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    // the wire double does no authentication, so the URI loses compose's user and password
    MONGODB_URI: mongo.uri,
    OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl,
    HEALTH_HOST: '127.0.0.1',
    HEALTH_PORT: String(ports.health),
    TMP_DIR: join(dir, 'tmp'),
    // Port 0: the kernel picks a free one at listen time (a port picked earlier may be taken by then).
    ...('INGEST_PORT' in env ? { INGEST_PORT: '0' } : {}),
  };
  const changed = Object.keys(rewritten).filter((k) => rewritten[k] !== env[k]);
  return { rewritten, changed };
}

interface Started {
  service: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  healthPort: number;
  output: () => string;
}

async function startWithComposeEnv(service: string): Promise<Started> {
  const env = composeEnvironment(compose, service);
  const { rewritten, changed } = localEnv(env, { health: await freePort() });
  expect(
    changed.filter((k) => !REWRITTEN.includes(k)),
    service,
  ).toEqual([]);
  // Exactly the compose environment; PATH finds ffmpeg as it does in the image, NODE_ENV as the image sets it.
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'services', service, 'src', 'main.ts')],
    {
      cwd: ROOT,
      env: { ...rewritten, PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_ENV: 'production', HOME: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    service,
    child,
    exited,
    healthPort: Number(rewritten.HEALTH_PORT),
    output: () => out.slice(-3000),
  };
}

/** Polls /readyz until 200 (no event crosses the process boundary), failing fast if the process exits. */
async function waitReady(s: Started, deadline: number): Promise<void> {
  let code: number | null | undefined;
  void s.exited.then((c) => (code = c));
  for (;;) {
    if (code !== undefined) throw new Error(`${s.service} exited with ${code} before ready:\n${s.output()}`);
    const res = await fetch(`http://127.0.0.1:${s.healthPort}/readyz`).catch(() => undefined);
    if (res?.status === 200) return;
    if (Date.now() > deadline) throw new Error(`${s.service} not ready in time:\n${s.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The consumers the ScaledObject of `service` scales on (infra/k8s). */
function scaledConsumers(service: string): string[] {
  const so = loadK8sObjects().find((o) => o.kind === 'ScaledObject' && o.metadata.name === service);
  const triggers = (so?.spec?.triggers ?? []) as Array<{ type: string; metadata: { consumer?: string } }>;
  return triggers
    .filter((t) => t.type === 'nats-jetstream')
    .map((t) => t.metadata.consumer!)
    .sort();
}

async function consumersOf(service: string): Promise<string[]> {
  const jsm = await jetstreamManager(nc);
  const found: string[] = [];
  for await (const ci of jsm.consumers.list(names().eventsStream)) found.push(ci.name);
  return found.filter((n) => n.startsWith(`${service.replace(/[^A-Za-z0-9_-]/g, '_')}__`)).sort();
}

describe('services started with the docker compose environment', () => {
  const started = new Map<string, Started>();

  beforeAll(async () => {
    // All at once: each waits for its own readiness.
    const all = await Promise.all(services.map((s) => startWithComposeEnv(s)));
    for (const s of all) started.set(s.service, s);
  }, 60_000);

  // Seven cold tsx starts on 2 cores take ~30 s; the deadline leaves room for a loaded machine.
  it.each(services)('%s turns ready on /readyz', { timeout: 100_000 }, async (service) => {
    await waitReady(started.get(service)!, Date.now() + 90_000);
    const body = (await (
      await fetch(`http://127.0.0.1:${started.get(service)!.healthPort}/readyz`)
    ).json()) as Record<string, unknown>;
    expect(JSON.stringify(body)).toContain('nats');
  });

  it('creates the streams with the replicas compose sets, in the namespace the manifests name', async () => {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(
      names(composeEnvironment(compose, 'ingest').REELBUS_NAMESPACE).eventsStream,
    );
    expect(info.config.num_replicas).toBe(Number(composeEnvironment(compose, 'ingest').STREAM_REPLICAS));
  });

  it.each(services)(
    '%s reads through exactly the durable consumers its KEDA ScaledObject scales on',
    { timeout: 100_000 },
    async (service) => {
      await waitReady(started.get(service)!, Date.now() + 90_000);
      const expected = scaledConsumers(service);
      // consume() creates the consumers after readiness: poll until they match, with a deadline.
      const deadline = Date.now() + 15_000;
      let actual = await consumersOf(service);
      while (JSON.stringify(actual) !== JSON.stringify(expected) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        actual = await consumersOf(service);
      }
      expect(actual).toEqual(expected);
    },
  );

  it('stops every service cleanly on SIGTERM, as `docker compose stop` sends it', async () => {
    for (const s of started.values()) s.child.kill('SIGTERM');
    const codes = await Promise.all(
      [...started.values()].map(async (s) => [s.service, await s.exited] as const),
    );
    expect(Object.fromEntries(codes)).toEqual(Object.fromEntries(services.map((s) => [s, 0])));
  });
});
