// Chunked rendering is exact: the same Timeline rendered in one pass and rendered chunk by chunk
// (video-only chunks joined by the concat demuxer with stream copy, the audio rendered once) gives
// the same decoded frames and the same audio, bit for bit. Lossless H.264 (-qp 0) so that decoded
// frames are the filter graph's own pixels; small frames and short chunks keep it quick.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TimelineInput } from '@reelbus/contracts';
import { probe, runFfmpeg, type MediaInfo } from '@reelbus/kit';
import { makeImage, makeSpeech, makeTone } from '@reelbus/kit/testing';
import { buildRenderArgs, type BuildRenderArgsOptions } from '../filtergraph.ts';
import { buildChunkJoinArgs, concatList } from './join.ts';
import { planChunks } from './plan.ts';

let dir: string;
const files = new Map<string, string>();
const infos = new Map<string, MediaInfo>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelbus-chunked-'));
  // A 23.976 fps source with B-frames and 44.1 kHz sound: its frames never sit on the 30 fps grid.
  const video = join(dir, 'talk.mp4');
  await runFfmpeg({
    step: 'fixture',
    args: [
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=320x240:rate=24000/1001:duration=8',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=523:sample_rate=44100:duration=8',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-bf',
      '2',
      '-g',
      '24',
      '-pix_fmt',
      'yuv420p',
      '-c:a',
      'aac',
      '-ac',
      '2',
      video,
    ],
  });
  files.set('talk.mp4', video);
  files.set('photo.png', await makeImage({ file: join(dir, 'photo.png'), width: 640, height: 480 }));
  files.set(
    'logo.png',
    await makeImage({ file: join(dir, 'logo.png'), width: 200, height: 100, color: 'orange' }),
  );
  files.set(
    'voice.wav',
    await makeSpeech({ text: 'Chunks join without a seam, frame for frame.', file: join(dir, 'voice.wav') }),
  );
  files.set(
    'bed.wav',
    await makeTone({ file: join(dir, 'bed.wav'), seconds: 3, frequency: 220, channels: 2 }),
  );
  for (const [key, file] of files) infos.set(key, await probe(file));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Ken Burns, fades, two transitions, text, a video with its own sound, a waveform, a logo, ducked music. */
const timeline: TimelineInput = {
  version: 1,
  output: { width: 320, height: 180, fps: 30 },
  duration: 9,
  background: '#101820',
  tracks: [
    {
      clips: [
        {
          type: 'image',
          source: { key: 'photo.png' },
          start: 0,
          duration: 3.5,
          fit: 'cover',
          fadeIn: 0.5,
          motion: { type: 'kenburns', from: { zoom: 1, x: 0.5, y: 0.5 }, to: { zoom: 1.4, x: 0.2, y: 0.8 } },
          transition: { type: 'wipeleft', duration: 0.5 },
        },
        {
          type: 'video',
          source: { key: 'talk.mp4' },
          start: 3,
          duration: 5,
          trimStart: 1,
          volume: 0.8,
          transition: { type: 'dissolve', duration: 0.5 },
        },
        { type: 'color', color: '#204080', start: 7.5, duration: 1.5, fadeOut: 0.5 },
      ],
    },
    {
      clips: [
        {
          type: 'text',
          text: 'Frame for frame',
          start: 1,
          duration: 6.5,
          fadeIn: 0.5,
          fadeOut: 0.5,
          fontSize: 20,
          boxColor: '#000000',
          position: { anchor: 'bottom', scale: 0.3 },
        },
        {
          type: 'waveform',
          track: 'voice',
          start: 0.5,
          duration: 8.5,
          color: '#ffcc00',
          position: { anchor: 'top', scale: 0.25 },
        },
      ],
    },
    {
      clips: [
        {
          type: 'image',
          source: { key: 'logo.png' },
          start: 0,
          duration: 9,
          opacity: 0.7,
          position: { anchor: 'topRight', scale: 0.15, offset: { x: -8, y: 8 } },
        },
      ],
    },
  ],
  audio: [
    { name: 'voice', source: { key: 'voice.wav' }, start: 0.5 },
    {
      name: 'bed',
      source: { key: 'bed.wav' },
      loop: true,
      gainDb: -18,
      duck: { under: 'voice', amountDb: 10 },
    },
  ],
};

async function render(out: string, opts: Partial<BuildRenderArgsOptions>): Promise<string> {
  const { args } = buildRenderArgs({
    timeline,
    inputs: (key) => files.get(key)!,
    sources: (key) => {
      const info = infos.get(key);
      return info && { hasAudio: info.audio !== undefined, durationSec: info.durationSec };
    },
    output: out,
    lossless: true,
    ...opts,
  });
  await runFfmpeg({ step: 'render', args, stallTimeoutMs: 120_000 });
  return out;
}

const ffmpegText = (args: string[]) => execFileSync('ffmpeg', ['-v', 'error', ...args], { encoding: 'utf8' });
const ffprobeText = (args: string[]) =>
  execFileSync('ffprobe', ['-v', 'error', ...args], { encoding: 'utf8' });

/** The md5 of every decoded video frame, in order. */
const frameHashes = (file: string) =>
  ffmpegText(['-i', file, '-map', '0:v:0', '-f', 'framemd5', '-'])
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(',').at(-1)!.trim());

/** Presentation time stamps of the decoded video frames, in decode-output order. */
const framePts = (file: string) =>
  ffprobeText(['-select_streams', 'v:0', '-show_entries', 'frame=pts', '-of', 'csv=p=0', file])
    .split('\n')
    .filter(Boolean)
    .map((l) => Number(l.split(',')[0]));

describe('chunked rendering at the ffmpeg level', () => {
  it('gives exactly the single pass: every decoded frame, round(duration × fps) frames, increasing time stamps, the same audio', async () => {
    const plan = planChunks({ timeline, chunkSeconds: 1.6 });
    // 48-frame chunks; the boundary at 96 falls in the wipe (frames 90..104) and moves to its end
    expect(plan.chunks.map((c) => [c.startFrame, c.frameCount])).toEqual([
      [0, 48],
      [48, 57],
      [105, 39],
      [144, 48],
      [192, 48],
      [240, 30],
    ]);

    // the chunk at frame 192 is 102 frames into the video clip: it seeks (and restores the time stamps)
    const seeking = buildRenderArgs({
      timeline,
      inputs: (key) => files.get(key)!,
      output: 'x.mp4',
      streams: 'video',
      window: { startFrame: 192, frameCount: 48 },
    }).args;
    expect(seeking.slice(seeking.indexOf('-itsoffset') - 2, seeking.indexOf('-itsoffset') + 4)).toEqual([
      '-ss',
      '2.4',
      '-itsoffset',
      '1.4',
      '-i',
      files.get('talk.mp4'),
    ]);

    const single = await render(join(dir, 'single.mp4'), { streams: 'av' });
    const chunkFiles: string[] = [];
    for (const c of plan.chunks) {
      chunkFiles.push(
        await render(join(dir, `chunk-${c.index}.mp4`), {
          streams: 'video',
          window: { startFrame: c.startFrame, frameCount: c.frameCount },
        }),
      );
    }
    const audio = await render(join(dir, 'audio.m4a'), { streams: 'audio' });
    const list = join(dir, 'chunks.txt');
    await writeFile(list, concatList(chunkFiles));
    const joined = join(dir, 'joined.mp4');
    await runFfmpeg({ step: 'join', args: buildChunkJoinArgs({ list, audio, output: joined }) });

    // every chunk is video-only and starts on a keyframe
    for (const [i, file] of chunkFiles.entries()) {
      const streams = ffprobeText(['-show_entries', 'stream=codec_type', '-of', 'csv=p=0', file]).trim();
      expect(streams, `chunk ${i}`).toBe('video');
      const first = ffprobeText([
        '-select_streams',
        'v:0',
        '-show_entries',
        'packet=flags',
        '-read_intervals',
        '%+#1',
        '-of',
        'csv=p=0',
        file,
      ]);
      expect(first.trim().startsWith('K'), `chunk ${i} starts on a keyframe`).toBe(true);
    }

    const expected = Math.round(9 * 30);
    const singleFrames = frameHashes(single);
    const joinedFrames = frameHashes(joined);
    expect(singleFrames).toHaveLength(expected);
    expect(joinedFrames).toHaveLength(expected);
    const differing = joinedFrames.flatMap((h, i) => (h === singleFrames[i] ? [] : [i]));
    expect(differing, 'frames that differ from the single pass').toEqual([]);
    // and the picture is not trivially constant: the graph drew motion
    expect(new Set(joinedFrames).size).toBeGreaterThan(200);

    const pts = framePts(joined);
    expect(pts).toHaveLength(expected);
    pts.slice(1).forEach((p, i) => expect(p, `frame ${i + 1}`).toBeGreaterThan(pts[i]!));

    // the audio: the same AAC packets, and the same decoded samples
    const md5 = (file: string, copy: boolean) =>
      ffmpegText(['-i', file, '-map', '0:a:0', ...(copy ? ['-c', 'copy'] : []), '-f', 'md5', '-']).trim();
    expect(md5(joined, true)).toBe(md5(single, true));
    expect(md5(joined, false)).toBe(md5(single, false));
    const a = await probe(joined);
    expect(a.audio).toMatchObject({ codec: 'aac', sampleRate: 48000, channels: 2 });
    expect(Math.abs(a.durationSec - 9)).toBeLessThan(0.03);
  }, 600_000);
});
