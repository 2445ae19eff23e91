import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../blob/fs.ts';
import { probe } from '../ffmpeg/probe.ts';
import { volumeStats } from '../testing/media.ts';
import { chooseMusic } from './library.ts';
import {
  SAMPLE_RATE,
  SAMPLE_TRACKS,
  baseLoopSeconds,
  loopFrequency,
  renderSampleLoop,
  sampleLibraryArgs,
  seedSampleLibrary,
  wavFile,
} from './seed.ts';

describe('seedSampleLibrary (real ffmpeg)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'music-seed-'));
  const blobs = new FsBlobStore({ root: dir });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // One mood, short variants: the same code path as the full library, a fraction of the encode time.
  const tracks = SAMPLE_TRACKS.filter((t) => t.mood === 'family');

  it('writes each track in the reference layout as MP3s of the named lengths, audible and not clipping', async () => {
    const result = await seedSampleLibrary({ blobs, tracks, variants: [10, 20] });
    expect(result.seeded).toBe(true);
    expect(result.keys).toEqual([
      'music/family/Porch-Light/Porch-Light-10s.mp3',
      'music/family/Porch-Light/Porch-Light-20s.mp3',
      'music/family/Sunday-Table/Sunday-Table-10s.mp3',
      'music/family/Sunday-Table/Sunday-Table-20s.mp3',
    ]);
    for (const [key, seconds] of [
      ['music/family/Porch-Light/Porch-Light-20s.mp3', 20],
      ['music/family/Sunday-Table/Sunday-Table-10s.mp3', 10],
    ] as const) {
      const info = await probe(blobs.localPath(key));
      expect(info.audio).toMatchObject({ codec: 'mp3', sampleRate: SAMPLE_RATE, channels: 1 });
      expect(info.durationSec, key).toBeGreaterThan(seconds - 0.1);
      expect(info.durationSec, key).toBeLessThan(seconds + 0.2);
    }
    // About -16 LUFS (the speech target): an RMS near -17 dB, peaks well under full scale.
    const { meanDb, maxDb } = volumeStats({
      file: blobs.localPath('music/family/Porch-Light/Porch-Light-20s.mp3'),
    });
    expect(meanDb).toBeGreaterThan(-19);
    expect(meanDb).toBeLessThan(-14);
    expect(maxDb).toBeLessThan(-1);

    const choice = await chooseMusic({ blobs, mood: 'family', durationSec: 15, seed: 'job_1' });
    expect(choice).toMatchObject({ variantSec: 20, loop: false });
  });

  it('leaves a library that has music alone', async () => {
    expect(await seedSampleLibrary({ blobs, tracks, variants: [10] })).toEqual({ seeded: false, keys: [] });
  });
});

describe('the sample loop (pure)', () => {
  const spec = SAMPLE_TRACKS.find((t) => t.name === 'Sunday-Table')!;

  it('builds every variant from one loop that divides them all', () => {
    expect(baseLoopSeconds([30, 60, 240])).toBe(30);
    expect(baseLoopSeconds([10, 25])).toBe(5);
  });

  it('tunes every note to whole cycles per loop, within a few cents of the true pitch', () => {
    const a4 = loopFrequency({ semitones: 9, loopSec: 30 });
    expect(a4 * 30).toBe(Math.round(a4 * 30));
    expect(Math.abs(1200 * Math.log2(a4 / 440))).toBeLessThan(1);
  });

  it('joins its end to its start without a click, at an even level, and never clips', () => {
    const loop = renderSampleLoop({ spec, loopSec: 10, sampleRate: 8000 });
    expect(loop.length).toBe(80_000);
    // The step from the last sample back to the first is no bigger than steps inside the loop.
    let maxStep = 0;
    for (let i = 1; i < loop.length; i++) maxStep = Math.max(maxStep, Math.abs(loop[i]! - loop[i - 1]!));
    expect(Math.abs(loop[0]! - loop[loop.length - 1]!)).toBeLessThanOrEqual(maxStep);
    expect(loop[0]).toBe(0); // every voice is a sine at phase 0
    // RMS per chord stays within 3 dB of the whole loop's (the equal-power morph keeps the level even).
    const rms = (a: Int16Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
    const whole = rms(loop);
    const quarter = loop.length / 4;
    for (let c = 0; c < 4; c++) {
      const part = rms(loop.subarray(c * quarter, (c + 1) * quarter));
      expect(Math.abs(20 * Math.log10(part / whole))).toBeLessThan(3);
    }
    expect(Math.max(...loop.map(Math.abs))).toBeLessThan(32767);
  });

  it('writes a canonical PCM WAV header', () => {
    const wav = wavFile({ samples: new Int16Array([0, 1, -1]), sampleRate: 22050 });
    expect(wav.length).toBe(50);
    expect(wav.toString('ascii', 0, 4)).toBe('RIFF');
    expect(wav.readUInt32LE(4)).toBe(42);
    expect(wav.toString('ascii', 8, 16)).toBe('WAVEfmt ');
    expect([wav.readUInt16LE(20), wav.readUInt16LE(22), wav.readUInt32LE(24), wav.readUInt16LE(34)]).toEqual([
      1, 1, 22050, 16,
    ]);
    expect(wav.readUInt32LE(40)).toBe(6);
    expect(wav.readInt16LE(46)).toBe(1);
    expect(wav.readInt16LE(48)).toBe(-1);
  });

  it('encodes every variant of several tracks in one ffmpeg run, each from its loop repeated', () => {
    const codec = ['-c:a', 'libmp3lame', '-b:a', '64k', '-compression_level', '9'];
    expect(
      sampleLibraryArgs({
        tracks: [
          {
            baseFile: '/t/a.wav',
            outputs: [
              { seconds: 30, file: '/t/a-30s.mp3' },
              { seconds: 240, file: '/t/a-240s.mp3' },
            ],
          },
          { baseFile: '/t/b.wav', outputs: [{ seconds: 20, file: '/t/b-20s.mp3' }] },
        ],
      }),
    ).toEqual([
      ...['-stream_loop', '7', '-i', '/t/a.wav'],
      ...['-stream_loop', '0', '-i', '/t/b.wav'],
      ...['-map', '0:a', '-t', '30', ...codec, '/t/a-30s.mp3'],
      ...['-map', '0:a', '-t', '240', ...codec, '/t/a-240s.mp3'],
      ...['-map', '1:a', '-t', '20', ...codec, '/t/b-20s.mp3'],
    ]);
  });
});
