import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

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

/**
 * Starts a real nats-server with JetStream on a free port and a temporary store,
 * and resolves once it accepts clients.
 */
export async function startNatsServer(
  opts: { port?: number; storeDir?: string; config?: string; args?: string[]; name?: string } = {},
): Promise<NatsServerHandle> {
  const port = opts.port ?? (await freePort());
  const storeDir = opts.storeDir ?? mkdtempSync(join(tmpdir(), 'reelbus-nats-'));
  const args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir, ...(opts.args ?? [])];
  if (opts.config) {
    const file = join(storeDir, 'nats.conf');
    writeFileSync(file, opts.config);
    args.push('-c', file);
  }
  if (opts.name) args.push('-n', opts.name);
  const child = spawn(natsServerBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
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
      reject(
        new Error(`cannot start nats-server (${natsServerBinary()}): ${err.message}; run "npm run setup"`),
      ),
    );
    child.once('exit', (code) => reject(new Error(`nats-server exited with ${code}:\n${log.slice(-2000)}`)));
  });
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
