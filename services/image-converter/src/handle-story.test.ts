import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventOf } from '@reelbus/contracts';
import { FsBlobStore } from '@reelbus/kit';
import { freePort, makeImage } from '@reelbus/kit/testing';
import { handleStoryImages, keys, mapBounded, type ImageConverterSettings } from './handle-story.ts';
import {
  makeHalfTransparentPng,
  makeSidewaysJpeg,
  near,
  pixelAt,
  recordingContext,
  storyReceived,
} from './test-support.ts';

let dir: string;
let blobs: FsBlobStore;
let server: Server;
let base: string;
const files = new Map<string, string>();

const settings = (over: Partial<ImageConverterSettings['fetch']> = {}): ImageConverterSettings => ({
  fetch: { allowPrivate: true, timeoutMs: 3000, maxBytes: 20 * 1024 * 1024, ...over },
  maxInputPixels: 100_000_000,
  quality: 85,
  concurrency: 4,
  tmpDir: dir,
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelbus-images-'));
  blobs = new FsBlobStore({ root: join(dir, 'blobs') });
  files.set('/alpha.png', await makeHalfTransparentPng({ file: join(dir, 'alpha.png') }));
  files.set('/photo.webp', await makeImage({ file: join(dir, 'photo.webp'), width: 640, height: 360 }));
  server = createServer(async (req, res) => {
    const file = files.get(req.url ?? '');
    if (!file) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(await readFile(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

async function putFile(key: string, file: string): Promise<string> {
  await blobs.put(key, await readFile(file));
  return key;
}

describe('handleStoryImages', () => {
  it('converts the user photo first and every image in order, skipping the unusable ones with a warning', async () => {
    const jobId = 'story-mixed';
    const photoKey = await putFile(
      `uploads/${jobId}/photo.jpg`,
      await makeSidewaysJpeg({ file: join(dir, 'sideways.jpg') }),
    );
    const corruptKey = `uploads/${jobId}/corrupt.jpg`;
    await blobs.put(
      corruptKey,
      Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.from('not really a jpeg'.repeat(20))]),
    );
    const closedPort = await freePort();
    const event = storyReceived({
      jobId,
      data: {
        audio: { key: `uploads/${jobId}/story.wav` },
        userPhoto: { key: photoKey },
        images: [
          { url: `${base}/alpha.png` },
          { key: corruptKey },
          { url: `http://127.0.0.1:${closedPort}/gone.jpg` },
          { url: `${base}/photo.webp` },
          { url: `${base}/missing.jpg` },
          { key: `uploads/${jobId}/never-uploaded.jpg` },
        ],
        brand: { background: '#f3e9dc' },
      },
    });
    const rec = recordingContext();
    expect(await handleStoryImages({ event, ctx: rec.ctx, blobs, settings: settings() })).toEqual({
      outcome: 'ok',
    });

    const out = rec.published.find((e) => e.type === 'images.converted') as EventOf<'images.converted'>;
    expect(out.id).toBe(`images.converted:${jobId}`);
    expect(out.data.usedFallback).toBe(false);
    expect(out.data.images).toEqual([
      { key: keys.image(jobId, 0), width: 2304, height: 3072, origin: 'userPhoto' },
      { key: keys.image(jobId, 1), width: 2304, height: 1728, origin: 'images[0]' },
      { key: keys.image(jobId, 4), width: 2304, height: 1296, origin: 'images[3]' },
    ]);
    expect(out.data.skipped.map((s) => s.origin)).toEqual([
      'images[1]',
      'images[2]',
      'images[4]',
      'images[5]',
    ]);
    const reason = (origin: string) => out.data.skipped.find((s) => s.origin === origin)?.reason;
    expect(reason('images[1]')).toMatch(/^not a decodable image \(/);
    expect(reason('images[2]')).toMatch(
      new RegExp(
        `^download failed: http://127.0.0.1:${closedPort}/gone.jpg: request failed \\(ECONNREFUSED\\)`,
      ),
    );
    expect(reason('images[4]')).toBe(`${base}/missing.jpg answered HTTP 404 Not Found`);
    expect(reason('images[5]')).toBe(`not found in blob storage (key uploads/${jobId}/never-uploaded.jpg)`);
    // one job.warning per skipped image, naming it
    expect(rec.warnings.map((w) => w.step)).toEqual(['images', 'images', 'images', 'images']);
    expect(rec.warnings.map((w) => w.message).sort()).toEqual(
      out.data.skipped.map((s) => expect.stringContaining(`${s.origin} (`)).sort(),
    );

    // the files really are upright JPEGs; the PNG's transparency became the brand background
    const photo = blobs.localPath(keys.image(jobId, 0))!;
    expect(near(await pixelAt({ file: photo, x: 2304 - 40, y: 40 }), [255, 0, 0])).toBe(true);
    const png = blobs.localPath(keys.image(jobId, 1))!;
    expect((await sharp(png).metadata()).format).toBe('jpeg');
    expect(near(await pixelAt({ file: png, x: 50, y: 800 }), [0xf3, 0xe9, 0xdc])).toBe(true);
  });

  it('refuses a private-address URL when private URLs are not allowed, and falls back when nothing is left', async () => {
    const jobId = 'story-ssrf';
    const event = storyReceived({
      jobId,
      data: {
        audio: { key: `uploads/${jobId}/story.wav` },
        images: [
          { url: 'https://169.254.169.254/latest/meta-data/iam' },
          { url: 'https://10.0.0.5/internal.jpg' },
          { url: `${base}/photo.webp` },
        ],
      },
    });
    const rec = recordingContext();
    await handleStoryImages({ event, ctx: rec.ctx, blobs, settings: settings({ allowPrivate: false }) });
    const out = rec.published[0] as EventOf<'images.converted'>;
    expect(out.data).toEqual({
      images: [],
      usedFallback: true,
      skipped: [
        {
          origin: 'images[0]',
          reason:
            'download failed: https://169.254.169.254/latest/meta-data/iam: refused: 169.254.169.254 is a link-local address',
        },
        {
          origin: 'images[1]',
          reason: 'download failed: https://10.0.0.5/internal.jpg: refused: 10.0.0.5 is a private address',
        },
        {
          origin: 'images[2]',
          reason: `download failed: ${base}/photo.webp: refused: only https URLs are allowed (got http)`,
        },
      ],
    });
    expect(rec.warnings.at(-1)?.message).toBe(
      'none of the 3 images could be used; the video shows the brand instead',
    );
  });

  it('skips an HEIC image with a reason saying this build cannot decode it', async () => {
    const jobId = 'story-heic';
    const heic = join(dir, 'photo.heic');
    // an ISO-BMFF header with the HEVC brand is enough to route the file
    await writeFile(
      heic,
      Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypheic\0\0\0\0mif1heic'), Buffer.alloc(64)]),
    );
    const key = await putFile(`uploads/${jobId}/photo.heic`, heic);
    const rec = recordingContext();
    await handleStoryImages({
      event: storyReceived({ jobId, data: { audio: { key: 'a.wav' }, userPhoto: { key } } }),
      ctx: rec.ctx,
      blobs,
      settings: settings(),
    });
    const out = rec.published[0] as EventOf<'images.converted'>;
    const reason = out.data.skipped[0]?.reason ?? '';
    if (sharp.format.heif.input.fileSuffix?.includes('.heic')) {
      expect(reason).toMatch(/not a decodable image/); // a build with HEVC tries (our bytes are not a real picture)
    } else {
      expect(reason).toMatch(/^HEIC images cannot be decoded by this server/);
    }
    expect(out.data.usedFallback).toBe(true);
  });

  it('publishes an empty list with the fallback flag for a story without images', async () => {
    const rec = recordingContext();
    await handleStoryImages({
      event: storyReceived({ jobId: 'story-none', data: { audio: { key: 'a.wav' } } }),
      ctx: rec.ctx,
      blobs,
      settings: settings(),
    });
    expect((rec.published[0] as EventOf<'images.converted'>).data).toEqual({
      images: [],
      skipped: [],
      usedFallback: true,
    });
    expect(rec.warnings).toEqual([]);
  });
});

describe('mapBounded', () => {
  it('never runs more than the limit at once and keeps the input order', async () => {
    let running = 0;
    let most = 0;
    const result = mapBounded([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      running++;
      most = Math.max(most, running);
      await new Promise<void>((resolve) => setImmediate(resolve)); // yield: the others get to start
      running--;
      return n * 10;
    });
    expect(await result).toEqual([10, 20, 30, 40, 50, 60, 70]);
    expect(most).toBe(3);
  });
});
