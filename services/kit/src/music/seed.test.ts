import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../blob/fs.ts';
import { probe } from '../ffmpeg/probe.ts';
import { volumeStats } from '../testing/media.ts';
import { chooseMusic } from './library.ts';
import { SAMPLE_TRACKS, baseLoopSeconds, sampleTrackExpression, seedSampleLibrary } from './seed.ts';

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
    const file = blobs.localPath('music/family/Porch-Light/Porch-Light-20s.mp3');
    const info = await probe(file);
    expect(info.audio).toMatchObject({ codec: 'mp3', sampleRate: 44100 });
    expect(info.durationSec).toBeGreaterThan(19.9);
    expect(info.durationSec).toBeLessThan(20.2);
    // About -16 LUFS (the speech target): an RMS near -15 dB, peaks well under full scale.
    const { meanDb, maxDb } = volumeStats({ file });
    expect(meanDb).toBeGreaterThan(-19);
    expect(meanDb).toBeLessThan(-12);
    expect(maxDb).toBeLessThan(-1);

    const choice = await chooseMusic({ blobs, mood: 'family', durationSec: 15, seed: 'job_1' });
    expect(choice).toMatchObject({ variantSec: 20, loop: false });
  });

  it('leaves a library that has music alone', async () => {
    expect(await seedSampleLibrary({ blobs, tracks, variants: [10] })).toEqual({ seeded: false, keys: [] });
  });

  it('builds every variant from one loop that divides them all', () => {
    expect(baseLoopSeconds([30, 60, 240])).toBe(30);
    expect(baseLoopSeconds([10, 25])).toBe(5);
    // Four chords over a 20 s loop: 5 s each, this one morphing into the next.
    expect(sampleTrackExpression({ spec: tracks[0]!, loopSec: 20, amplitude: 0.5 })).toMatch(
      /^st\(0,mod\(floor\(t\/5\),4\)\);.*0\.5\*\(cos/,
    );
  });
});
