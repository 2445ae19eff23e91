// The local stack: one nats-server (JetStream) and every service as its own process, logs prefixed
// by service, healthy before it returns, stopped together. A process that crashes is restarted by its
// supervisor (./supervisor.ts), nats-server on the same port and store. Used by `reelbus stack`,
// `reelbus demo` and the end-to-end tests.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort, natsServerBinary, startNatsServer, type NatsServerHandle } from '@reelbus/kit/testing';
import { bundleServices, freshBundle } from './service-bundle.ts';
import {
  DEFAULT_RESTART_POLICY,
  StartFailedError,
  Supervisor,
  describeExit,
  type ExitInfo,
  type RestartPolicy,
} from './supervisor.ts';

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
  /**
   * The nats-server binary to start. Default: `NATS_SERVER_BIN` when set, else the first nats-server
   * ≥ 2.10 of the installed one and `.reelbus/bin/nats-server` (fetched by `tools/setup.sh`), else the
   * installed one (2.9, with a warning): see `chooseNatsServer`.
   */
  natsBin?: string;
  /** Start the stack's nats-server with its monitoring endpoint (`-m`) on this port; 0 = a free one. Off by default. */
  natsMonitorPort?: number;
  /** How crashed processes are restarted (default `DEFAULT_RESTART_POLICY`: 1 s doubling to 30 s, stays down after 5 crashes each within 60 s of the last). */
  restartPolicy?: Partial<RestartPolicy>;
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
  /**
   * Run each service from its bundle (./service-bundle.ts), built first when missing or older than
   * its sources (default true; `REELBUS_TSX=1` in the environment turns it off). `false`, or a
   * bundle that cannot be built: from its sources through tsx.
   */
  bundles?: boolean;
}

export interface ServiceProcess {
  service: string;
  replica: number;
  healthPort: number;
  process: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Resolves with the exit code and signal. */
  exit: Promise<ExitInfo>;
}

export interface Stack {
  /** The nats-server running now (a new handle after a restart); undefined with `natsUrl`. */
  readonly nats: NatsServerHandle | undefined;
  /** Which nats-server binary the stack runs, and why. */
  natsServer: NatsServerChoice | undefined;
  natsUrl: string;
  /** `http://127.0.0.1:<port>` of nats-server's monitoring endpoint, with `natsMonitorPort`. */
  natsMonitorUrl: string | undefined;
  ingestUrl: string;
  secrets: Secrets & { created: boolean };
  namespace: string;
  blobDir: string;
  /** The process of every service replica now: a restarted one replaces the crashed one in place. */
  processes: ServiceProcess[];
  /** Starts (another) replica of a service, supervised, and waits until it is ready. */
  startService(service: string, replica?: number): Promise<ServiceProcess>;
  /**
   * SIGKILL a service process or the nats-server: a crash, which the supervisor restarts. With
   * `{ restart: false }` it stays down (like `docker kill`): the caller starts what it wants.
   */
  kill(p: ServiceProcess | NatsServerHandle, opts?: { restart?: boolean }): Promise<void>;
  /** The process (or nats-server) that replaced `p` after it crashed, once ready; rejects when its supervisor gives up. */
  restarted<P extends ServiceProcess | NatsServerHandle>(p: P): Promise<P>;
  /** SIGTERM everything (no restarts from now on), wait, stop NATS. */
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

export type NatsVersion = [number, number, number];

/** nats-server's version, e.g. [2, 9, 10]. */
export function natsServerVersion(bin: string = natsServerBinary()): NatsVersion {
  const out = execFileSync(bin, ['--version'], { encoding: 'utf8' });
  const m = /v(\d+)\.(\d+)\.(\d+)/.exec(out);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
}

const atLeast210 = (v: NatsVersion) => v[0] > 2 || (v[0] === 2 && v[1] >= 10);

export interface NatsServerCandidate {
  bin: string;
  /** `NATS_SERVER_BIN` (the user's explicit choice), `installed`, or `fetched` (.reelbus/bin, by tools/setup.sh). */
  source: 'NATS_SERVER_BIN' | 'installed' | 'fetched';
  /** Undefined when the binary is missing or does not run. */
  version: NatsVersion | undefined;
}

export interface NatsServerChoice {
  bin: string;
  source: NatsServerCandidate['source'];
  version: NatsVersion;
  /** ≥ 2.10: JetStream runs with `sync_interval: always`. */
  syncAlways: boolean;
  /** Set when the stack falls back to a nats-server older than 2.10: why, and what to run. */
  fallback?: string;
}

/**
 * Which nats-server the embedded profile runs (pure): `NATS_SERVER_BIN` when given; else the first
 * candidate ≥ 2.10 (installed, then fetched); else the first that runs, as a fallback that says so.
 * Throws when none runs.
 */
export function chooseNatsServer(candidates: NatsServerCandidate[]): NatsServerChoice {
  const pick = (c: NatsServerCandidate & { version: NatsVersion }, fallback?: string): NatsServerChoice => ({
    bin: c.bin,
    source: c.source,
    version: c.version,
    syncAlways: atLeast210(c.version),
    ...(fallback ? { fallback } : {}),
  });
  const explicit = candidates.find((c) => c.source === 'NATS_SERVER_BIN');
  if (explicit) {
    if (!explicit.version) throw new Error(`NATS_SERVER_BIN=${explicit.bin} is not a nats-server that runs`);
    return pick(
      { ...explicit, version: explicit.version },
      atLeast210(explicit.version) ? undefined : `NATS_SERVER_BIN=${explicit.bin} is older than 2.10`,
    );
  }
  const runs = candidates.filter((c): c is NatsServerCandidate & { version: NatsVersion } => !!c.version);
  const recent = runs.find((c) => atLeast210(c.version));
  if (recent) return pick(recent);
  const fetched = candidates.find((c) => c.source === 'fetched');
  const first = runs[0];
  if (!first)
    throw new Error(
      `no nats-server found (tried ${candidates.map((c) => c.bin).join(', ')}): run "npm run setup"`,
    );
  return pick(
    first,
    `no nats-server ≥ 2.10${fetched ? ` (${fetched.bin} is ${fetched.version ? 'too old' : 'missing'})` : ''}; ` +
      'run "bash tools/fetch-nats-server.sh" (npm run setup does) to get the verified 2.10 build',
  );
}

function versionOf(bin: string): NatsVersion | undefined {
  try {
    const v = natsServerVersion(bin);
    return v[0] === 0 && v[1] === 0 ? undefined : v;
  } catch {
    return undefined;
  }
}

/** Probes the candidate nats-servers (`NATS_SERVER_BIN`, the installed one, `<root>/.reelbus/bin`) and chooses. */
export function findNatsServer(root: string, env: NodeJS.ProcessEnv = process.env): NatsServerChoice {
  const candidates: NatsServerCandidate[] = [];
  if (env.NATS_SERVER_BIN)
    candidates.push({
      bin: env.NATS_SERVER_BIN,
      source: 'NATS_SERVER_BIN',
      version: versionOf(env.NATS_SERVER_BIN),
    });
  const installed = existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server';
  const fetched = join(root, '.reelbus', 'bin', 'nats-server');
  candidates.push({ bin: installed, source: 'installed', version: versionOf(installed) });
  candidates.push({
    bin: fetched,
    source: 'fetched',
    version: existsSync(fetched) ? versionOf(fetched) : undefined,
  });
  return chooseNatsServer(candidates);
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
    const extras = ['jobId', 'type', 'step', 'ms', 'err', 'reason', 'port', 'url']
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

/**
 * node's arguments for a service: its fresh bundle (with source-mapped stack traces), else its
 * sources through tsx, which costs several times the CPU at start (see ./service-bundle.ts).
 */
export function serviceArgs(root: string, service: string, bundles = true): string[] {
  const bundle = bundles ? freshBundle(root, service) : undefined;
  return bundle
    ? ['--enable-source-maps', bundle]
    : ['--import', 'tsx', join(root, 'services', service, 'src', 'main.ts')];
}

/**
 * Resolves once `p` answers 200 on /readyz and, when given, `answersUrl` answers at all (ingest's API
 * port: a client told "ready" must be able to connect); kills it and throws `StartFailedError` when it
 * exits first or the deadline passes.
 */
async function waitReady(p: ServiceProcess, deadline: number, answersUrl?: string): Promise<void> {
  let exit: ExitInfo | undefined;
  void p.exit.then((e) => (exit = e));
  let ready = false;
  // No readiness event crosses a process boundary: poll until the deadline.
  for (;;) {
    if (exit) throw new StartFailedError(`${procLabel(p)} ${describeExit(exit)} before it was ready`, exit);
    try {
      if (!ready) {
        const res = await fetch(`http://127.0.0.1:${p.healthPort}/readyz`, {
          signal: AbortSignal.timeout(1000),
        });
        ready = res.ok;
      }
      if (ready && !answersUrl) return;
      // Any HTTP answer will do (this route needs no key, so it counts against no key's limits).
      if (ready && answersUrl) {
        await (await fetch(answersUrl, { signal: AbortSignal.timeout(1000) })).arrayBuffer();
        return;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      if (!exit) p.process.kill('SIGKILL');
      const e = await p.exit;
      throw new StartFailedError(`${procLabel(p)} was not ready within the deadline`, e);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

const procLabel = (p: { service: string; replica: number }) =>
  p.replica > 0 ? `${p.service}#${p.replica}` : p.service;

function exitOf(child: ChildProcess): Promise<ExitInfo> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
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
    bundles = process.env.REELBUS_TSX !== '1',
  } = opts;
  const policy = { ...DEFAULT_RESTART_POLICY, ...opts.restartPolicy };
  const services = opts.services ?? presentServices(root);
  mkdirSync(dataDir, { recursive: true });
  const secrets = loadSecrets(dataDir);
  const blobDir = env.BLOB_DIR ?? join(dataDir, 'blobs');
  const namespace = env.REELBUS_NAMESPACE ?? 'reelbus';
  const stackLog = (level: 'info' | 'warn' | 'error', msg: string, name = 'stack') =>
    log(formatLine(name, JSON.stringify({ level, msg }), rawLogs));

  // Everything spawned and not yet exited, so that stop() reaches processes that are still starting.
  const live = new Set<ChildProcess>();
  const supervisors = new Map<object, Supervisor<ServiceProcess> | Supervisor<NatsServerHandle>>();
  const allSupervisors: Array<Supervisor<ServiceProcess> | Supervisor<NatsServerHandle>> = [];
  let stopping = false;

  let natsSupervisor: Supervisor<NatsServerHandle> | undefined;
  let natsStarting: Promise<unknown> | undefined;
  let natsServer: NatsServerChoice | undefined;
  let natsMonitorUrl: string | undefined;
  let natsUrl = opts.natsUrl;
  if (!natsUrl) {
    natsServer = opts.natsBin
      ? chooseNatsServer([{ bin: opts.natsBin, source: 'NATS_SERVER_BIN', version: versionOf(opts.natsBin) }])
      : findNatsServer(root);
    const { config } = jetStreamConfig(natsServer.version);
    const port = opts.natsPort === 0 || opts.natsPort === undefined ? await freePort() : opts.natsPort;
    const monitorPort =
      opts.natsMonitorPort === undefined
        ? undefined
        : opts.natsMonitorPort === 0
          ? await freePort()
          : opts.natsMonitorPort;
    natsMonitorUrl = monitorPort === undefined ? undefined : `http://127.0.0.1:${monitorPort}`;
    const chosen = natsServer;
    // Every start (the first and each restart) uses the same port, store and config: the services'
    // NATS_URL stays valid and JetStream recovers its streams, consumers and buckets from the store.
    const startNats = async (): Promise<NatsServerHandle> => {
      const starting = startNatsServer({
        bin: chosen.bin,
        port,
        storeDir: join(dataDir, 'nats'),
        config: config || undefined,
        ...(monitorPort === undefined ? {} : { args: ['-m', String(monitorPort)] }),
      });
      natsStarting = starting.catch(() => undefined);
      let handle: NatsServerHandle;
      try {
        handle = await starting;
      } catch (err) {
        throw new StartFailedError(
          `nats-server did not start: ${err instanceof Error ? err.message : String(err)}`,
          { code: null, signal: null },
          { cause: err },
        );
      }
      live.add(handle.process);
      void exitOf(handle.process).then(() => live.delete(handle.process));
      return handle;
    };
    natsSupervisor = new Supervisor<NatsServerHandle>({
      name: 'nats-server',
      start: startNats,
      exited: (h) => exitOf(h.process),
      policy,
      log: (level, msg) => stackLog(level, msg),
      onReplace: (_prev, next) => supervisors.set(next, natsSupervisor!),
    });
    allSupervisors.push(natsSupervisor);
    const first = await natsSupervisor.start();
    supervisors.set(first, natsSupervisor);
    natsUrl = first.url;
    const v = natsServer.version.join('.');
    log(
      formatLine(
        'nats',
        JSON.stringify({
          level: natsServer.syncAlways ? 'info' : 'warn',
          msg: natsServer.syncAlways
            ? `nats-server ${v} (${natsServer.bin}) ready; JetStream fsyncs every write (sync_interval: always)`
            : `nats-server ${v} (${natsServer.bin}) ready, as a FALLBACK: ${natsServer.fallback ?? 'older than 2.10'}. ` +
              'This one fsyncs JetStream every 2 min: a power cut (not a crash) can lose the last 2 min of acknowledged events',
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
    // A job links its trace to Jaeger only when traces are exported: the embedded stack runs no Jaeger.
    JAEGER_URL:
      process.env.JAEGER_URL ?? (process.env.OTEL_EXPORTER_OTLP_ENDPOINT ? 'http://localhost:16686' : 'off'),
    ...env,
  };

  const processes: ServiceProcess[] = [];
  /** Spawns one service process and waits until it is ready (a StartFailedError when it is not). */
  const spawnService = async (service: string, replica: number): Promise<ServiceProcess> => {
    const healthPort = await freePort();
    const name = replica > 0 ? `${service}#${replica}` : service;
    const child = spawn(process.execPath, serviceArgs(root, service, bundles), {
      cwd: root,
      env: {
        ...process.env,
        ...common,
        ...serviceEnv[service],
        HEALTH_PORT: String(healthPort),
        REELBUS_REPLICA: String(replica),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(child);
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (l) => log(formatLine(name, l, rawLogs)));
    }
    const exit = exitOf(child);
    void exit.then(() => live.delete(child));
    const p: ServiceProcess = {
      service,
      replica,
      healthPort,
      process: child,
      exit,
      exited: exit.then((e) => e.code),
    };
    await waitReady(
      p,
      Date.now() + readyTimeoutMs,
      service === 'ingest' ? `${ingestUrl}/v1/openapi.json` : undefined,
    );
    return p;
  };

  /** Starts a supervised replica: its crashes are restarted, and the restart replaces it in `processes`. */
  const superviseService = async (service: string, replica: number): Promise<ServiceProcess> => {
    const sup: Supervisor<ServiceProcess> = new Supervisor<ServiceProcess>({
      name: replica > 0 ? `${service}#${replica}` : service,
      start: () => spawnService(service, replica),
      exited: (p) => p.exit,
      policy,
      log: (level, msg) => stackLog(level, msg),
      onReplace: (prev, next) => {
        supervisors.set(next, sup);
        const i = processes.indexOf(prev);
        if (i >= 0) processes[i] = next;
        else processes.push(next);
      },
    });
    allSupervisors.push(sup);
    const p = await sup.start();
    supervisors.set(p, sup);
    processes.push(p);
    return p;
  };

  const stop = async () => {
    stopping = true;
    for (const s of allSupervisors) s.stop();
    const natsChildren = new Set([natsSupervisor?.current?.process]);
    const children = [...live].filter((c) => !natsChildren.has(c)).reverse();
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    await Promise.all(children.map(exitOf));
    // A nats-server restart in progress finishes starting first, so that it is stopped too.
    await natsStarting;
    for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    await Promise.all([...live].map(exitOf));
    await natsSupervisor?.current?.stop({ keepStore: true });
  };

  if (bundles) {
    const stale = services.filter((s) => !freshBundle(root, s));
    try {
      await bundleServices(root, stale);
    } catch (err) {
      stackLog('warn', `could not bundle ${stale.join(', ')}, running them through tsx: ${String(err)}`);
    }
  }

  try {
    // Start services in parallel: each waits for its own readiness.
    await Promise.all(
      services.flatMap((s) => Array.from({ length: replicas[s] ?? 1 }, (_, i) => superviseService(s, i))),
    );
  } catch (err) {
    await stop();
    throw err;
  }

  const supervisorOf = (p: object) => {
    const sup = supervisors.get(p);
    if (!sup) throw new Error('not a process of this stack');
    return sup as Supervisor<object>;
  };

  return {
    get nats() {
      return natsSupervisor?.current;
    },
    natsServer,
    natsUrl,
    natsMonitorUrl,
    ingestUrl,
    secrets,
    namespace,
    blobDir,
    processes,
    startService: (service, replica = processes.filter((p) => p.service === service).length) => {
      if (stopping) return Promise.reject(new Error('the stack is stopping'));
      return superviseService(service, replica);
    },
    async kill(p, { restart = true } = {}) {
      const sup = supervisorOf(p);
      if (!restart) sup.expectExit(p);
      const child = p.process;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exitOf(child);
    },
    restarted: <P extends ServiceProcess | NatsServerHandle>(p: P) =>
      supervisorOf(p).replacement(p) as Promise<P>,
    stop,
  };
}
