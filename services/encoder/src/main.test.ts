import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newJob, type EventOf, type EventType } from '@reelbus/contracts';
import { Bus, FsBlobStore, KvJobStore, probe } from '@reelbus/kit';
import {
  isFaststart,
  makeStereoCall,
  makeVideo,
  probeFacts,
  randomNamespace,
  startNatsServer,
  type NatsServerHandle,
} from '@reelbus/kit/testing';

const here = dirname(fileURLToPath(import.meta.url));
const services = join(here, '..', '..');

let server: NatsServerHandle;
let dir: string;
let bus: Bus;
let jobs: KvJobStore;
let blobs: FsBlobStore;
let namespace: string;
const children: ChildProcess[] = [];

function startServiceProcess(name: 'encoder' | 'compositor'): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(services, name, 'src', 'main.ts')], {
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
      // This test hands the compositor two speaker clips (clip.generated), as a real provider would.
      CALL_LOCAL_RENDER: 'clips',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('"consuming"') || /"msg":"consuming/.test(out)) resolve();
    });
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}:\n${out.slice(-3000)}`)));
  });
}

beforeAll(async () => {
  server = await startNatsServer();
  dir = await mkdtemp(join(tmpdir(), 'reelbus-call-services-'));
  namespace = randomNamespace();
  bus = await Bus.connect({ servers: server.url, namespace, name: 'test' });
  await bus.ensureStreams();
  jobs = await KvJobStore.open({ nc: bus.nc, bucket: bus.names.jobsBucket });
  blobs = new FsBlobStore({ root: join(dir, 'blobs') });
  await Promise.all([startServiceProcess('compositor'), startServiceProcess('encoder')]);
});

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

describe('compositor and encoder as services', () => {
  it('turns a split call and its two clips into one split-screen video.encoded', async () => {
    const jobId = 'call-e2e-1';
    await jobs.create(
      newJob({
        id: jobId,
        kind: 'call',
        input: { source: 'upload', recording: { key: `jobs/${jobId}/input/recording.wav` } },
      }),
    );
    const src = join(dir, 'src');
    const call = await makeStereoCall({
      dir: src,
      left: 'Good morning, caller here.',
      right: 'Hello, this is the callee.',
    });
    await blobs.putFile(`jobs/${jobId}/input/recording.wav`, call.file);
    const recording = await probe(blobs.localPath(`jobs/${jobId}/input/recording.wav`)!);

    const seen: Array<EventOf<EventType>> = [];
    let done!: (e: EventOf<'video.encoded'>) => void;
    const encoded = new Promise<EventOf<'video.encoded'>>((resolve) => (done = resolve));
    const watch = bus.watchJob(jobId, (e) => {
      seen.push(e);
      if (e.type === 'video.encoded') done(e as EventOf<'video.encoded'>);
    });
    try {
      await bus.publish(
        'audio.split',
        jobId,
        {
          source: {
            key: `jobs/${jobId}/input/recording.wav`,
            durationSec: recording.durationSec,
            channels: 2,
            sampleRate: 48000,
            codec: 'pcm_s16le',
            sizeBytes: recording.sizeBytes,
          },
          mode: 'stereo',
          channels: [
            {
              role: 'caller',
              key: `jobs/${jobId}/split/caller.wav`,
              durationSec: recording.durationSec,
              silent: false,
            },
            {
              role: 'callee',
              key: `jobs/${jobId}/split/callee.wav`,
              durationSec: recording.durationSec,
              silent: false,
            },
          ],
        },
        { id: `audio.split:${jobId}` },
      );
      // play the ai-generator: one clip per role, the callee's published again under a new id (a
      // replica that redid it), which dedupe cannot drop: the fan-in claim must
      for (const [role, id] of [
        ['caller', `clip.generated:${jobId}:caller`],
        ['callee', `clip.generated:${jobId}:callee`],
        ['callee', `clip.generated:${jobId}:callee:again`],
      ] as const) {
        const key = `jobs/${jobId}/clips/${role}.mp4`;
        if (!(await blobs.stat(key))) {
          await blobs.putFile(
            key,
            await makeVideo({
              file: join(src, `${role}.mp4`),
              seconds: recording.durationSec,
              width: 480,
              height: 480,
              audio: false,
            }),
          );
        }
        await bus.publish(
          'clip.generated',
          jobId,
          {
            role,
            key,
            durationSec: recording.durationSec,
            width: 480,
            height: 480,
            provider: 'test',
            expectedClips: 2,
          },
          { id },
        );
      }
      const e = await encoded;
      expect(e.id).toBe(`video.encoded:${jobId}`);
      expect(e.data).toMatchObject({
        key: `jobs/${jobId}/final.mp4`,
        width: 1280,
        height: 720,
        videoCodec: 'h264',
        audioCodec: 'aac',
        backend: 'ffmpeg',
      });
      expect(Math.abs(e.data.durationSec - recording.durationSec)).toBeLessThan(0.1);
      const file = blobs.localPath(e.data.key)!;
      expect(probeFacts(file).video).toMatchObject({ profile: 'High', pixFmt: 'yuv420p' });
      expect(isFaststart(file)).toBe(true);
      expect(
        seen
          .filter((x) => x.type === 'clip.requested')
          .map((x) => x.id)
          .sort(),
      ).toEqual([`clip.requested:${jobId}:callee`, `clip.requested:${jobId}:caller`]);
      expect(seen.filter((x) => x.type === 'timeline.ready')).toHaveLength(1);
      const subject = bus.names.eventSubject('timeline.ready');
      const info = await bus.jsm.streams.info(bus.names.eventsStream, { subjects_filter: subject });
      expect(info.state.subjects?.[subject]).toBe(1);
    } finally {
      watch.stop();
    }
  });
});
