import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newJob, Timeline, type EventOf, type EventType } from '@reelbus/contracts';
import { Bus, FsBlobStore, KvJobStore } from '@reelbus/kit';
import {
  makeImage,
  probeFacts,
  randomNamespace,
  startNatsServer,
  type NatsServerHandle,
} from '@reelbus/kit/testing';

/*
 * Cancel mid-encode of a long CHUNKED render (issue 15 §2), on the real parts: a nats-server, a KV job
 * store, the encoder as its own process, real ffmpeg. A 5-minute render is cut into 10-second chunks
 * (one at a time: CHUNK_CONCURRENCY=1); once the first chunk is done and the next one's ffmpeg runs,
 * the job is cancelled. Then: that ffmpeg is gone within 5 s, the chunk in hand is stopped, no further
 * chunk of the job starts (every remaining chunk message is settled without running), nothing is
 * joined, and the same encoder process renders the next (chunked) job.
 */

const here = dirname(fileURLToPath(import.meta.url));
const CHUNK_SECONDS = 10;
const LONG_SEC = 300;
let server: NatsServerHandle;
let dir: string;
let bus: Bus;
let jobs: KvJobStore;
let blobs: FsBlobStore;
let encoder: ChildProcess;
let encoderOut = '';
/** The encoder's log records (pino JSON lines). */
const logs: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  server = await startNatsServer();
  dir = await mkdtemp(join(tmpdir(), 'reelbus-cancel-chunked-'));
  const namespace = randomNamespace();
  bus = await Bus.connect({ servers: server.url, namespace, name: 'test' });
  await bus.ensureStreams();
  jobs = await KvJobStore.open({ nc: bus.nc, bucket: bus.names.jobsBucket });
  blobs = new FsBlobStore({ root: join(dir, 'blobs') });
  await blobs.putFile(
    'media/photo.png',
    await makeImage({ file: join(dir, 'src', 'photo.png'), width: 1280, height: 720 }),
  );
  encoder = spawn(process.execPath, ['--import', 'tsx', join(here, 'main.ts')], {
    env: {
      ...process.env,
      NATS_URL: server.url,
      REELBUS_NAMESPACE: namespace,
      BLOB_DIR: join(dir, 'blobs'),
      TMP_DIR: join(dir, 'tmp'),
      HEALTH_HOST: '127.0.0.1',
      HEALTH_PORT: '0',
      JOB_STORE: 'kv',
      ENCODER_PRESET: 'veryfast',
      CHUNK_THRESHOLD_SEC: '12',
      CHUNK_SECONDS: String(CHUNK_SECONDS),
      CHUNK_CONCURRENCY: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  createInterface({ input: encoder.stdout! }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not a log record
    }
  });
  await new Promise<void>((resolve, reject) => {
    encoder.stdout!.on('data', (b: Buffer) => {
      encoderOut += b.toString();
      if (/"msg":"consuming/.test(encoderOut)) resolve();
    });
    encoder.stderr!.on('data', (b: Buffer) => (encoderOut += b.toString()));
    encoder.once('exit', (code) =>
      reject(new Error(`encoder exited with ${code}:\n${encoderOut.slice(-3000)}`)),
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
  await jobs?.close();
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

/** Resolves when `check` is true, polling every 25 ms; rejects after `ms` (with the encoder's last lines). */
async function until(check: () => boolean, ms: number, what: string): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (check()) return Date.now() - start;
    if (Date.now() - start > ms)
      throw new Error(`not within ${ms} ms: ${what}\nencoder:\n${encoderOut.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The chunk index each "rendering chunk" log line of `jobId` names, in start order. */
const chunksStarted = (jobId: string) =>
  logs
    .filter(
      (r) => r.jobId === jobId && typeof r.chunk === 'number' && String(r.msg).startsWith('rendering chunk'),
    )
    .map((r) => r.chunk as number);

/** The chunk messages of `jobId` the consume loop settled as cancelled, by whether the handler ran. */
const chunksCancelled = (jobId: string, ran: boolean) =>
  logs.filter(
    (r) =>
      r.jobId === jobId &&
      r.type === 'render.chunk.requested' &&
      r.msg ===
        (ran
          ? 'job cancelled: handler stopped, message settled as cancelled'
          : 'job cancelled: message settled without running the handler'),
  ).length;

/** A Timeline of `durationSec`: a photo panned across the whole length (every frame costs CPU). */
function pannedPhoto(durationSec: number, size: { width: number; height: number }) {
  return Timeline.parse({
    version: 1,
    output: { ...size, fps: 25 },
    duration: durationSec,
    tracks: [
      {
        clips: [
          {
            type: 'image',
            source: { key: 'media/photo.png' },
            start: 0,
            duration: durationSec,
            fit: 'cover',
            motion: {
              type: 'kenburns',
              from: { zoom: 1, x: 0.5, y: 0.5 },
              to: { zoom: 1.4, x: 0.2, y: 0.7 },
            },
          },
        ],
      },
    ],
  });
}

describe('cancel during the encode of a long chunked render', () => {
  it('kills the chunk’s ffmpeg within 5 s, renders no further chunk of the job, and the encoder takes the next job', async () => {
    const long = 'job_long_chunked';
    const next = 'job_next_chunked';
    const total = Math.ceil(LONG_SEC / CHUNK_SECONDS);
    const seen: EventOf<EventType>[] = [];
    let nextDone!: (e: EventOf<'video.encoded'>) => void;
    const nextEncoded = new Promise<EventOf<'video.encoded'>>((r) => (nextDone = r));
    const watch = bus.watchEvents((e) => {
      seen.push(e);
      if (e.jobId === next && e.type === 'video.encoded') nextDone(e as EventOf<'video.encoded'>);
    });
    await watch.ready;
    try {
      await jobs.create(newJob({ id: long, kind: 'render' }));
      await bus.publish(
        'timeline.ready',
        long,
        { kind: 'render', timeline: pannedPhoto(LONG_SEC, { width: 640, height: 360 }) },
        { id: `timeline.ready:${long}` },
      );
      // mid-encode: a chunk after the first has started and its ffmpeg is running
      await until(
        () => chunksStarted(long).some((i) => i >= 1) && ffmpegChildren().length > 0,
        240_000,
        'a second chunk of the long render is being encoded',
      );
      const inHand = chunksStarted(long).at(-1)!;
      const [pid] = ffmpegChildren();

      const cancelledAt = Date.now();
      await bus.cancelJob(long, { by: 'tester', reason: 'wrong photo' });
      const tookMs = await until(() => !alive(pid!), 5_000, `ffmpeg ${pid} exits after the cancel`);
      expect(Date.now() - cancelledAt).toBeLessThan(5_000);
      expect(tookMs).toBeLessThan(5_000);

      // the chunk in hand was stopped; every chunk after it is settled without running
      await until(
        () => chunksCancelled(long, true) === 1,
        30_000,
        'the chunk in hand is settled as cancelled',
      );
      const startedChunks = chunksStarted(long);
      const notStarted = total - startedChunks.length;
      await until(
        () => chunksCancelled(long, false) === notStarted,
        60_000,
        `the ${notStarted} chunks not started are settled without running`,
      );
      expect(startedChunks).toEqual([...Array(inHand + 1).keys()]); // 0…inHand, nothing after the cancel

      // The same encoder process takes the next job, chunked too (2 chunks).
      await jobs.create(newJob({ id: next, kind: 'render' }));
      await bus.publish(
        'timeline.ready',
        next,
        { kind: 'render', timeline: pannedPhoto(15, { width: 320, height: 180 }) },
        { id: `timeline.ready:${next}` },
      );
      const encoded = await nextEncoded;
      expect(encoder.exitCode).toBeNull();
      const facts = probeFacts(blobs.localPath(encoded.data.key)!);
      expect(facts.video).toMatchObject({ codec: 'h264', width: 320, height: 180 });
      expect(seen.filter((e) => e.jobId === next && e.type === 'render.chunk.rendered')).toHaveLength(2);

      // Nothing more of the long job: the chunks rendered before the cancel are all there is.
      const forLong = seen.filter((e) => e.jobId === long);
      const rendered = forLong.filter((e) => e.type === 'render.chunk.rendered');
      expect(
        rendered.map((e) => (e as EventOf<'render.chunk.rendered'>).data.index).sort((a, b) => a - b),
      ).toEqual([...Array(inHand).keys()]);
      const chunkFiles = (await readdir(join(dir, 'blobs', 'jobs', long, 'chunks'))).filter((f) =>
        f.startsWith('chunk-'),
      );
      expect(chunkFiles).toHaveLength(inHand);
      expect(forLong.map((e) => e.type)).toContain('job.cancelled');
      expect(forLong.map((e) => e.type)).not.toContain('video.encoded');
      expect(forLong.map((e) => e.type)).not.toContain('job.failed');
      expect(await blobs.stat(`jobs/${long}/final.mp4`)).toBeUndefined();
    } finally {
      watch.stop();
    }
  }, 600_000);
});
