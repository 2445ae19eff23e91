import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsBlobStore, SAMPLE_TRACKS, silentLogger } from '@reelbus/kit';
import { DEFAULT_LOGO_KEY } from './brand.ts';
import { SEEDING_MUSIC_MESSAGE, storyAssetSeeder } from './seed.ts';

describe('storyAssetSeeder (real ffmpeg, a small library)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'story-seed-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('seeds once, tells every story that waits for the music library, and nobody after', async () => {
    const blobs = new FsBlobStore({ root: dir });
    const assetsReady = storyAssetSeeder({
      blobs,
      logger: silentLogger(),
      seedMusic: true,
      library: { tracks: SAMPLE_TRACKS.filter((t) => t.mood === 'family'), variants: [5] },
    });
    const heard: string[] = [];
    const first = assetsReady((m) => heard.push(`first: ${m}`));
    const second = assetsReady((m) => heard.push(`second: ${m}`));
    expect(second).toBe(first);
    await Promise.all([first, second]);
    expect(heard.sort()).toEqual([`first: ${SEEDING_MUSIC_MESSAGE}`, `second: ${SEEDING_MUSIC_MESSAGE}`]);
    expect((await blobs.list('music/family/')).map((b) => b.key).sort()).toEqual([
      'music/family/Porch-Light/Porch-Light-5s.mp3',
      'music/family/Sunday-Table/Sunday-Table-5s.mp3',
    ]);
    expect(await blobs.stat(DEFAULT_LOGO_KEY)).toBeTruthy();

    await assetsReady((m) => heard.push(`later: ${m}`));
    expect(heard).toHaveLength(2);
  });

  it('says nothing when the library is already there', async () => {
    const assetsReady = storyAssetSeeder({
      blobs: new FsBlobStore({ root: dir }),
      logger: silentLogger(),
      seedMusic: true,
    });
    const heard: string[] = [];
    await assetsReady((m) => heard.push(m));
    expect(heard).toEqual([]);
  });
});
