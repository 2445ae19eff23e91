import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImage } from '@reelbus/kit/testing';
import {
  convertImage,
  heicSupported,
  inputOptions,
  isHeicHead,
  planResize,
  TARGET,
  DEFAULT_CONVERT_SETTINGS,
} from './convert.ts';
import { makeHalfTransparentPng, makeSidewaysJpeg, near, pixelAt } from './test-support.ts';

const exec = promisify(execFile);
const serviceDir = join(dirname(fileURLToPath(import.meta.url)), '..');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelbus-convert-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('planResize', () => {
  it('covers 2304×1296 (1920×1080 with 1.2× headroom) keeping the aspect ratio', () => {
    expect(TARGET).toEqual({ width: 2304, height: 1296 });
    expect(planResize({ width: 4000, height: 3000 })).toEqual({
      resize: { width: 2304, height: 1728 },
      width: 2304,
      height: 1728,
    });
    expect(planResize({ width: 1920, height: 1080 })).toEqual({
      resize: { width: 2304, height: 1296 },
      width: 2304,
      height: 1296,
    });
  });

  it('scales a small image up so it still covers the frame', () => {
    expect(planResize({ width: 320, height: 240 })).toMatchObject({ width: 2304, height: 1728 });
  });

  it('centre-crops a panorama to the longest side kept', () => {
    expect(planResize({ width: 12000, height: 1000 })).toEqual({
      resize: { width: 15552, height: 1296 },
      crop: { left: 5728, top: 0, width: 4096, height: 1296 },
      width: 4096,
      height: 1296,
    });
  });
});

describe('sharp options', () => {
  it('opens inputs sequentially with a pixel limit and fails on undecodable data', () => {
    expect(inputOptions({ settings: DEFAULT_CONVERT_SETTINGS })).toEqual({
      limitInputPixels: 100_000_000,
      sequentialRead: true,
      failOn: 'error',
    });
  });

  it('recognises HEIC by its ftyp brand, not AVIF', () => {
    const head = (brand: string) => Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from(`ftyp${brand}`)]);
    expect(isHeicHead(head('heic'))).toBe(true);
    expect(isHeicHead(head('heix'))).toBe(true);
    expect(isHeicHead(head('avif'))).toBe(false);
    expect(isHeicHead(Buffer.from('\xff\xd8\xff\xe0 JFIF', 'latin1'))).toBe(false);
    // the prebuilt sharp decodes AVIF only; report what this machine has
    console.log(`HEIC decoding available in this sharp build: ${heicSupported()}`);
  });
});

describe('convertImage', () => {
  it('turns an EXIF-rotated JPEG upright', async () => {
    const input = await makeSidewaysJpeg({ file: join(dir, 'sideways.jpg'), width: 640, height: 480 });
    const output = join(dir, 'upright.jpg');
    const r = await convertImage({ input, output });
    // stored 640×480 landscape → shown 480×640 portrait → covers 2304 wide
    expect(r).toMatchObject({ width: 2304, height: 3072, inputFormat: 'jpeg' });
    const meta = await sharp(output).metadata();
    expect([meta.width, meta.height, meta.orientation ?? 1]).toEqual([2304, 3072, 1]);
    // the red marker stored top-left is displayed top-right after a 90° clockwise turn
    expect(near(await pixelAt({ file: output, x: 2304 - 40, y: 40 }), [255, 0, 0])).toBe(true);
    expect(near(await pixelAt({ file: output, x: 40, y: 40 }), [32, 64, 255])).toBe(true);
    expect(near(await pixelAt({ file: output, x: 40, y: 3072 - 40 }), [32, 64, 255])).toBe(true);
  });

  it('flattens PNG transparency onto the brand background', async () => {
    const input = await makeHalfTransparentPng({ file: join(dir, 'alpha.png') });
    const output = join(dir, 'alpha.jpg');
    const r = await convertImage({
      input,
      output,
      settings: { ...DEFAULT_CONVERT_SETTINGS, background: '#f3e9dc' },
    });
    expect(r.inputFormat).toBe('png');
    const meta = await sharp(output).metadata();
    expect(meta).toMatchObject({ format: 'jpeg', channels: 3, hasAlpha: false });
    expect(near(await pixelAt({ file: output, x: 100, y: r.height / 2 }), [0xf3, 0xe9, 0xdc])).toBe(true);
    expect(near(await pixelAt({ file: output, x: r.width - 100, y: r.height / 2 }), [0, 200, 0])).toBe(true);
  });

  it('converts a WebP', async () => {
    const input = await makeImage({ file: join(dir, 'in.webp'), width: 800, height: 450 });
    const output = join(dir, 'webp.jpg');
    const r = await convertImage({ input, output });
    expect(r).toMatchObject({ width: 2304, height: 1296, inputFormat: 'webp' });
    expect((await sharp(output).metadata()).format).toBe('jpeg');
  });

  it('rejects a corrupt file with sharp’s reason', async () => {
    const input = join(dir, 'corrupt.jpg');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(
      input,
      Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('garbage'.repeat(50))]),
    );
    await expect(convertImage({ input, output: join(dir, 'corrupt-out.jpg') })).rejects.toThrow();
  });

  it('refuses an image above the pixel limit', async () => {
    const input = await makeImage({ file: join(dir, 'limit.jpg'), width: 3000, height: 2000 });
    await expect(
      convertImage({
        input,
        output: join(dir, 'limit-out.jpg'),
        settings: { ...DEFAULT_CONVERT_SETTINGS, maxInputPixels: 5_000_000 },
      }),
    ).rejects.toThrow(/pixel limit/);
  });

  it('converts a 50 MP photo with bounded memory (peak RSS well under the decoded size)', async () => {
    const width = 8660;
    const height = 5774; // 50.0 MP
    const input = await makeImage({ file: join(dir, 'huge.jpg'), width, height });
    const output = join(dir, 'huge-out.jpg');
    // a fresh process, so the peak RSS is this conversion's and not the test runner's
    const script = `
      import { convertImage, configureSharpForService } from './src/convert.ts';
      configureSharpForService();
      const before = process.memoryUsage().rss;
      const peakBefore = process.resourceUsage().maxRSS * 1024;
      let sampled = before;
      const sampler = setInterval(() => { sampled = Math.max(sampled, process.memoryUsage().rss); }, 2);
      const started = Date.now();
      const r = await convertImage({ input: ${JSON.stringify(input)}, output: ${JSON.stringify(output)} });
      clearInterval(sampler);
      const peakAfter = process.resourceUsage().maxRSS * 1024;
      // The lifetime peak is the conversion's only when the conversion raised it: loading the modules
      // (tsx transforming them on a cold cache, as in a fresh clone) can peak higher than the conversion.
      const peak = peakAfter > peakBefore ? peakAfter : sampled;
      console.log(JSON.stringify({ before, peak, ms: Date.now() - started, ...r }));`;
    const { stdout } = await exec(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: serviceDir },
    );
    const m = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      before: number;
      peak: number;
      ms: number;
      width: number;
      height: number;
    };
    const deltaMb = (m.peak - m.before) / 2 ** 20;
    const decodedMb = (width * height * 3) / 2 ** 20;
    console.log(
      `50 MP JPEG (${width}×${height}) → ${m.width}×${m.height} in ${m.ms} ms; peak RSS ${(m.peak / 2 ** 20).toFixed(0)} MB, ` +
        `+${deltaMb.toFixed(0)} MB over the idle process (fully decoded RGB would be ${decodedMb.toFixed(0)} MB)`,
    );
    expect([m.width, m.height]).toEqual([2304, 1536]);
    expect(deltaMb).toBeLessThan(decodedMb);
  });
});
