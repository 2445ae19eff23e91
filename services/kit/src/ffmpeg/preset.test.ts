import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFaststart, probeFacts } from '../testing/media.ts';
import { aacAudioArgs, deliveryOutputArgs, h264VideoArgs, x264Preset } from './preset.ts';
import { runFfmpeg } from './run.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelbus-preset-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('x264Preset', () => {
  it.each([
    ['ultrafast', 'high', 'superfast'],
    ['ultrafast', 'main', 'superfast'],
    ['ultrafast', 'baseline', 'ultrafast'],
    ['superfast', 'high', 'superfast'],
    ['veryfast', 'high', 'veryfast'],
    ['slow', 'main', 'slow'],
  ] as const)('asked %s for %s, uses %s', (preset, profile, used) => {
    expect(x264Preset({ preset, profile })).toBe(used);
  });
});

describe('delivery preset flags', () => {
  it('writes H.264 High yuv420p at CRF 23 veryfast by default', () => {
    expect(h264VideoArgs({ fps: 25 })).toEqual([
      '-c:v',
      'libx264',
      '-profile:v',
      'high',
      '-pix_fmt',
      'yuv420p',
      '-preset',
      'veryfast',
      '-crf',
      '23',
      '-r',
      '25',
    ]);
  });

  it('uses a target bitrate with a matching max rate and a buffer of twice it instead of CRF', () => {
    const args = h264VideoArgs({ fps: 30, profile: 'main', preset: 'ultrafast', bitrateKbps: 4000, crf: 18 });
    expect(args).toEqual([
      '-c:v',
      'libx264',
      '-profile:v',
      'main',
      '-pix_fmt',
      'yuv420p',
      '-preset',
      'superfast',
      '-b:v',
      '4000k',
      '-maxrate',
      '4000k',
      '-bufsize',
      '8000k',
      '-r',
      '30',
    ]);
  });

  it('lets HLS renditions peak above their bitrate, keeps the input rate without fps, and writes lossless for exactness tests', () => {
    expect(h264VideoArgs({ bitrateKbps: 2800, maxrateFactor: 1.5 })).toEqual([
      '-c:v',
      'libx264',
      '-profile:v',
      'high',
      '-pix_fmt',
      'yuv420p',
      '-preset',
      'veryfast',
      '-b:v',
      '2800k',
      '-maxrate',
      '4200k',
      '-bufsize',
      '5600k',
    ]);
    // lossless: no profile (x264 writes High 4:4:4 Predictive), so ultrafast is not raised either
    expect(h264VideoArgs({ fps: 30, preset: 'ultrafast', lossless: true })).toEqual([
      '-c:v',
      'libx264',
      '-pix_fmt',
      'yuv420p',
      '-preset',
      'ultrafast',
      '-qp',
      '0',
      '-r',
      '30',
    ]);
  });

  it('writes AAC-LC at another rate and channel count when a merge matches its clips', () => {
    expect(aacAudioArgs({ sampleRate: 44100, channels: 1 })).toEqual([
      '-c:a',
      'aac',
      '-profile:a',
      'aac_low',
      '-b:a',
      '128k',
      '-ar',
      '44100',
      '-ac',
      '1',
    ]);
    expect(() => aacAudioArgs({ channels: 0 })).toThrow(
      /audio channels must be a positive whole number \(got 0\)/,
    );
  });

  it('writes AAC-LC 48 kHz stereo at 128 kb/s by default', () => {
    expect(aacAudioArgs()).toEqual([
      '-c:a',
      'aac',
      '-profile:a',
      'aac_low',
      '-b:a',
      '128k',
      '-ar',
      '48000',
      '-ac',
      '2',
    ]);
    expect(aacAudioArgs({ bitrateKbps: 192 })).toContain('192k');
  });

  it('puts video, audio (or -an) and faststart together', () => {
    const args = deliveryOutputArgs({ video: { fps: 25 }, audio: { bitrateKbps: 96 } });
    expect(args.slice(-2)).toEqual(['-movflags', '+faststart']);
    expect(args).toContain('96k');
    const videoOnly = deliveryOutputArgs({ video: { fps: 25 }, audio: false });
    expect(videoOnly).toContain('-an');
    expect(videoOnly).not.toContain('-c:a');
  });

  it.each([
    [{ fps: 0 }, /fps must be a positive number \(got 0\)/],
    [{ fps: 25, crf: 60 }, /crf must be a whole number from 0 to 51 \(got 60\)/],
    [{ fps: 25, bitrateKbps: -5 }, /bitrateKbps must be a positive whole number/],
    [{ fps: 25, preset: 'placebo' as never }, /preset must be one of ultrafast, .* \(got placebo\)/],
    [{ bitrateKbps: 900, maxrateFactor: 0.5 }, /maxrateFactor must be a number ≥ 1 \(got 0.5\)/],
  ])('names the bad setting in %j', (opts, message) => {
    expect(() => h264VideoArgs(opts)).toThrow(message);
  });
});

describe('delivery preset, encoded', () => {
  it('makes a file that plays in iOS Safari: H.264 High yuv420p, AAC-LC 48 kHz stereo, moov first', async () => {
    const out = join(dir, 'delivery.mp4');
    await runFfmpeg({
      step: 'test',
      args: [
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=320x240:rate=30',
        '-f',
        'lavfi',
        '-i',
        'sine=frequency=440:sample_rate=22050',
        '-t',
        '1',
        // ultrafast asked: the preset keeps the High profile all the same
        ...deliveryOutputArgs({ video: { fps: 25, preset: 'ultrafast' } }),
        out,
      ],
    });
    const facts = probeFacts(out);
    expect(facts.video).toMatchObject({ codec: 'h264', profile: 'High', pixFmt: 'yuv420p', fps: 25 });
    expect(facts.audio).toMatchObject({ codec: 'aac', profile: 'LC', sampleRate: 48000, channels: 2 });
    expect(isFaststart(out)).toBe(true);
  }, 60_000);
});
