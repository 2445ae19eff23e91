import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bus } from '../bus/bus.ts';
import { deferred, waitFor } from '../bus/test-helpers.ts';
import { replicatedCasIsAtomic } from '../state/kv.ts';
import {
  natsServerBinary,
  randomNamespace,
  startNatsServer,
  type NatsServerHandle,
} from '../testing/nats.ts';
import { SHUTDOWN_MARGIN_MS, startService } from './service.ts';

const here = dirname(fileURLToPath(import.meta.url));
const worker = join(here, 'fixtures', 'slow-worker.ts');

let server: NatsServerHandle;
let dir: string;

beforeAll(async () => {
  server = await startNatsServer();
  dir = mkdtempSync(join(tmpdir(), 'reelbus-runtime-'));
});

afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

function natsVersion(): string {
  return /v(\d+\.\d+\.\d+)/.exec(execFileSync(natsServerBinary(), ['--version'], { encoding: 'utf8' }))![1]!;
}

/** Runs the slow worker as a real process; resolves `started` when its handler runs. */
function runWorker(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', worker], {
    env: {
      ...process.env,
      BLOB_DIR: join(dir, 'blobs'),
      HEALTH_HOST: '127.0.0.1',
      LOG_LEVEL: 'debug',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  let stderr = '';
  const started = deferred();
  const ready = deferred();
  let buf = '';
  child.stdout.on('data', (b: Buffer) => {
    buf += b.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        const rec = JSON.parse(line) as Record<string, unknown>;
        lines.push(rec);
        if (rec.msg === 'handler started') started.resolve();
        if (rec.msg === 'consuming') ready.resolve();
      } catch {
        // not a log line
      }
    }
  });
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, stderr })),
  );
  return { child, lines, started: started.promise, ready: ready.promise, exited };
}

async function consumerIdle(bus: Bus, service: string): Promise<boolean> {
  const info = await bus.jsm.consumers.info(
    bus.names.eventsStream,
    bus.names.consumerName(service, 'job.warning'),
  );
  return info.num_ack_pending === 0 && info.num_pending === 0;
}

describe('startService', () => {
  it('finishes the message in hand when SIGTERM arrives within the grace period, then exits 0', async () => {
    const ns = randomNamespace();
    const w = runWorker({
      NATS_URL: server.url,
      REELBUS_NAMESPACE: ns,
      SHUTDOWN_GRACE_MS: '20000',
      TEST_WORK_MS: '1500',
    });
    await w.ready;
    const bus = await Bus.connect({ servers: server.url, namespace: ns, name: 'test' });
    try {
      await bus.publish('job.warning', 'job-term', { step: 'images', message: 'x' });
      await w.started;
      w.child.kill('SIGTERM');
      const { code, stderr } = await w.exited;
      expect(code, stderr).toBe(0);
      const msgs = w.lines.map((l) => l.msg);
      expect(msgs).toContain('handler finished');
      expect(msgs.indexOf('signal received')).toBeLessThan(msgs.indexOf('handler finished'));
      expect(msgs.at(-1)).toBe('stopped');
      expect(w.lines.find((l) => l.msg === 'handled')).toMatchObject({
        jobId: 'job-term',
        service: 'slow-worker',
      });
      expect(await consumerIdle(bus, 'slow-worker')).toBe(true);
      const info = await bus.jsm.consumers.info(
        bus.names.eventsStream,
        bus.names.consumerName('slow-worker', 'job.warning'),
      );
      expect(info.num_redelivered).toBe(0);
    } finally {
      await bus.close();
    }
  });

  it('releases the message in hand when the grace period runs out, so another replica handles it', async () => {
    const ns = randomNamespace();
    const w = runWorker({
      NATS_URL: server.url,
      REELBUS_NAMESPACE: ns,
      SHUTDOWN_GRACE_MS: '200',
      TEST_WORK_MS: '60000',
    });
    await w.ready;
    const bus = await Bus.connect({ servers: server.url, namespace: ns, name: 'test' });
    try {
      const published = await bus.publish('job.warning', 'job-term2', { step: 'images', message: 'x' });
      await w.started;
      w.child.kill('SIGTERM');
      const { code, stderr } = await w.exited;
      expect(code, stderr).toBe(0);
      expect(w.lines.map((l) => l.msg)).not.toContain('handler finished');
      const redelivered = deferred<{ id: string; delivery: number }>();
      const c = await bus.consume({
        service: 'slow-worker',
        ackWaitMs: 2_000,
        handlers: {
          'job.warning': {
            step: 'encode',
            handle: async (e, ctx) => redelivered.resolve({ id: e.id, delivery: ctx.deliveryCount }),
          },
        },
      });
      expect(await redelivered.promise).toEqual({ id: published.id, delivery: 2 });
      await waitFor(() => consumerIdle(bus, 'slow-worker'), { what: 'the message to be acked' });
      await c.stop();
    } finally {
      await bus.close();
    }
  });

  it('exits 1 naming the stage it was stuck at when the shutdown outlasts the grace period and its margin', async () => {
    const ns = randomNamespace();
    const w = runWorker({
      NATS_URL: server.url,
      REELBUS_NAMESPACE: ns,
      SHUTDOWN_GRACE_MS: '200',
      TEST_WORK_MS: '0',
      TEST_HANG_SHUTDOWN: '1',
    });
    await w.ready;
    const signalled = Date.now();
    w.child.kill('SIGTERM');
    const { code, stderr } = await w.exited;
    expect(code, stderr).toBe(1);
    expect(Date.now() - signalled).toBeGreaterThanOrEqual(200 + SHUTDOWN_MARGIN_MS - 50);
    const last = w.lines.at(-1)!;
    expect(last).toMatchObject({ level: 'error', stage: 'running the shutdown hooks', deadlineMs: 5200 });
    expect(String(last.msg)).toBe(
      'shutdown did not finish within 5200 ms (stuck running the shutdown hooks): exiting',
    );
    expect(w.lines.map((l) => l.msg)).not.toContain('stopped');
  });

  it('exits 78 with one line per bad variable', async () => {
    const w = runWorker({ NATS_URL: 'localhost', HEALTH_PORT: 'x', TEST_WORK_MS: '-1' });
    const { code, stderr } = await w.exited;
    expect(code).toBe(78);
    expect(stderr.trim().split('\n')).toEqual([
      'slow-worker: invalid configuration:',
      '  NATS_URL: must be one or more comma-separated nats:// URLs (got "localhost")',
      '  HEALTH_PORT: must be a whole number (got "x")',
      '  TEST_WORK_MS: must be at least 0 (got "-1")',
    ]);
  });

  // Debian bookworm's nats-server (2.9.10) is such a server; a newer one cannot show this refusal.
  it.runIf(!replicatedCasIsAtomic(natsVersion()))(
    'exits 78 when STREAM_REPLICAS > 1 meets a nats-server that would lose job updates',
    async () => {
      const version = natsVersion();
      expect(replicatedCasIsAtomic(version), `nats-server ${version} on this machine`).toBe(false);
      const w = runWorker({
        NATS_URL: server.url,
        REELBUS_NAMESPACE: randomNamespace(),
        STREAM_REPLICAS: '3',
        TEST_NEEDS_JOBS: '1',
        TEST_WORK_MS: '0',
      });
      const { code, stderr } = await w.exited;
      expect(code, stderr).toBe(78);
      expect(stderr).toContain('slow-worker: invalid configuration:');
      expect(stderr).toContain(`STREAM_REPLICAS: 3 replicas with JOB_STORE=kv need nats-server ≥ 2.9.21`);
      expect(stderr).toContain(`runs ${version}`);
    },
  );

  it('serves liveness, readiness with its checks, and the consume loop counters', async () => {
    const ns = randomNamespace();
    const rt = await startService({
      name: 'probe',
      env: {
        NATS_URL: server.url,
        REELBUS_NAMESPACE: ns,
        HEALTH_HOST: '127.0.0.1',
        BLOB_DIR: join(dir, 'probe-blobs'),
        LOG_LEVEL: 'silent',
      },
      handleSignals: false,
    });
    try {
      const base = `http://127.0.0.1:${rt.health.port}`;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      // Not ready until it reads: no consumer yet.
      const early = await fetch(`${base}/readyz`);
      expect(early.status).toBe(503);
      expect(await early.json()).toMatchObject({ checks: { nats: { ok: true }, consuming: { ok: false } } });

      const handled = deferred();
      await rt.bus.consume({
        service: rt.name,
        handlers: { 'job.warning': { step: 'notify', handle: async () => handled.resolve() } },
      });
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({
        status: 'ready',
        checks: { nats: { ok: true }, consuming: { ok: true } },
      });
      let storeOk = false;
      rt.addReadinessCheck('store', () => storeOk);
      const notReady = await fetch(`${base}/readyz`);
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toMatchObject({ checks: { nats: { ok: true }, store: { ok: false } } });
      storeOk = true;
      expect((await fetch(`${base}/readyz`)).status).toBe(200);

      await rt.bus.publish('job.warning', 'job-m', { step: 'images', message: 'x' });
      await handled.promise;
      const text = await waitFor(
        async () => {
          const t = await (await fetch(`${base}/metrics`)).text();
          return t.includes('reelbus_messages_handled_total{service="probe",type="job.warning"} 1')
            ? t
            : undefined;
        },
        { what: 'the handled counter' },
      );
      expect(text).toContain('# TYPE reelbus_messages_in_flight gauge');
      expect(text).toContain('reelbus_messages_in_flight{service="probe",type="job.warning"} 0');
      // the job store and blob store are the real ones
      await rt.blobs.put('jobs/job-m/input/note.txt', 'hello');
      expect(rt.blobs.localPath('jobs/job-m/input/note.txt')).toBe(
        join(dir, 'probe-blobs', 'jobs/job-m/input/note.txt'),
      );
      await expect(rt.jobs.get('job-none')).resolves.toBeUndefined();
    } finally {
      await rt.shutdown();
    }
    expect(rt.fullBus.nc.isClosed()).toBe(true);
  });
});
