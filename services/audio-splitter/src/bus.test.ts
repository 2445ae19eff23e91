// The splitter behind the real kit Bus on a real nats-server: recording.received in, audio.split
// (or job.failed) out, as the service's main.ts wires it.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventOf, EventType } from '@reelbus/contracts';
import { Bus, FsBlobStore, type Consumer } from '@reelbus/kit';
import {
  makeStereoCall,
  randomNamespace,
  startNatsServer,
  type NatsServerHandle,
} from '@reelbus/kit/testing';
import { handleRecording, keys, type SplitterSettings } from './handle-recording.ts';

let dir: string;
let server: NatsServerHandle;
let bus: Bus;
let consumer: Consumer;
let blobs: FsBlobStore;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelbus-splitter-bus-'));
  server = await startNatsServer();
  bus = await Bus.connect({ servers: server.url, namespace: randomNamespace(), name: 'audio-splitter-test' });
  await bus.ensureStreams();
  blobs = new FsBlobStore({ root: join(dir, 'blobs') });
  const settings: SplitterSettings = {
    download: { timeoutMs: 2000, attempts: 3, backoffMs: 20 },
    silenceThresholdDb: -50,
    tmpDir: dir,
  };
  consumer = await bus.consume({
    service: 'audio-splitter',
    handlers: {
      'recording.received': {
        step: 'split',
        handle: (event, ctx) => handleRecording({ event, ctx, blobs, settings }),
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

/** Resolves with the first event of one of `types` for the job. */
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

describe('audio-splitter on the bus', () => {
  it('answers recording.received with one audio.split naming both channel files', async () => {
    const call = await makeStereoCall({
      dir: join(dir, 'fx'),
      left: 'Caller speaking.',
      right: 'Callee answering.',
      sampleRate: 8000,
    });
    const jobId = `bus-ok-${process.pid}`;
    await blobs.put(keys.input(jobId), await readFile(call.file));
    const got = nextEvent(jobId, ['audio.split', 'job.failed']);
    await bus.publish('recording.received', jobId, {
      source: 'upload',
      recording: { key: keys.input(jobId) },
    });
    const e = (await got) as EventOf<'audio.split'>;
    expect(e.type).toBe('audio.split');
    expect(e.id).toBe(`audio.split:${jobId}`);
    expect(e.data.channels.map((c) => c.key)).toEqual([
      keys.split(jobId, 'caller'),
      keys.split(jobId, 'callee'),
    ]);
    expect((await blobs.stat(keys.split(jobId, 'callee')))?.size).toBeGreaterThan(1000);
  });

  it('fails the job with the user-facing reason when the recording is a text file', async () => {
    const jobId = `bus-bad-${process.pid}`;
    const text = join(dir, 'notes.wav');
    await writeFile(text, 'not audio\n'.repeat(50));
    await blobs.put(keys.input(jobId), await readFile(text));
    const got = nextEvent(jobId, ['audio.split', 'job.failed']);
    await bus.publish('recording.received', jobId, {
      source: 'upload',
      recording: { key: keys.input(jobId) },
    });
    const e = (await got) as EventOf<'job.failed'>;
    expect(e.type).toBe('job.failed');
    expect(e.data).toMatchObject({ step: 'split', permanent: true });
    expect(e.data.reason).toMatch(/^the recording is not an audio file \(ffprobe: /);
  });
});
