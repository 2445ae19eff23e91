import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../blob/fs.ts';
import {
  chooseMusic,
  listTracks,
  musicVariantKey,
  parseMusicKey,
  pickMusic,
  seedIndex,
  type MusicTrack,
} from './library.ts';

const track = (name: string, seconds = [30, 60, 240]): MusicTrack => ({
  mood: 'family',
  name,
  variants: seconds.map((s) => ({
    seconds: s,
    key: musicVariantKey({ mood: 'family', track: name, seconds: s }),
  })),
});
const tracks = [track('Easy-Day'), track('Porch-Light'), track('Yard-Sale')];

describe('pickMusic', () => {
  it('takes the shortest variant at least as long as the video', () => {
    expect(pickMusic({ tracks, durationSec: 25, seed: 'job_a' })).toMatchObject({
      variantSec: 30,
      loop: false,
    });
    expect(pickMusic({ tracks, durationSec: 30, seed: 'job_a' })).toMatchObject({
      variantSec: 30,
      loop: false,
    });
    expect(pickMusic({ tracks, durationSec: 30.5, seed: 'job_a' })).toMatchObject({
      variantSec: 60,
      loop: false,
    });
    expect(pickMusic({ tracks, durationSec: 125, seed: 'job_a' })).toMatchObject({
      variantSec: 240,
      loop: false,
    });
  });

  it('loops the longest variant when every variant is shorter than the video', () => {
    const c = pickMusic({ tracks, durationSec: 600, seed: 'job_a' })!;
    expect(c).toMatchObject({ variantSec: 240, loop: true });
    expect(c.key).toBe(musicVariantKey({ mood: 'family', track: c.track, seconds: 240 }));
  });

  it('gives one story the same track every time, and spreads stories over the tracks', () => {
    const picks = Array.from(
      { length: 60 },
      (_, i) => pickMusic({ tracks, durationSec: 40, seed: `job_${i}` })!.track,
    );
    const again = Array.from(
      { length: 60 },
      (_, i) => pickMusic({ tracks, durationSec: 40, seed: `job_${i}` })!.track,
    );
    expect(again).toEqual(picks);
    expect(new Set(picks)).toEqual(new Set(['Easy-Day', 'Porch-Light', 'Yard-Sale']));
    // The same seed keeps its track whatever the length of the video.
    expect(pickMusic({ tracks, durationSec: 500, seed: 'job_7' })!.track).toBe(picks[7]);
  });

  it('has no music without tracks', () => {
    expect(pickMusic({ tracks: [], durationSec: 10, seed: 'x' })).toBeUndefined();
  });

  it('seedIndex stays in range', () => {
    for (const n of [1, 2, 7]) expect(seedIndex({ seed: 'abc', n })).toBeLessThan(n);
  });
});

describe('the library layout in blob storage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'music-lib-'));
  const blobs = new FsBlobStore({ root: dir });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads music/<mood>/<Track>/<Track>-<N>s.mp3 and ignores anything else', async () => {
    for (const key of [
      'music/nostalgic/Yard-Sale/Yard-Sale-240s.mp3',
      'music/nostalgic/Yard-Sale/Yard-Sale-30s.mp3',
      'music/nostalgic/Yard-Sale/Yard-Sale-60s.mp3',
      'music/nostalgic/Old-Photographs/Old-Photographs-60s.mp3',
      'music/nostalgic/Old-Photographs/cover.jpg',
      'music/nostalgic/Old-Photographs/Other-30s.mp3',
      'music/family/Porch-Light/Porch-Light-30s.mp3',
    ])
      await blobs.put(key, 'x');
    const found = await listTracks({ blobs, mood: 'nostalgic' });
    expect(found.map((t) => [t.name, t.variants.map((v) => v.seconds)])).toEqual([
      ['Old-Photographs', [60]],
      ['Yard-Sale', [30, 60, 240]],
    ]);
    expect(parseMusicKey('music/family/Easy-Day/Easy-Day-60s.mp3')).toEqual({
      mood: 'family',
      track: 'Easy-Day',
      seconds: 60,
    });
    expect(parseMusicKey('music/family/Easy-Day/Other-60s.mp3')).toBeUndefined();
  });

  it('chooses nothing for mood none or an empty mood', async () => {
    expect(await chooseMusic({ blobs, mood: 'none', durationSec: 10, seed: 'j' })).toBeUndefined();
    expect(await chooseMusic({ blobs, mood: 'reflective', durationSec: 10, seed: 'j' })).toBeUndefined();
    expect(await chooseMusic({ blobs, mood: 'nostalgic', durationSec: 45, seed: 'j' })).toMatchObject({
      mood: 'nostalgic',
      loop: false,
    });
  });
});
