import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTimelineFile, renderRequestParts } from './render.ts';

describe('renderRequestParts', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'reelbus-render-cli-'));
    mkdirSync(join(dir, 'media'));
    writeFileSync(join(dir, 'media', 'intro clip.mp4'), 'x');
    writeFileSync(join(dir, 'music.m4a'), 'x');
    writeFileSync(join(dir, 'logo'), 'x');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const timeline = (clips: unknown[], audio: unknown[] = []) => ({
    output: { width: 320, height: 240 },
    tracks: [{ clips }],
    audio,
  });

  it('turns { file } sources into uploads (one field per file, named after it) and leaves keys and URLs alone', () => {
    const input = timeline(
      [
        { source: { file: 'media/intro clip.mp4' } },
        { source: { key: 'takes/a.mp4' } },
        { source: { url: 'https://example.com/b.mp4' } },
        { source: { file: `${dir}/media/intro clip.mp4` } },
      ],
      [{ source: { file: 'music.m4a' } }],
    );
    const parts = renderRequestParts({ timeline: input, baseDir: dir });
    expect(parts.uploads).toEqual([
      ['intro_clip.mp4', join(dir, 'media', 'intro clip.mp4')],
      ['music.m4a', join(dir, 'music.m4a')],
    ]);
    const clips = (parts.timeline as ReturnType<typeof timeline>).tracks[0]!.clips;
    expect(clips).toEqual([
      { source: { upload: 'intro_clip.mp4' } },
      { source: { key: 'takes/a.mp4' } },
      { source: { url: 'https://example.com/b.mp4' } },
      { source: { upload: 'intro_clip.mp4' } },
    ]);
    expect((parts.timeline as ReturnType<typeof timeline>).audio).toEqual([
      { source: { upload: 'music.m4a' } },
    ]);
    // The caller's Timeline is not changed.
    expect(input.tracks[0]!.clips[0]).toEqual({ source: { file: 'media/intro clip.mp4' } });
  });

  it('finds { upload } files by --file or beside the Timeline', () => {
    const parts = renderRequestParts({
      timeline: timeline([{ source: { upload: 'intro' } }, { source: { upload: 'logo' } }]),
      baseDir: dir,
      files: { intro: join(dir, 'media', 'intro clip.mp4') },
    });
    expect(parts.uploads).toEqual([
      ['intro', join(dir, 'media', 'intro clip.mp4')],
      ['logo', join(dir, 'logo')],
    ]);
  });

  it('names every source whose file is missing, by JSON path', () => {
    expect(() =>
      renderRequestParts({
        timeline: timeline([{ source: { file: 'nowhere.mp4' } }], [{ source: { upload: 'voice' } }]),
        baseDir: dir,
      }),
    ).toThrow(
      new Error(
        `tracks[0].clips[0].source: the file "nowhere.mp4" does not exist (relative to ${dir})\n` +
          'audio[0].source: no file for the upload "voice": pass --file voice=<path>, or put it beside the Timeline',
      ),
    );
  });
});

describe('readTimelineFile', () => {
  it('says which file is not JSON, or not an object', () => {
    const dir = mkdtempSync(join(tmpdir(), 'reelbus-render-cli-'));
    try {
      writeFileSync(join(dir, 'bad.json'), '{ tracks: ');
      writeFileSync(join(dir, 'list.json'), '[]');
      expect(() => readTimelineFile(join(dir, 'bad.json'))).toThrow(`${join(dir, 'bad.json')} is not JSON`);
      expect(() => readTimelineFile(join(dir, 'list.json'))).toThrow(
        'must hold one JSON object (a Timeline)',
      );
      expect(() => readTimelineFile(join(dir, 'none.json'))).toThrow(
        `cannot read the Timeline file ${join(dir, 'none.json')}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
