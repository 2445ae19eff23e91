// Chunked rendering on the bus: two encoder processes (replicas) on a real nats-server, a real job
// store (KV) and filesystem blobs, real ffmpeg. Small frames and 1-second chunks keep it quick.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newJob, Timeline, type EventOf, type EventType, type TimelineInput } from '@reelbus/contracts';
import { Bus, FsBlobStore, KvJobStore, probe } from '@reelbus/kit';
import {
  isFaststart,
  makeImage,
  makeSpeech,
  makeVideo,
  probeFacts,
  randomNamespace,
  startNatsServer,
  type NatsServerHandle,
} from '@reelbus/kit/testing';
import { readHlsLadder } from '../hls/testing.ts';
import { countVideoFrames } from './chunked.ts';
import { chunkKeys, readChunkedState } from './decide.ts';
import { planChunks } from './plan.ts';
import { storePlan } from './stored-plan.ts';

const here = dirname(fileURLToPath(import.meta.url));
const services = join(here, '..', '..', '..');

let server: NatsServerHandle;
let dir: string;
let bus: Bus;
let jobs: KvJobStore;
let blobs: FsBlobStore;
let namespace: string;
const children: ChildProcess[] = [];
const byReplica = new Map<number, ChildProcess>();

function startEncoder(replica: number): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(services, 'encoder', 'src', 'main.ts')], {
    env: {
      ...process.env,
      NATS_URL: server.url,
      REELBUS_NAMESPACE: namespace,
      BLOB_DIR: join(dir, 'blobs'),
      TMP_DIR: join(dir, `tmp-${replica}`),
      HEALTH_HOST: '127.0.0.1',
      HEALTH_PORT: '0',
      JOB_STORE: 'kv',
      ENCODER_PRESET: 'ultrafast',
      CHUNK_THRESHOLD_SEC: '2',
      CHUNK_SECONDS: '1',
      CHUNK_CONCURRENCY: '1',
      // a chunk whose replica dies is redelivered after this (the consume loop's heartbeat keeps live work)
      CONSUMER_ACK_WAIT_MS: '4000',
      REELBUS_REPLICA: String(replica),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  byReplica.set(replica, child);
  let out = '';
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      const rec = { ...(JSON.parse(line) as Record<string, unknown>), replica };
      logs.push(rec);
      for (const w of [...logWatchers]) w(rec);
    } catch {
      // not a log record
    }
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (/"msg":"consuming/.test(out)) resolve();
    });
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    child.once('exit', (code) => reject(new Error(`encoder exited with ${code}:\n${out.slice(-3000)}`)));
  });
}

/** The encoders' log records, and a wait for the first (past or future) that matches. */
const logs: Array<Record<string, unknown>> = [];
const logWatchers = new Set<(rec: Record<string, unknown>) => void>();
function waitForLog(match: (rec: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  const seen = logs.find(match);
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve) => {
    const w = (rec: Record<string, unknown>) => {
      if (!match(rec)) return;
      logWatchers.delete(w);
      resolve(rec);
    };
    logWatchers.add(w);
  });
}

beforeAll(async () => {
  server = await startNatsServer();
  dir = await mkdtemp(join(tmpdir(), 'reelbus-chunked-bus-'));
  namespace = randomNamespace();
  bus = await Bus.connect({ servers: server.url, namespace, name: 'test' });
  await bus.ensureStreams();
  jobs = await KvJobStore.open({ nc: bus.nc, bucket: bus.names.jobsBucket });
  blobs = new FsBlobStore({ root: join(dir, 'blobs') });
  const src = join(dir, 'src');
  await blobs.putFile(
    'media/photo.png',
    await makeImage({ file: join(src, 'photo.png'), width: 640, height: 480 }),
  );
  await blobs.putFile(
    'media/talk.mp4',
    await makeVideo({ file: join(src, 'talk.mp4'), seconds: 4, width: 320, height: 240 }),
  );
  await blobs.putFile(
    'media/voice.wav',
    await makeSpeech({
      text: 'Every chunk is rendered by whichever encoder is free.',
      file: join(src, 'voice.wav'),
    }),
  );
  await Promise.all([startEncoder(0), startEncoder(1)]);
}, 120_000);

afterAll(async () => {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.removeAllListeners('exit');
          c.once('exit', () => resolve());
          c.kill('SIGTERM');
        }),
    ),
  );
  await bus?.close();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** 5.5 s: Ken Burns on a still, a transition into a video with its sound, a voice, a poster. */
const timeline: TimelineInput = {
  version: 1,
  output: { width: 320, height: 180, fps: 30, poster: { at: 2 } },
  duration: 5.5,
  tracks: [
    {
      clips: [
        {
          type: 'image',
          source: { key: 'media/photo.png' },
          start: 0,
          duration: 3,
          fit: 'cover',
          motion: { type: 'kenburns', from: { zoom: 1, x: 0.5, y: 0.5 }, to: { zoom: 1.3, x: 0.2, y: 0.7 } },
          transition: { type: 'dissolve', duration: 0.5 },
        },
        { type: 'video', source: { key: 'media/talk.mp4' }, start: 2.5, duration: 3, volume: 0.5 },
      ],
    },
  ],
  audio: [{ name: 'voice', source: { key: 'media/voice.wav' }, start: 0.2 }],
};

/**
 * Collects a job's events until `until` matches one; resolves with all seen so far. Past the
 * deadline it rejects with the events seen and the encoders' warnings, so a failure says why.
 */
function collect(jobId: string, until: (e: EventOf<EventType>) => boolean, deadlineMs = 240_000) {
  const seen: Array<EventOf<EventType>> = [];
  let stop!: () => void;
  const done = new Promise<Array<EventOf<EventType>>>((resolve, reject) => {
    const timer = setTimeout(() => {
      const problems = logs.filter((r) => Number(r.level) >= 40).slice(-20);
      reject(
        new Error(
          `job ${jobId}: no matching event within ${deadlineMs} ms; saw ${seen.map((e) => e.type).join(', ')}; encoder warnings: ${JSON.stringify(problems, null, 1)}`,
        ),
      );
    }, deadlineMs);
    const w = bus.watchJob(jobId, (e) => {
      seen.push(e);
      if (until(e)) {
        clearTimeout(timer);
        resolve(seen);
      }
    });
    stop = () => {
      clearTimeout(timer);
      w.stop();
    };
  });
  return { seen, done, stop: () => stop() };
}

describe('chunked rendering on the bus', () => {
  it('plans chunks, renders them on any replica with the audio once, and joins them exactly once', async () => {
    const jobId = 'chunked-1';
    await jobs.create(newJob({ id: jobId, kind: 'render' }));
    const plan = planChunks({ timeline, chunkSeconds: 1 });
    const count = plan.chunks.length;
    expect(count).toBeGreaterThanOrEqual(5);
    const watch = collect(jobId, (e) => e.type === 'video.encoded' || e.type === 'job.failed');
    try {
      await bus.publish(
        'timeline.ready',
        jobId,
        { kind: 'render', timeline },
        { id: `timeline.ready:${jobId}` },
      );
      const seen = await watch.done;
      const encoded = seen.find((e) => e.type === 'video.encoded') as EventOf<'video.encoded'> | undefined;
      expect(encoded, JSON.stringify(seen.find((e) => e.type === 'job.failed')?.data)).toBeDefined();
      const count$ = (t: EventType) => seen.filter((e) => e.type === t).length;
      expect(count$('render.chunk.requested')).toBe(count);
      expect(count$('render.chunk.rendered')).toBe(count);
      expect(count$('render.audio.requested')).toBe(1);
      expect(count$('render.audio.rendered')).toBe(1);

      // the joined file: exactly round(5.5 × 30) frames, H.264 High + AAC, moov first
      const file = blobs.localPath(encoded!.data.key)!;
      expect(encoded!.data).toMatchObject({
        key: `jobs/${jobId}/final.mp4`,
        width: 320,
        height: 180,
        backend: 'ffmpeg',
      });
      expect(await countVideoFrames(file)).toBe(165);
      const facts = probeFacts(file);
      expect(facts.video).toMatchObject({
        codec: 'h264',
        profile: 'High',
        pixFmt: 'yuv420p',
        width: 320,
        height: 180,
      });
      expect(facts.audio).toMatchObject({ codec: 'aac', sampleRate: 48000, channels: 2 });
      expect(isFaststart(file)).toBe(true);
      expect(Math.abs(encoded!.data.durationSec - 5.5)).toBeLessThan(0.05);
      // the CPU of every part, summed
      expect(encoded!.data.cpuSeconds).toBeGreaterThan(0);
      // the poster, a named output
      expect(encoded!.data.outputs?.poster).toMatchObject({
        key: `jobs/${jobId}/poster.jpg`,
        contentType: 'image/jpeg',
        width: 320,
        height: 180,
      });
      expect((await probe(blobs.localPath(`jobs/${jobId}/poster.jpg`)!)).video?.codec).toBe('mjpeg');

      // every chunk is on its own key, video only, starting on a keyframe
      for (let i = 0; i < count; i++) {
        const chunkFile = blobs.localPath(chunkKeys.chunk(jobId, i))!;
        const info = await probe(chunkFile);
        expect(info.audio, `chunk ${i}`).toBeUndefined();
        expect(await countVideoFrames(chunkFile)).toBe(plan.chunks[i]!.frameCount);
      }

      // progress like getRenderProgress: phases in order, chunks done/total, a chunk's frames, time left
      const progress = seen
        .filter((e) => e.type === 'job.progress')
        .map((e) => (e as unknown as EventOf<'job.progress'>).data);
      const phases = [...new Set(progress.map((p) => p.phase).filter(Boolean))];
      expect(phases).toEqual(['preparing', 'rendering', 'concatenating', 'uploading', 'complete']);
      expect(progress.some((p) => p.chunks?.total === count && p.chunks.done === count)).toBe(true);
      expect(progress.some((p) => p.chunk && p.chunk.frames > 0)).toBe(true);
      expect(progress.some((p) => p.etaSec !== undefined)).toBe(true);

      // the fan-in's claim is on the job
      const job = await jobs.get(jobId);
      const state = readChunkedState(job!);
      expect(Object.keys(state.chunks)).toHaveLength(count);
      expect(state.claim?.by).toMatch(/^render\.(chunk|audio)\.rendered:/);

      // a replica that renders a chunk again (a new event id, which dedupe cannot drop) joins nothing
      const again = seen.find(
        (e) =>
          e.type === 'render.chunk.rendered' &&
          (e as unknown as EventOf<'render.chunk.rendered'>).data.index === 0,
      )!;
      await bus.publish('render.chunk.rendered', jobId, again.data as never, { id: `${again.id}:again` });
      await waitForLog((r) => r.eventId === `${again.id}:again` && r.msg === 'handled');
      const subject = bus.names.eventSubject('video.encoded');
      const info = await bus.jsm.streams.info(bus.names.eventsStream, { subjects_filter: subject });
      expect(info.state.subjects?.[subject]).toBe(1);
    } finally {
      watch.stop();
    }
  }, 300_000);

  it('writes the HLS ladder of the joined video when a chunked render asks for "hls"', async () => {
    const jobId = 'chunked-hls';
    await jobs.create(newJob({ id: jobId, kind: 'render' }));
    // 3.5 s in 1-second chunks: colour, then a video with its sound; above the 2-second threshold.
    const t: TimelineInput = {
      version: 1,
      output: { width: 320, height: 180, fps: 30, formats: ['mp4', 'hls'] },
      duration: 3.5,
      tracks: [
        {
          clips: [
            { type: 'color', color: '#203040', start: 0, duration: 1.5 },
            { type: 'video', source: { key: 'media/talk.mp4' }, start: 1.5, duration: 2 },
          ],
        },
      ],
    };
    const count = planChunks({ timeline: t, chunkSeconds: 1 }).chunks.length;
    const watch = collect(jobId, (e) => e.type === 'video.encoded' || e.type === 'job.failed');
    try {
      await bus.publish(
        'timeline.ready',
        jobId,
        { kind: 'render', timeline: t },
        { id: `timeline.ready:${jobId}` },
      );
      const seen = await watch.done;
      const encoded = seen.find((e) => e.type === 'video.encoded') as EventOf<'video.encoded'> | undefined;
      expect(encoded, JSON.stringify(seen.find((e) => e.type === 'job.failed')?.data)).toBeDefined();
      // rendered in chunks, not in one pass
      expect(seen.filter((e) => e.type === 'render.chunk.rendered')).toHaveLength(count);
      expect(count).toBeGreaterThanOrEqual(3);
      expect(encoded!.data.key).toBe(`jobs/${jobId}/final.mp4`);
      expect(encoded!.data.outputs?.hls).toMatchObject({
        key: `jobs/${jobId}/hls/master.m3u8`,
        contentType: 'application/vnd.apple.mpegurl',
        width: 320,
        height: 180,
      });

      const variants = readHlsLadder({ blobs, masterKey: encoded!.data.outputs!.hls!.key, scratchDir: dir });
      // 320×180 is below every rung: one rendition at its own size
      expect(variants.map((v) => `${v.width}x${v.height}`)).toEqual(['320x180']);
      for (const v of variants) {
        expect(v.codecs).toMatch(/^avc1\.64[0-9a-f]{4},mp4a\.40\.2$/);
        expect(Math.abs(v.totalSec - encoded!.data.durationSec), v.uri).toBeLessThanOrEqual(1 / 30);
        expect(Math.abs(v.totalSec - 3.5), v.uri).toBeLessThanOrEqual(1 / 30);
      }
    } finally {
      watch.stop();
    }
  }, 300_000);

  it('fails the job naming the chunk when a chunk cannot be rendered, and renders no other chunk of it', async () => {
    const jobId = 'chunked-2';
    await jobs.create(newJob({ id: jobId, kind: 'render' }));
    // A stored plan whose Timeline shows a photo that is not in blob storage from frame 30 on (as if it
    // was deleted after planning): chunk 2 of 3 fails for good; chunk 1 (colour only) is then not rendered.
    const t: TimelineInput = {
      version: 1,
      output: { width: 320, height: 180, fps: 30 },
      duration: 3,
      tracks: [
        {
          clips: [
            { type: 'color', color: '#203040', start: 0, duration: 1 },
            { type: 'image', source: { key: `jobs/${jobId}/input/gone.png` }, start: 1, duration: 2 },
          ],
        },
      ],
    };
    const plan = planChunks({ timeline: t, chunkSeconds: 1 });
    await storePlan({
      blobs,
      plan: {
        version: 1,
        jobId,
        kind: 'render',
        timeline: Timeline.parse(t),
        chunkSeconds: 1,
        fps: plan.fps,
        totalFrames: plan.totalFrames,
        chunks: plan.chunks,
        sources: { [`jobs/${jobId}/input/gone.png`]: { hasAudio: false, durationSec: 0.04 } },
        plannedAt: new Date().toISOString(),
      },
    });
    const request = (index: number) =>
      bus.publish(
        'render.chunk.requested',
        jobId,
        { ...plan.chunks[index]!, plan: chunkKeys.plan(jobId), count: 3 },
        { id: `render.chunk.requested:${jobId}:${index}` },
      );
    const watch = collect(jobId, (e) => e.type === 'job.failed');
    try {
      await request(1);
      const seen = await watch.done;
      const failed = seen.find((e) => e.type === 'job.failed') as EventOf<'job.failed'>;
      expect(failed.data.step).toBe('encode');
      expect(failed.data.reason).toBe(
        `chunk 2 of 3 (index 1, frames 30-59, 1-1.967 s): tracks[0].clips[1].source.key: "jobs/${jobId}/input/gone.png" is not in blob storage; upload it or fix the key`,
      );
      expect(readChunkedState((await jobs.get(jobId))!).failed?.part).toBe(
        'chunk 2 of 3 (index 1, frames 30-59, 1-1.967 s)',
      );

      // the next chunk of the failed job is acked without rendering
      await request(0);
      const skipped = await waitForLog((r) => r.jobId === jobId && r.msg === 'skipped');
      expect(skipped.reason).toBe(
        'chunk 1 of 3 (index 0, frames 0-29, 0-0.967 s) not rendered: chunk 2 of 3 (index 1, frames 30-59, 1-1.967 s) failed',
      );
      expect(seen.filter((e) => e.type === 'render.chunk.rendered')).toEqual([]);
      expect(await blobs.stat(chunkKeys.chunk(jobId, 0))).toBeUndefined();
    } finally {
      watch.stop();
    }
  }, 300_000);
  // Last: it leaves one replica.
  it('redelivers the chunk of a replica SIGKILLed mid-render to the other replica; the job completes once', async () => {
    const jobId = 'chunked-3';
    await jobs.create(newJob({ id: jobId, kind: 'render' }));
    const plan = planChunks({ timeline, chunkSeconds: 1 });
    const subject = bus.names.eventSubject('video.encoded');
    const storedEncoded = async () =>
      (await bus.jsm.streams.info(bus.names.eventsStream, { subjects_filter: subject })).state.subjects?.[
        subject
      ] ?? 0;
    const before = await storedEncoded();
    const watch = collect(jobId, (e) => e.type === 'video.encoded' || e.type === 'job.failed');
    try {
      await bus.publish(
        'timeline.ready',
        jobId,
        { kind: 'render', timeline },
        { id: `timeline.ready:${jobId}` },
      );
      // The first chunk a replica takes: kill that replica while it renders it (unacked).
      const started = await waitForLog(
        (r) => r.jobId === jobId && typeof r.msg === 'string' && r.msg.startsWith('rendering chunk'),
      );
      const victim = byReplica.get(started.replica as number)!;
      const exited = new Promise((r) => victim.once('exit', r));
      victim.kill('SIGKILL');
      await exited;
      const again = waitForLog(
        (r) => r.jobId === jobId && r.msg === started.msg && r.replica !== started.replica,
      );

      const seen = await watch.done;
      const encoded = seen.find((e) => e.type === 'video.encoded') as EventOf<'video.encoded'> | undefined;
      expect(encoded, JSON.stringify(seen.find((e) => e.type === 'job.failed')?.data)).toBeDefined();
      // the killed replica's chunk was rendered by the other one
      await again;
      const rendered = seen
        .filter((e) => e.type === 'render.chunk.rendered')
        .map((e) => (e as unknown as EventOf<'render.chunk.rendered'>).data.index);
      expect(new Set(rendered)).toEqual(new Set(plan.chunks.map((c) => c.index)));
      // joined once, with every frame
      expect((await storedEncoded()) - before).toBe(1);
      expect(await countVideoFrames(blobs.localPath(encoded!.data.key)!)).toBe(165);
      expect(isFaststart(blobs.localPath(encoded!.data.key)!)).toBe(true);
    } finally {
      watch.stop();
    }
  }, 300_000);
});
