import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { replicatedCasIsAtomic } from '../state/kv.ts';

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** A random namespace so tests sharing a server never share streams or buckets. */
export function randomNamespace(prefix = 't'): string {
  return `${prefix}${randomBytes(5).toString('hex')}`;
}

export interface NatsServerHandle {
  url: string;
  port: number;
  storeDir: string;
  process: ChildProcess;
  /** SIGTERM and wait; removes the store unless `keepStore`. */
  stop(opts?: { keepStore?: boolean }): Promise<void>;
  /** SIGKILL (a crash) and wait; the store is kept. */
  kill(): Promise<void>;
}

export function natsServerBinary(): string {
  if (process.env.NATS_SERVER_BIN) return process.env.NATS_SERVER_BIN;
  // Debian installs it in /usr/sbin, which is not on every user's PATH.
  return existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server';
}

/** Where `tools/fetch-nats-server.sh` (run by `npm test`) puts a nats-server fit for replicated streams. */
export const FETCHED_NATS_SERVER = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../../../.reelbus/bin/nats-server',
);

function binaryVersion(bin: string): string | undefined {
  try {
    return /v?(\d+\.\d+\.\d+)/.exec(execFileSync(bin, ['--version'], { encoding: 'utf8' }))?.[1];
  } catch {
    return undefined;
  }
}

/** True for nats-server ≥ 2.10.0. */
function atLeast210(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 2 || (major === 2 && minor >= 10);
}

/**
 * A nats-server ≥ 2.10, for the cluster tests (compare-and-set stays atomic on replicated streams,
 * see `replicatedCasIsAtomic`) and the deployment configs (`sync_interval: always`): `NATS_SERVER_BIN`
 * or the installed one when new enough, else the one `tools/fetch-nats-server.sh` fetched from
 * Debian's archive. Throws saying what to run.
 */
export function recentNatsServerBinary(): string {
  const seen: string[] = [];
  for (const bin of [natsServerBinary(), FETCHED_NATS_SERVER]) {
    const version = binaryVersion(bin);
    if (version && atLeast210(version) && replicatedCasIsAtomic(version)) return bin;
    seen.push(`${bin}: ${version ?? 'not found'}`);
  }
  throw new Error(
    `no nats-server ≥ 2.10 (older ones lose concurrent compare-and-set updates on replicated streams, ` +
      `nats-io/nats-server#4320, and know no sync_interval). Found ${seen.join('; ')}. ` +
      `Run: bash tools/fetch-nats-server.sh`,
  );
}

/**
 * Starts a real nats-server with JetStream on a free port and a temporary store,
 * and resolves once it accepts clients.
 */
export async function startNatsServer(
  opts: {
    port?: number;
    storeDir?: string;
    config?: string;
    args?: string[];
    name?: string;
    /** The nats-server binary (default `natsServerBinary()`). */
    bin?: string;
    /** Extra environment for the server (e.g. variables its config refers to). */
    env?: Record<string, string>;
    /**
     * The config enables JetStream with its own `store_dir` (pointing at `storeDir`): no `-js -sd`
     * flags, which nats-server ≥ 2.10 refuses next to a `store_dir` ("Duplicate 'store_dir'").
     */
    storeInConfig?: boolean;
  } = {},
): Promise<NatsServerHandle> {
  const port = opts.port ?? (await freePort());
  const storeDir = opts.storeDir ?? mkdtempSync(join(tmpdir(), 'reelbus-nats-'));
  const bin = opts.bin ?? natsServerBinary();
  const store = opts.storeInConfig ? [] : ['-js', '-sd', storeDir];
  const args = ['-a', '127.0.0.1', '-p', String(port), ...store, ...(opts.args ?? [])];
  if (opts.config) {
    mkdirSync(storeDir, { recursive: true });
    const file = join(storeDir, 'nats.conf');
    writeFileSync(file, opts.config);
    args.push('-c', file);
  }
  if (opts.name) args.push('-n', opts.name);
  const child = spawn(bin, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
  });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (b: Buffer) => {
      log += b.toString();
      if (log.includes('Server is ready')) {
        child.stderr?.off('data', onData);
        resolve();
      }
    };
    child.stderr?.on('data', onData);
    child.once('error', (err) =>
      reject(new Error(`cannot start nats-server (${bin}): ${err.message}; run "npm run setup"`)),
    );
    child.once('exit', (code) => reject(new Error(`nats-server exited with ${code}:\n${log.slice(-2000)}`)));
  });
  // REELBUS_NATS_LOG_DIR=<dir> keeps every test server's whole log there (<name or port>.log).
  const logDir = process.env.REELBUS_NATS_LOG_DIR;
  if (logDir) {
    mkdirSync(logDir, { recursive: true });
    const file = join(logDir, `${opts.name ?? 'nats'}-${port}.log`);
    appendFileSync(file, log);
    child.stderr?.on('data', (b: Buffer) => appendFileSync(file, b));
  }
  child.stderr?.resume();
  child.stdout?.resume();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    process: child,
    async stop({ keepStore = false } = {}) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      if (!keepStore) rmSync(storeDir, { recursive: true, force: true });
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
