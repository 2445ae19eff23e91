// The HLS ladder of a real MP4: parsed with hls-parser, every segment present and decodable,
// durations adding up, keyframes on the same times in every rendition.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import HLS from 'hls-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '@reelbus/kit';
import { makeClip } from '../merge/testing.ts';
import { packageHls } from './package.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'reelbus-hls-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('packageHls', () => {
  it('writes a 3-rendition fMP4 ladder whose playlists parse, whose segments decode and add up to the video', async () => {
    const input = makeClip({ file: join(dir, 'final.mp4'), seconds: 9, width: 854, height: 480, fps: 30 });
    const blobs = new FsBlobStore({ root: join(dir, 'blobs') });
    const out = await packageHls({ input, jobId: 'job_h', blobs, tmpDir: join(dir, 'tmp') });
    expect(out).toMatchObject({
      key: 'jobs/job_h/hls/master.m3u8',
      contentType: 'application/vnd.apple.mpegurl',
      width: 854,
      height: 480,
    });
    expect(out.durationSec).toBeCloseTo(9, 1);

    const read = (key: string) => readFileSync(blobs.localPath(key)!);
    const master = HLS.parse(read(out.key).toString('utf8')) as HLS.types.MasterPlaylist;
    expect(master.isMasterPlaylist).toBe(true);
    expect(master.variants.map((v) => `${v.resolution?.width}x${v.resolution?.height}`)).toEqual([
      '854x480',
      '640x360',
      '428x240',
    ]);
    for (const v of master.variants) {
      expect(v.bandwidth).toBeGreaterThan(0);
      expect(v.codecs).toMatch(/^avc1\.64[0-9a-f]{4},mp4a\.40\.2$/);
    }
    const boundaries: number[][] = [];
    for (const v of master.variants) {
      const base = `jobs/job_h/hls/${v.uri.replace(/index\.m3u8$/, '')}`;
      const media = HLS.parse(read(`jobs/job_h/hls/${v.uri}`).toString('utf8')) as HLS.types.MediaPlaylist;
      expect(media.playlistType).toBe('VOD');
      expect(media.targetDuration).toBe(4);
      const total = media.segments.reduce((s, seg) => s + seg.duration, 0);
      expect(Math.abs(total - 9)).toBeLessThanOrEqual(1 / 30);
      let t = 0;
      boundaries.push(media.segments.map((seg) => (t += seg.duration) - seg.duration));
      const init = read(`${base}${media.segments[0]!.map!.uri}`);
      for (const seg of media.segments) {
        // init + segment is a playable fragment: decodes without an error, starts on a keyframe.
        const file = join(dir, `check.mp4`);
        writeFileSync(file, Buffer.concat([init, read(`${base}${seg.uri}`)]));
        execFileSync('ffmpeg', ['-v', 'error', '-xerror', '-i', file, '-f', 'null', '-']);
        const first = execFileSync(
          'ffprobe',
          [
            '-v',
            'error',
            '-select_streams',
            'v:0',
            '-show_entries',
            'packet=flags',
            '-read_intervals',
            '%+#1',
            '-of',
            'csv=p=0',
            file,
          ],
          { encoding: 'utf8' },
        );
        expect(first.trim().startsWith('K')).toBe(true);
      }
    }
    // Segment boundaries (keyframes) fall at the same times in every rendition.
    expect(new Set(boundaries.map((b) => JSON.stringify(b))).size).toBe(1);
    expect(boundaries[0]).toEqual([0, 4, 8]);
  }, 240_000);
});
