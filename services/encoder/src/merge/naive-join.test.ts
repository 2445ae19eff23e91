// Why the comparator exists: ffmpeg's `-f concat -c copy` joins each of these pairs WITHOUT an error
// and writes a broken file. Each case builds a reference clip and a clip that differs in one way,
// joins them naively, shows the breakage with ffprobe/ffmpeg, and checks that compareClips names it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meanVolumeDb } from '../testing.ts';
import { compareClips } from './compare.ts';
import { probeClip } from './probe.ts';
import {
  decodeErrors,
  decodedAudioSeconds,
  durations,
  frameHashes,
  frameValues,
  makeClip,
  naiveJoin,
  stripInBandParameterSets,
} from './testing.ts';

const X264 = (...more: string[]) => [
  '-c:v',
  'libx264',
  '-preset',
  'veryfast',
  '-crf',
  '23',
  '-pix_fmt',
  'yuv420p',
  ...more,
];
const FRAME = 1 / 25;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'reelbus-naive-'));
  makeClip({ file: join(dir, 'ref.mp4') });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The second half of a naive join, as an `avc1` player decodes it, compared with the clip itself. */
function secondHalfDecodesAsItself(joined: string, clip: string): boolean {
  const stripped = stripInBandParameterSets({ file: joined, output: `${joined}.strict.mp4` });
  const own = frameHashes(clip);
  return JSON.stringify(frameHashes(stripped).slice(-own.length)) === JSON.stringify(own);
}

type Case = {
  name: string;
  field: string;
  clip: Parameters<typeof makeClip>[0] extends infer O ? Omit<O & object, 'file'> : never;
  broken: (joined: string, clip: string) => void | Promise<void>;
};

const cases: Case[] = [
  {
    name: 'another video codec (MPEG-4 Part 2)',
    field: 'video.codec',
    clip: { video: ['-c:v', 'mpeg4', '-pix_fmt', 'yuv420p'] },
    broken: (j) => expect(decodeErrors(j, '0:v')).toBeGreaterThan(0),
  },
  {
    name: 'another H.264 profile (Main)',
    field: 'video.profile',
    clip: { video: X264('-profile:v', 'main') },
    broken: (j, c) => expect(secondHalfDecodesAsItself(j, c)).toBe(false),
  },
  {
    name: 'another H.264 level (4.0)',
    field: 'video.level',
    clip: { video: X264('-level', '4.0') },
    // The header declares the first clip's level for the whole file: a decoder set up for level 1.3
    // (its buffers, its bitrate) is fed level 4.0 frames.
    broken: async (j, c) => {
      const [joined, own] = await Promise.all([
        probeClip({ file: j, index: 0, shown: j }),
        probeClip({ file: c, index: 1, shown: c }),
      ]);
      expect(own.video?.level).toBe(40);
      expect(joined.video?.level).toBeLessThan(40);
    },
  },
  {
    name: 'another size (640x480)',
    field: 'video.width',
    clip: { width: 640, height: 480 },
    // the header says 320x240 for the whole file
    broken: (j) =>
      expect(frameValues({ file: j, stream: 'v', entries: 'width,height' })).toEqual(['320,240', '640,480']),
  },
  {
    name: 'another pixel format (yuv444p)',
    field: 'video.pixFmt',
    clip: { video: ['-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv444p'] },
    broken: (j) =>
      expect(frameValues({ file: j, stream: 'v', entries: 'pix_fmt' })).toEqual(['yuv420p', 'yuv444p']),
  },
  {
    name: 'another sample aspect ratio (4:3)',
    field: 'video.sar',
    clip: { extra: ['-vf', 'setsar=4/3'] },
    // The clip's pixels are 4:3; joined, every frame is shown square (the picture is squashed).
    broken: (j, c) => {
      expect(frameValues({ file: c, stream: 'v', entries: 'sample_aspect_ratio' })).toEqual(['4:3']);
      expect(frameValues({ file: j, stream: 'v', entries: 'sample_aspect_ratio' })).toEqual(['1:1']);
    },
  },
  {
    name: 'another frame rate (30 fps)',
    field: 'video.frameRate',
    clip: { fps: 30 },
    broken: (j) => expect(Math.abs(durations(j).video! - 4)).toBeGreaterThan(FRAME),
  },
  {
    name: 'another time base (90 kHz track timescale)',
    field: 'video.timeBase',
    clip: { extra: ['-video_track_timescale', '90000'] },
    broken: (j) => expect(durations(j).video!).toBeGreaterThan(10), // 27.6 s reported for 4 s
  },
  {
    name: 'another audio codec (MP3)',
    field: 'audio.codec',
    clip: { audio: ['-c:a', 'libmp3lame', '-ac', '2'] },
    broken: (j) => expect(decodeErrors(j, '0:a')).toBeGreaterThan(0),
  },
  {
    name: 'another sample rate (44.1 kHz)',
    field: 'audio.sampleRate',
    clip: { sampleRate: 44100 },
    broken: (j) => expect(Math.abs(durations(j).audio! - 4)).toBeGreaterThan(0.0213),
  },
  {
    name: 'another channel layout (mono)',
    field: 'audio.channels',
    clip: { audio: ['-c:a', 'aac', '-ac', '1'] },
    // The header says stereo: the mono half decodes into two channels that differ (a correct
    // upmix has L = R, as the stereo half of this tone does).
    broken: (j) => {
      expect(meanVolumeDb({ file: j, start: 0.3, duration: 1.4, af: 'pan=mono|c0=c0-c1' })).toBeLessThan(-60);
      expect(meanVolumeDb({ file: j, start: 2.3, duration: 1.4, af: 'pan=mono|c0=c0-c1' })).toBeGreaterThan(
        -40,
      );
    },
  },
  {
    name: 'different codec extradata (same parameters, crf 35: another PPS)',
    field: 'video.extradata',
    clip: { video: ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '35', '-pix_fmt', 'yuv420p'] },
    broken: (j, c) => expect(secondHalfDecodesAsItself(j, c)).toBe(false),
  },
  {
    name: 'no audio stream',
    field: 'audio',
    clip: { audio: null },
    broken: (j) => expect(durations(j).video! - durations(j).audio!).toBeGreaterThan(1.9),
  },
  {
    name: 'streams in another order (audio first)',
    field: 'streams',
    clip: { extra: ['-map', '1:a', '-map', '0:v'] },
    broken: (j) => expect(decodeErrors(j)).toBeGreaterThan(0),
  },
];

describe('a naive copy join of clips that differ in one way is broken, and the comparator names the way', () => {
  it.each(cases)(
    '$name → $field',
    async ({ name, field, clip, broken }) => {
      const file = makeClip({ file: join(dir, `${field}.mp4`), ...clip });
      const ref = join(dir, 'ref.mp4');
      const joined = naiveJoin({
        files: [ref, file],
        list: join(dir, `${field}.txt`),
        output: join(dir, `${field}-joined.mp4`),
      });
      await broken(joined, file);
      const probes = [
        await probeClip({ file: ref, index: 0, shown: 'ref.mp4' }),
        await probeClip({ file, index: 1, shown: name }),
      ];
      // With two clips of equal length the earlier one is the majority.
      const fields = compareClips(probes).differences.map((d) => d.field);
      expect(fields).toContain(field);
    },
    60_000,
  );

  it('drifts: 20 joined AAC clips play 0.5 s more sound than picture (every priming becomes sound)', () => {
    const ref = join(dir, 'ref.mp4');
    const joined = naiveJoin({
      files: Array(20).fill(ref),
      list: join(dir, '20.txt'),
      output: join(dir, '20-joined.mp4'),
    });
    expect(durations(joined).video).toBeCloseTo(40, 2);
    expect(decodedAudioSeconds(joined) - 40).toBeGreaterThan(0.4);
  }, 60_000);
});
