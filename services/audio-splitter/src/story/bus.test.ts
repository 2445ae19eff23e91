// The story-audio handler behind the real kit Bus on a real nats-server, registered beside the
// recording handler as main.ts does: story.received in, audio.normalized (or job.failed) out.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventOf, EventType } from '@reelbus/contracts';
import { Bus, FsBlobStore, type Consumer } from '@reelbus/kit';
import { randomNamespace, startNatsServer, type NatsServerHandle } from '@reelbus/kit/testing';
import { handleRecording } from '../handle-recording.ts';
import { splitterConcurrency } from './config.ts';
import { handleStoryAudio, storyKeys } from './handle-story.ts';
import { DEFAULT_LOUDNESS_TARGET } from './loudnorm.ts';
import { makeQuietStory } from './test-support.ts';

let dir: string;
let server: NatsServerHandle;
let bus: Bus;
let consumer: Consumer;
let blobs: FsBlobStore;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelbus-story-bus-'));
  server = await startNatsServer();
  bus = await Bus.connect({
    servers: server.url,
    namespace: randomNamespace(),
    name: 'audio-splitter-story-test',
  });
  await bus.ensureStreams();
  blobs = new FsBlobStore({ root: join(dir, 'blobs') });
  consumer = await bus.consume({
    service: 'audio-splitter',
    concurrency: splitterConcurrency(1),
    handlers: {
      'recording.received': {
        step: 'split',
        handle: (event, ctx) =>
          handleRecording({
            event,
            ctx,
            blobs,
            settings: {
              download: { timeoutMs: 1000, attempts: 1, backoffMs: 0 },
              silenceThresholdDb: -50,
              tmpDir: dir,
            },
          }),
      },
      'story.received': {
        step: 'normalize',
        handle: (event, ctx) =>
          handleStoryAudio({
            event,
            ctx,
            blobs,
            settings: {
              fetch: { allowPrivate: false, timeoutMs: 2000, maxBytes: 1e8 },
              loudness: DEFAULT_LOUDNESS_TARGET,
              tmpDir: dir,
            },
          }),
      },
    },
  });
});

afterAll(async () => {
  await consumer?.stop();
  await bus?.close();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

function nextEvent(jobId: string, types: EventType[]): Promise<EventOf<EventType>> {
  return new Promise((resolve) => {
    const w = bus.watchJob(jobId, (e) => {
      if (types.includes(e.type)) {
        w.stop();
        resolve(e);
      }
    });
  });
}

describe('story audio on the bus', () => {
  it('answers story.received with audio.normalized for the job’s voice file', async () => {
    const jobId = `story-bus-${process.pid}`;
    await blobs.put(`uploads/${jobId}/story.wav`, await readFile(await makeQuietStory({ dir })));
    const got = nextEvent(jobId, ['audio.normalized', 'job.failed']);
    await bus.publish('story.received', jobId, { audio: { key: `uploads/${jobId}/story.wav` } });
    const e = (await got) as EventOf<'audio.normalized'>;
    expect(e.type).toBe('audio.normalized');
    expect(e.id).toBe(`audio.normalized:${jobId}`);
    expect(e.data.key).toBe(storyKeys.voice(jobId));
    expect(e.data.durationSec).toBeGreaterThan(5);
    expect(Math.abs((e.data.integratedLufs ?? NaN) - -16)).toBeLessThanOrEqual(1);
  });

  it('fails the job (step normalize) when the story audio is not audio', async () => {
    const jobId = `story-bus-bad-${process.pid}`;
    await blobs.put(`uploads/${jobId}/story.m4a`, 'definitely not audio\n'.repeat(30));
    const got = nextEvent(jobId, ['audio.normalized', 'job.failed']);
    await bus.publish('story.received', jobId, { audio: { key: `uploads/${jobId}/story.m4a` } });
    const e = (await got) as EventOf<'job.failed'>;
    expect(e.type).toBe('job.failed');
    expect(e.data).toMatchObject({ step: 'normalize', permanent: true });
    expect(e.data.reason).toMatch(/^the story audio is not an audio file \(ffprobe: /);
  });
});
