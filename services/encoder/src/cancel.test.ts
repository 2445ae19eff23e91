import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Timeline, type EventOf, type EventType } from '@reelbus/contracts';
import { Bus, FsBlobStore } from '@reelbus/kit';
import { probeFacts, randomNamespace, startNatsServer, type NatsServerHandle } from '@reelbus/kit/testing';

/*
 * Cancel mid-encode (issue 15 §2), on the real parts: a nats-server, the encoder as its own process,
 * real ffmpeg. A render of an hour is cancelled once ffmpeg is running: ffmpeg must be gone within
 * 5 s, the job gets neither video.encoded nor job.failed, and the same encoder process then renders
 * the next job.
 */

const here = dirname(fileURLToPath(import.meta.url));
let server: NatsServerHandle;
let dir: string;
let bus: Bus;
let blobs: FsBlobStore;
let encoder: ChildProcess;
let encoderLog = '';

beforeAll(async () => {
  server = await startNatsServer();
  dir = await mkdtemp(join(tmpdir(), 'reelbus-cancel-'));
  const namespace = randomNamespace();
  bus = await Bus.connect({ servers: server.url, namespace, name: 'test' });
  await bus.ensureStreams();
  blobs = new FsBlobStore({ root: join(dir, 'blobs') });
  encoder = spawn(process.execPath, ['--import', 'tsx', join(here, 'main.ts')], {
    env: {
      ...process.env,
      NATS_URL: server.url,
      REELBUS_NAMESPACE: namespace,
      BLOB_DIR: join(dir, 'blobs'),
      TMP_DIR: join(dir, 'tmp'),
      HEALTH_HOST: '127.0.0.1',
      HEALTH_PORT: '0',
      ENCODER_PRESET: 'veryfast',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    encoder.stdout!.on('data', (b: Buffer) => {
      encoderLog += b.toString();
      if (/"msg":"consuming/.test(encoderLog) || encoderLog.includes('"consuming"')) resolve();
    });
    encoder.stderr!.on('data', (b: Buffer) => (encoderLog += b.toString()));
    encoder.once('exit', (code) =>
      reject(new Error(`encoder exited with ${code}:\n${encoderLog.slice(-3000)}`)),
    );
  });
}, 120_000);

afterAll(async () => {
  if (encoder && encoder.exitCode === null && encoder.signalCode === null) {
    encoder.removeAllListeners('exit');
    await new Promise<void>((resolve) => {
      encoder.once('exit', () => resolve());
      encoder.kill('SIGTERM');
    });
  }
  await bus?.close();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The ffmpeg processes the encoder process runs now. */
function ffmpegChildren(): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(encoder.pid)], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter(([, comm]) => comm === 'ffmpeg')
      .map(([pid]) => Number(pid));
  } catch {
    return []; // ps exits 1 when there are none
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Resolves when `check` is true, polling every 25 ms; rejects after `ms`. */
async function until(check: () => boolean, ms: number, what: string): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (check()) return Date.now() - start;
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function renderEvent(durationSec: number) {
  return {
    kind: 'render' as const,
    timeline: Timeline.parse({
      version: 1,
      duration: durationSec,
      output: { width: 320, height: 240, fps: 25 },
    }),
  };
}

describe('cancel during an encode', () => {
  it('kills ffmpeg within 5 s, publishes no result for the job, and the encoder takes the next job', async () => {
    const seen: EventOf<EventType>[] = [];
    let encodeRunning!: () => void;
    const running = new Promise<void>((r) => (encodeRunning = r));
    let nextDone!: (e: EventOf<'video.encoded'>) => void;
    const next = new Promise<EventOf<'video.encoded'>>((r) => (nextDone = r));
    const watch = bus.watchEvents((e) => {
      seen.push(e);
      if (e.jobId === 'job_long' && e.type === 'job.progress' && ffmpegChildren().length > 0) encodeRunning();
      if (e.jobId === 'job_next' && e.type === 'video.encoded') nextDone(e as EventOf<'video.encoded'>);
    });
    await watch.ready;
    try {
      await bus.publish('timeline.ready', 'job_long', renderEvent(3600));
      await running;
      const [pid] = ffmpegChildren();
      expect(pid).toBeGreaterThan(0);

      const cancelledAt = Date.now();
      await bus.cancelJob('job_long', { by: 'tester', reason: 'changed my mind' });
      const tookMs = await until(() => !alive(pid!), 5_000, `ffmpeg ${pid} exits after the cancel`);
      expect(Date.now() - cancelledAt).toBeLessThan(5_000);
      expect(tookMs).toBeLessThan(5_000);

      // The same encoder process takes the next job.
      await bus.publish('timeline.ready', 'job_next', renderEvent(1));
      const encoded = await next;
      expect(encoder.exitCode).toBeNull();
      const facts = probeFacts(blobs.localPath(encoded.data.key)!);
      expect(facts.video).toMatchObject({ codec: 'h264', width: 320, height: 240 });

      const forLong = seen.filter((e) => e.jobId === 'job_long').map((e) => e.type);
      expect(forLong).toContain('job.cancelled');
      expect(forLong).not.toContain('video.encoded');
      expect(forLong).not.toContain('job.failed');
      expect(await blobs.stat('jobs/job_long/final.mp4')).toBeUndefined();
    } finally {
      watch.stop();
    }
  }, 180_000);
});
