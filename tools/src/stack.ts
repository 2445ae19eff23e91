// The local stack: one nats-server (JetStream) and every service as its own process, logs prefixed
// by service, healthy before it returns, stopped together. Used by `reelbus stack`, `reelbus demo`
// and the end-to-end tests.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort, natsServerBinary, startNatsServer, type NatsServerHandle } from '@reelbus/kit/testing';

/** Services in pipeline order; those without a `src/main.ts` yet are simply absent. */
export const SERVICE_ORDER = [
  'notifier',
  'audio-splitter',
  'image-converter',
  'ai-generator',
  'compositor',
  'encoder',
  'ingest',
] as const;

export interface Secrets {
  apiKey: string;
  linkSigningSecret: string;
  webhookSecret: string;
  /** Signs the job id in provider webhook URLs (ingest and the ai-generator); added to older secrets files. */
  generationWebhookSecret: string;
}

export interface StackOptions {
  /** Repository root (where `services/` is). */
  root: string;
  /** Where NATS data, blobs and secrets live (the embedded profile's state). */
  dataDir: string;
  /** Services to run; every present one by default. */
  services?: string[];
  /** Replicas per service (default 1). */
  replicas?: Record<string, number>;
  /** 0 = a free port. */
  natsPort?: number;
  /** Use this NATS instead of starting one. */
  natsUrl?: string;
  /** The nats-server binary to start (default `natsServerBinary()`: `NATS_SERVER_BIN`, then the installed one). */
  natsBin?: string;
  ingestPort?: number;
  /** Extra environment for every service, then per service. */
  env?: Record<string, string>;
  serviceEnv?: Record<string, Record<string, string>>;
  /** Receives every log line, prefixed by `[service]`; stdout by default. */
  log?: (line: string) => void;
  /** Raw JSON log lines instead of the short human form. */
  rawLogs?: boolean;
  /** How long services get to become ready. */
  readyTimeoutMs?: number;
}

export interface ServiceProcess {
  service: string;
  replica: number;
  healthPort: number;
  process: ChildProcess;
  exited: Promise<number | null>;
}

export interface Stack {
  nats: NatsServerHandle | undefined;
  natsUrl: string;
  ingestUrl: string;
  secrets: Secrets & { created: boolean };
  namespace: string;
  blobDir: string;
  processes: ServiceProcess[];
  /** Starts (another) replica of a service and waits until it is ready. */
  startService(service: string, replica?: number): Promise<ServiceProcess>;
  /** SIGKILL one process (a crash). */
  kill(p: ServiceProcess): Promise<void>;
  /** SIGTERM everything, wait, stop NATS. */
  stop(): Promise<void>;
}

export function presentServices(root: string): string[] {
  const dir = join(root, 'services');
  const present = new Set(readdirSync(dir).filter((s) => existsSync(join(dir, s, 'src', 'main.ts'))));
  return SERVICE_ORDER.filter((s) => present.has(s));
}

export function hashApiKey(key: string): string {
  return `sha256:${createHash('sha256').update(key).digest('hex')}`;
}

/** Loads the embedded profile's secrets, making them (mode 0600) on first start. */
export function loadSecrets(dataDir: string): Secrets & { created: boolean } {
  const file = join(dataDir, 'secrets.json');
  if (existsSync(file)) {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Secrets;
    if (!stored.generationWebhookSecret) {
      stored.generationWebhookSecret = randomBytes(32).toString('hex');
      writeFileSync(file, JSON.stringify(stored, null, 2), { mode: 0o600 });
    }
    return { ...stored, created: false };
  }
  mkdirSync(dataDir, { recursive: true });
  const secrets: Secrets = {
    apiKey: `rb_${randomBytes(24).toString('base64url')}`,
    linkSigningSecret: randomBytes(32).toString('hex'),
    webhookSecret: randomBytes(32).toString('hex'),
    generationWebhookSecret: randomBytes(32).toString('hex'),
  };
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  chmodSync(file, 0o600);
  return { ...secrets, created: true };
}

/** nats-server's version, e.g. [2, 9, 10]. */
export function natsServerVersion(bin: string = natsServerBinary()): [number, number, number] {
  const out = execFileSync(bin, ['--version'], { encoding: 'utf8' });
  const m = /v(\d+)\.(\d+)\.(\d+)/.exec(out);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
}

/**
 * JetStream config for the embedded profile. nats-server ≥ 2.10 fsyncs every write (`sync_interval:
 * always`), so an acknowledged event survives power loss. 2.9 (Debian bookworm) has no such setting:
 * it fsyncs every 2 minutes, so a power cut can lose the last 2 minutes of acknowledged events.
 */
export function jetStreamConfig(version: [number, number, number]): { config: string; syncAlways: boolean } {
  const syncAlways = version[0] > 2 || (version[0] === 2 && version[1] >= 10);
  return { config: syncAlways ? 'jetstream { sync_interval: always }\n' : '', syncAlways };
}

const LEVEL_COLOR: Record<string, string> = { error: '31', fatal: '31', warn: '33', info: '0', debug: '90' };

function formatLine(service: string, line: string, raw: boolean): string {
  const tag = `[${service}]`.padEnd(17);
  if (raw) return `${tag} ${line}`;
  try {
    const rec = JSON.parse(line) as Record<string, unknown>;
    const level = String(rec.level ?? 'info');
    const extras = ['jobId', 'type', 'step', 'err', 'reason', 'port', 'url']
      .filter((k) => rec[k] !== undefined)
      .map(
        (k) =>
          `${k}=${typeof rec[k] === 'object' ? JSON.stringify((rec[k] as { message?: string }).message ?? rec[k]) : String(rec[k])}`,
      )
      .join(' ');
    const color = process.stdout.isTTY ? (LEVEL_COLOR[level] ?? '0') : undefined;
    const text = `${level.toUpperCase().padEnd(5)} ${String(rec.msg ?? '')}${extras ? '  ' + extras : ''}`;
    return `${tag} ${color ? `\x1b[${color}m${text}\x1b[0m` : text}`;
  } catch {
    return `${tag} ${line}`;
  }
}

async function waitReady(p: ServiceProcess, deadline: number): Promise<void> {
  let exitCode: number | null | undefined;
  void p.exited.then((c) => (exitCode = c));
  // No readiness event crosses a process boundary: poll /readyz until the deadline.
  for (;;) {
    if (exitCode !== undefined)
      throw new Error(`${p.service} exited with code ${exitCode} before it was ready`);
    try {
      const res = await fetch(`http://127.0.0.1:${p.healthPort}/readyz`, {
        signal: AbortSignal.timeout(1000),
      });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${p.service} was not ready within the deadline`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const {
    root,
    dataDir,
    replicas = {},
    env = {},
    serviceEnv = {},
    log = (l: string) => process.stdout.write(l + '\n'),
    rawLogs = false,
    readyTimeoutMs = 60_000,
  } = opts;
  const services = opts.services ?? presentServices(root);
  mkdirSync(dataDir, { recursive: true });
  const secrets = loadSecrets(dataDir);
  const blobDir = env.BLOB_DIR ?? join(dataDir, 'blobs');
  const namespace = env.REELBUS_NAMESPACE ?? 'reelbus';

  let nats: NatsServerHandle | undefined;
  let natsUrl = opts.natsUrl;
  if (!natsUrl) {
    const bin = opts.natsBin ?? natsServerBinary();
    const { config, syncAlways } = jetStreamConfig(natsServerVersion(bin));
    nats = await startNatsServer({
      bin,
      port: opts.natsPort === 0 || opts.natsPort === undefined ? await freePort() : opts.natsPort,
      storeDir: join(dataDir, 'nats'),
      config: config || undefined,
    });
    natsUrl = nats.url;
    log(
      formatLine(
        'nats',
        JSON.stringify({
          level: syncAlways ? 'info' : 'warn',
          msg: syncAlways
            ? 'nats-server ready (JetStream fsync on every write)'
            : 'nats-server ready; this nats-server (< 2.10) fsyncs JetStream every 2 min: a power cut can lose the last 2 min of acknowledged events',
          url: natsUrl,
        }),
        rawLogs,
      ),
    );
  }
  const ingestPort = opts.ingestPort ?? 8080;
  const ingestUrl = `http://127.0.0.1:${ingestPort}`;
  const common: Record<string, string> = {
    NATS_URL: natsUrl,
    REELBUS_NAMESPACE: namespace,
    BLOB_STORE: 'fs',
    BLOB_DIR: blobDir,
    JOB_STORE: 'kv',
    HEALTH_HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    INGEST_PORT: String(ingestPort),
    INGEST_HOST: '127.0.0.1',
    PUBLIC_BASE_URL: ingestUrl,
    // An operator key, so the CLI can use every route (services/ingest/README.md#access).
    API_KEYS: `stack:operator:${hashApiKey(secrets.apiKey)}`,
    LINK_SIGNING_SECRET: secrets.linkSigningSecret,
    WEBHOOK_SECRET: secrets.webhookSecret,
    GENERATION_WEBHOOK_SECRET: secrets.generationWebhookSecret,
    ALLOW_PRIVATE_CALLBACKS: 'true',
    ...env,
  };

  const processes: ServiceProcess[] = [];
  const spawnService = async (service: string, replica: number): Promise<ServiceProcess> => {
    const healthPort = await freePort();
    const name = replica > 0 ? `${service}#${replica}` : service;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'services', service, 'src', 'main.ts')],
      {
        cwd: root,
        env: {
          ...process.env,
          ...common,
          ...serviceEnv[service],
          HEALTH_PORT: String(healthPort),
          REELBUS_REPLICA: String(replica),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (l) => log(formatLine(name, l, rawLogs)));
    }
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const p: ServiceProcess = { service, replica, healthPort, process: child, exited };
    processes.push(p);
    await waitReady(p, Date.now() + readyTimeoutMs);
    return p;
  };

  const stop = async () => {
    for (const p of [...processes].reverse()) if (p.process.exitCode === null) p.process.kill('SIGTERM');
    await Promise.all(processes.map((p) => p.exited));
    await nats?.stop({ keepStore: true });
  };

  try {
    // Start services in parallel: each waits for its own readiness.
    await Promise.all(
      services.flatMap((s) => Array.from({ length: replicas[s] ?? 1 }, (_, i) => spawnService(s, i))),
    );
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    nats,
    natsUrl,
    ingestUrl,
    secrets,
    namespace,
    blobDir,
    processes,
    startService: (service, replica = processes.filter((p) => p.service === service).length) =>
      spawnService(service, replica),
    async kill(p) {
      if (p.process.exitCode === null && p.process.signalCode === null) p.process.kill('SIGKILL');
      await p.exited;
    },
    stop,
  };
}
