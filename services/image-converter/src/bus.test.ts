// The image-converter behind the real kit Bus on a real nats-server, wired as main.ts wires it:
// story.received in, images.converted (and job.warning for a skipped image) out.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventOf, EventType } from '@reelbus/contracts';
import { Bus, FsBlobStore, type Consumer } from '@reelbus/kit';
import { makeImage, randomNamespace, startNatsServer, type NatsServerHandle } from '@reelbus/kit/testing';
import { configureSharpForService } from './convert.ts';
import { handleStoryImages, keys, type ImageConverterSettings } from './handle-story.ts';
import { makeSidewaysJpeg } from './test-support.ts';

let dir: string;
let server: NatsServerHandle;
let bus: Bus;
let consumer: Consumer;
let blobs: FsBlobStore;

beforeAll(async () => {
  configureSharpForService();
  dir = await mkdtemp(join(tmpdir(), 'reelbus-images-bus-'));
  server = await startNatsServer();
  bus = await Bus.connect({
    servers: server.url,
    namespace: randomNamespace(),
    name: 'image-converter-test',
  });
  await bus.ensureStreams();
  blobs = new FsBlobStore({ root: join(dir, 'blobs') });
  const settings: ImageConverterSettings = {
    fetch: { allowPrivate: false, timeoutMs: 2000, maxBytes: 10 * 1024 * 1024 },
    maxInputPixels: 100_000_000,
    quality: 85,
    concurrency: 4,
    tmpDir: dir,
  };
  consumer = await bus.consume({
    service: 'image-converter',
    handlers: {
      'story.received': {
        step: 'images',
        handle: (event, ctx) => handleStoryImages({ event, ctx, blobs, settings }),
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

describe('image-converter on the bus', () => {
  it('answers story.received with images.converted (user photo first) and a warning for the refused URL', async () => {
    const jobId = `img-bus-${process.pid}`;
    await blobs.put(
      `uploads/${jobId}/me.jpg`,
      await readFile(await makeSidewaysJpeg({ file: join(dir, 'me.jpg') })),
    );
    await blobs.put(
      `uploads/${jobId}/ai-1.png`,
      await readFile(await makeImage({ file: join(dir, 'ai-1.png'), width: 1024, height: 576 })),
    );
    await blobs.put(
      `uploads/${jobId}/ai-2.webp`,
      await readFile(await makeImage({ file: join(dir, 'ai-2.webp'), width: 1024, height: 576 })),
    );

    const seen: EventOf<EventType>[] = [];
    const converted = new Promise<EventOf<'images.converted'>>((resolve) => {
      const w = bus.watchJob(jobId, (e) => {
        seen.push(e);
        if (e.type === 'images.converted') {
          w.stop();
          resolve(e as EventOf<'images.converted'>);
        }
      });
    });
    await bus.publish('story.received', jobId, {
      audio: { key: `uploads/${jobId}/story.wav` },
      userPhoto: { key: `uploads/${jobId}/me.jpg` },
      images: [
        { key: `uploads/${jobId}/ai-1.png` },
        { url: 'https://127.0.0.1/secret.png' },
        { key: `uploads/${jobId}/ai-2.webp` },
      ],
    });
    const e = await converted;
    expect(e.id).toBe(`images.converted:${jobId}`);
    expect(e.data.images.map((i) => [i.origin, i.key])).toEqual([
      ['userPhoto', keys.image(jobId, 0)],
      ['images[0]', keys.image(jobId, 1)],
      ['images[2]', keys.image(jobId, 3)],
    ]);
    expect(e.data.skipped).toEqual([
      {
        origin: 'images[1]',
        reason: 'download failed: https://127.0.0.1/secret.png: refused: 127.0.0.1 is a loopback address',
      },
    ]);
    const warning = seen.find((x) => x.type === 'job.warning') as EventOf<'job.warning'> | undefined;
    expect(warning?.data).toMatchObject({ step: 'images' });
    expect(JSON.stringify(warning?.data)).toContain('images[1] (https://127.0.0.1/secret.png) was skipped');
    for (const img of e.data.images) expect((await blobs.stat(img.key))?.size).toBeGreaterThan(10_000);
  });
});
