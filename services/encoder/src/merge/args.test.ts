import { describe, expect, it } from 'vitest';
import { concatList, extractAudioArgs, fitVideoFilter, joinArgs, normaliseArgs, seconds } from './args.ts';
import type { VideoTarget } from './compare.ts';
import type { ClipProbe } from './probe.ts';

const video: VideoTarget = {
  width: 1280,
  height: 720,
  frameRate: '30/1',
  timescale: 15360,
  profile: 'high',
  color: { primaries: 'bt709', transfer: 'bt709', space: 'bt709', range: 'tv' },
};

describe('merge ffmpeg arguments', () => {
  it('writes seconds without exponents or trailing zeros', () => {
    expect([seconds(8), seconds(2.5), seconds(1 / 48), seconds(0)]).toEqual(['8', '2.5', '0.020833', '0']);
  });

  it('lists each clip with its exact picture duration and quotes odd paths', () => {
    expect(
      concatList([
        { file: '/tmp/a.mp4', durationSec: 8 },
        { file: "/tmp/it's.mp4", durationSec: 2.04, inpointSec: 0.04 },
      ]),
    ).toBe(
      "ffconcat version 1.0\nfile '/tmp/a.mp4'\nduration 8\nfile '/tmp/it'\\''s.mp4'\ninpoint 0.04\nduration 2.04\n",
    );
  });

  it('copies every sound to ADTS in one run', () => {
    expect(
      extractAudioArgs({
        inputs: [
          { file: 'a.mp4', streamIndex: 1, output: 'a.aac' },
          { file: 'b.mp4', streamIndex: 0, output: 'b.aac' },
        ],
      }),
    ).toEqual([
      '-i',
      'a.mp4',
      '-i',
      'b.mp4',
      '-map',
      '0:1',
      '-c',
      'copy',
      '-f',
      'adts',
      'a.aac',
      '-map',
      '1:0',
      '-c',
      'copy',
      '-f',
      'adts',
      'b.aac',
    ]);
  });

  it('joins by copy, keeping the concat timestamps and hiding the first priming before 0, moov first', () => {
    expect(
      joinArgs({ listFile: 'l.ffconcat', audioFile: 'j.aac', prerollSec: 1024 / 48000, output: 'o.mp4' }),
    ).toEqual([
      '-copyts',
      '-f',
      'concat',
      '-safe',
      '0',
      '-i',
      'l.ffconcat',
      '-itsoffset',
      '-0.021333',
      '-f',
      'aac',
      '-i',
      'j.aac',
      '-map',
      '0:v:0',
      '-map',
      '1:a:0',
      '-c',
      'copy',
      '-map_metadata',
      '-1',
      '-map_chapters',
      '-1',
      '-movflags',
      '+faststart',
      '-f',
      'mp4',
      'o.mp4',
    ]);
  });

  it('fits any picture into the target with square pixels, letterbox, rate and colour tags', () => {
    expect(fitVideoFilter(video)).toBe(
      "scale='trunc(iw*sar/2)*2':ih,setsar=1,scale=1280:720:force_original_aspect_ratio=decrease:force_divisible_by=2,pad=1280:720:(ow-iw)/2:(oh-ih)/2:color=black,fps=30/1,format=yuv420p,setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv",
    );
  });

  it('re-encodes a picture with the delivery preset at the target timescale and pads or cuts the sound to the picture', () => {
    const probe = {
      index: 1,
      label: 'clips[1]',
      video: { index: 0, durationSec: 4 },
      audio: { index: 1 },
    } as unknown as ClipProbe;
    const args = normaliseArgs({
      input: 'in.mp4',
      probe,
      plan: { index: 1, label: 'clips[1]', video: 'encode', audio: 'encode', remux: false, reasons: [] },
      video,
      audio: { sampleRate: 48000, channels: 2, channelLayout: 'stereo' },
      output: 'out.mp4',
    });
    expect(args.join(' ')).toContain(
      '-c:v libx264 -profile:v high -pix_fmt yuv420p -preset veryfast -crf 23 -video_track_timescale 15360',
    );
    expect(args.join(' ')).toContain(
      '-map 0:1 -af aresample=48000,apad=whole_dur=4,atrim=end=4 -c:a aac -profile:a aac_low -b:a 128k -ar 48000 -ac 2',
    );
    const copy = normaliseArgs({
      input: 'in.mp4',
      probe,
      plan: { index: 1, label: 'clips[1]', video: 'copy', audio: 'silence', remux: true, reasons: [] },
      video,
      audio: { sampleRate: 48000, channels: 2, channelLayout: 'stereo' },
      output: 'out.mp4',
    });
    expect(copy).toEqual([
      '-i',
      'in.mp4',
      '-map',
      '0:0',
      '-c:v',
      'copy',
      '-video_track_timescale',
      '15360',
      '-an',
      '-sn',
      '-dn',
      '-map_metadata',
      '-1',
      '-f',
      'mp4',
      'out.mp4',
    ]);
  });
});
