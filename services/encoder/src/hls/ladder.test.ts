import HLS from 'hls-parser';
import { describe, expect, it } from 'vitest';
import {
  avc1Codec,
  buildHlsArgs,
  fixTargetDuration,
  hlsLadder,
  masterPlaylist,
  mediaSegments,
} from './ladder.ts';

describe('hlsLadder', () => {
  it.each([
    [1920, 1080, ['1920x1080', '1280x720', '854x480']],
    [1280, 720, ['1280x720', '854x480', '640x360']],
    [1080, 1920, ['608x1080', '406x720', '270x480']],
    [854, 480, ['854x480', '640x360', '428x240']],
    [320, 180, ['320x180']],
  ])('%ix%i → %j', (width, height, expected) => {
    expect(hlsLadder({ width, height }).map((r) => `${r.width}x${r.height}`)).toEqual(expected);
  });
});

describe('HLS commands and playlists', () => {
  it('encodes every rendition with a fixed GOP of one segment and no scene-cut keyframes, fMP4 VOD', () => {
    const args = buildHlsArgs({
      input: 'final.mp4',
      renditions: hlsLadder({ width: 1280, height: 720, max: 2 }),
      dir: '/out',
      fps: 30,
      audio: true,
    });
    expect(args.slice(0, 4)).toEqual([
      '-i',
      'final.mp4',
      '-filter_complex',
      '[0:v]split=2[s0][s1];[s0]scale=1280:720,setsar=1[v0];[s1]scale=854:480,setsar=1[v1]',
    ]);
    const line = args.join(' ');
    expect(line).toContain(
      '-map [v0] -map 0:a:0 -c:a copy -c:v libx264 -profile:v high -pix_fmt yuv420p -preset veryfast -b:v 2800k -maxrate 4200k -bufsize 5600k -g 120 -keyint_min 120 -sc_threshold 0',
    );
    expect(line).toContain(
      '-f hls -hls_time 4 -hls_playlist_type vod -hls_segment_type fmp4 -hls_fmp4_init_filename init.mp4 -hls_segment_filename /out/480p/seg_%03d.m4s -hls_flags independent_segments /out/480p/index.m3u8',
    );
  });

  it('writes a master playlist a well-kept parser reads back with bandwidth, resolution and codecs', () => {
    const text = masterPlaylist([
      {
        uri: '480p/index.m3u8',
        bandwidth: 1_300_000,
        averageBandwidth: 1_100_000,
        width: 854,
        height: 480,
        codecs: 'avc1.64001e,mp4a.40.2',
        frameRate: 30,
      },
      {
        uri: '720p/index.m3u8',
        bandwidth: 3_000_000.4,
        averageBandwidth: 2_600_000,
        width: 1280,
        height: 720,
        codecs: 'avc1.64001f,mp4a.40.2',
        frameRate: 30,
      },
    ]);
    const master = HLS.parse(text) as HLS.types.MasterPlaylist;
    expect(master.isMasterPlaylist).toBe(true);
    expect(
      master.variants.map((v) => [v.uri, v.bandwidth, v.averageBandwidth, v.resolution, v.codecs]),
    ).toEqual([
      ['720p/index.m3u8', 3_000_001, 2_600_000, { width: 1280, height: 720 }, 'avc1.64001f,mp4a.40.2'],
      ['480p/index.m3u8', 1_300_000, 1_100_000, { width: 854, height: 480 }, 'avc1.64001e,mp4a.40.2'],
    ]);
  });

  it('reads the codec string from an avcC record and the segments from a media playlist', () => {
    expect(avc1Codec('0164001fffe1001a6764001f')).toBe('avc1.64001f');
    expect(() => avc1Codec('')).toThrow('not an avcC record');
    expect(
      mediaSegments(
        '#EXTM3U\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:4.000000,\nseg_000.m4s\n#EXTINF:1.5,\nseg_001.m4s\n#EXT-X-ENDLIST\n',
      ),
    ).toEqual([
      { uri: 'seg_000.m4s', durationSec: 4 },
      { uri: 'seg_001.m4s', durationSec: 1.5 },
    ]);
  });
});

describe('fixTargetDuration', () => {
  const playlist = (target: number, ...durations: number[]) =>
    [
      '#EXTM3U',
      '#EXT-X-VERSION:7',
      `#EXT-X-TARGETDURATION:${target}`,
      '#EXT-X-PLAYLIST-TYPE:VOD',
      '#EXT-X-MAP:URI="init.mp4"',
      ...durations.flatMap((d, i) => [`#EXTINF:${d.toFixed(6)},`, `seg_00${i}.m4s`]),
      '#EXT-X-ENDLIST',
      '',
    ].join('\n');

  it('raises a target duration below a rounded EXTINF (ffmpeg wrote 3 for a 3.5 s segment)', () => {
    const fixed = fixTargetDuration(playlist(3, 3.5));
    expect(fixed).toBe(playlist(4, 3.5));
    const before = HLS.getOptions();
    HLS.setOptions({ ...before, strictMode: true });
    try {
      expect(() => HLS.parse(playlist(3, 3.5))).toThrow(/target duration/);
      expect((HLS.parse(fixed) as HLS.types.MediaPlaylist).targetDuration).toBe(4);
    } finally {
      HLS.setOptions(before);
    }
  });

  it('leaves a valid playlist as it is', () => {
    expect(fixTargetDuration(playlist(4, 4, 4, 1))).toBe(playlist(4, 4, 4, 1));
    expect(fixTargetDuration(playlist(4, 3.4))).toBe(playlist(4, 3.4));
  });
});
