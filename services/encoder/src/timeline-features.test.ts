// The newer Timeline features, rendered by real ffmpeg and checked in the output as a viewer would
// see them: transitions visible half-way, a muted video silent, a named position where it belongs,
// a waveform that moves with the sound, the poster JPEG, the preview's size and rate.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Timeline, type TimelineInput } from '@reelbus/contracts';
import { FsBlobStore, probe, runFfmpeg } from '@reelbus/kit';
import { makeSilence, makeTone, makeVideo, meanLuma, probeFacts, volumeStats } from '@reelbus/kit/testing';
import { buildRenderArgs } from './filtergraph.ts';
import { FfmpegBackend } from './render.ts';

let dir: string;
const files = new Map<string, string>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelbus-features-'));
  files.set('tone.mp4', await makeVideo({ file: join(dir, 'tone.mp4'), seconds: 3, frequency: 660 }));
  files.set('mute.mp4', await makeVideo({ file: join(dir, 'mute.mp4'), seconds: 3, audio: false }));
  // one second of tone, then one of silence
  const tone = await makeTone({ file: join(dir, 'tone.wav'), seconds: 1, frequency: 300, volume: 0.8 });
  const silence = await makeSilence({ file: join(dir, 'silence.wav'), seconds: 1 });
  const toneThenSilence = join(dir, 'tone-then-silence.wav');
  await runFfmpeg({
    step: 'fixture',
    args: [
      '-i',
      tone,
      '-i',
      silence,
      '-filter_complex',
      '[0:a][1:a]concat=n=2:v=0:a=1[a]',
      '-map',
      '[a]',
      toneThenSilence,
    ],
  });
  files.set('tone-then-silence.wav', toneThenSilence);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function render(name: string, timeline: TimelineInput): Promise<string> {
  const out = join(dir, name);
  const { args } = buildRenderArgs({
    timeline,
    inputs: (key) => files.get(key)!,
    sources: (key) => ({ hasAudio: key !== 'mute.mp4' }),
    output: out,
  });
  await runFfmpeg({ step: 'render', args, stallTimeoutMs: 120_000 });
  return out;
}

/** Mean R, G, B (0-255) of `rect` in frame `n`. */
function meanRgb(file: string, n: number, rect: { x: number; y: number; width: number; height: number }) {
  const raw = execFileSync('ffmpeg', [
    '-v',
    'error',
    '-i',
    file,
    '-vf',
    `select=eq(n\\,${n}),crop=${rect.width}:${rect.height}:${rect.x}:${rect.y},format=rgb24`,
    '-frames:v',
    '1',
    '-f',
    'rawvideo',
    '-',
  ]);
  const sum = [0, 0, 0];
  for (let i = 0; i < raw.length; i++) sum[i % 3]! += raw[i]!;
  const px = raw.length / 3;
  return { r: sum[0]! / px, g: sum[1]! / px, b: sum[2]! / px };
}

const red = (c: { r: number; b: number }) => c.r > 180 && c.b < 70;
const blue = (c: { r: number; b: number }) => c.b > 180 && c.r < 70;

/** Red for 2 s into blue for 2 s over a 1 s transition: the blend is frames 30..59. */
const redToBlue = (type: string): TimelineInput => ({
  version: 1,
  output: { width: 320, height: 180, fps: 30 },
  tracks: [
    {
      clips: [
        {
          type: 'color',
          color: '#ff0000',
          start: 0,
          duration: 2,
          transition: { type: type as 'fade', duration: 1 },
        },
        { type: 'color', color: '#0000ff', start: 1, duration: 2 },
      ],
    },
  ],
});

describe('Timeline features in the rendered MP4', () => {
  it('shows each transition half-way through its overlap, and only there', async () => {
    const left = { x: 0, y: 40, width: 100, height: 100 };
    const right = { x: 220, y: 40, width: 100, height: 100 };
    const centre = { x: 140, y: 70, width: 40, height: 40 };
    const corner = { x: 0, y: 0, width: 30, height: 30 };

    const wipe = await render('wipeleft.mp4', redToBlue('wipeleft'));
    expect(probeFacts(wipe).durationSec).toBeCloseTo(3, 1);
    expect(red(meanRgb(wipe, 29, left)) && red(meanRgb(wipe, 29, right))).toBe(true);
    // half-way (frame 45): the wipe has uncovered one side only
    const wl = meanRgb(wipe, 45, left);
    const wr = meanRgb(wipe, 45, right);
    expect([red(wl), blue(wr)]).toEqual([true, true]);
    expect(blue(meanRgb(wipe, 60, left)) && blue(meanRgb(wipe, 60, right))).toBe(true);

    const slide = await render('slideup.mp4', redToBlue('slideup'));
    const top = meanRgb(slide, 45, { x: 100, y: 0, width: 120, height: 60 });
    const bottom = meanRgb(slide, 45, { x: 100, y: 120, width: 120, height: 60 });
    expect([red(top), blue(bottom)]).toEqual([true, true]);

    const fade = await render('fade.mp4', redToBlue('fade'));
    const mid = meanRgb(fade, 45, centre);
    // both colours at about half strength everywhere
    expect(mid.r).toBeGreaterThan(90);
    expect(mid.r).toBeLessThan(165);
    expect(mid.b).toBeGreaterThan(90);
    expect(mid.b).toBeLessThan(165);

    const circle = await render('circleopen.mp4', redToBlue('circleopen'));
    expect([blue(meanRgb(circle, 45, centre)), red(meanRgb(circle, 45, corner))]).toEqual([true, true]);
  }, 300_000);

  it("mixes a video's own sound by volume: silent at 0, half at 0.5, and a file without sound plays none", async () => {
    const clip = (volume: number, key = 'tone.mp4'): TimelineInput => ({
      version: 1,
      output: { width: 320, height: 180 },
      tracks: [{ clips: [{ type: 'video', source: { key }, start: 0, duration: 3, volume }] }],
    });
    const full = volumeStats({ file: await render('vol1.mp4', clip(1)), start: 0.5, duration: 2 });
    const half = volumeStats({ file: await render('vol05.mp4', clip(0.5)), start: 0.5, duration: 2 });
    const muted = volumeStats({ file: await render('vol0.mp4', clip(0)), start: 0.5, duration: 2 });
    const none = volumeStats({
      file: await render('novideo-sound.mp4', clip(1, 'mute.mp4')),
      start: 0.5,
      duration: 2,
    });
    expect(full.meanDb).toBeGreaterThan(-30);
    expect(full.meanDb - half.meanDb).toBeCloseTo(6.02, 0);
    expect(muted.maxDb).toBeLessThan(-90);
    expect(none.maxDb).toBeLessThan(-90);
  }, 300_000);

  it('draws a named position where resolvePosition puts it', async () => {
    const file = await render('named.mp4', {
      version: 1,
      output: { width: 320, height: 180 },
      duration: 1,
      tracks: [
        {
          clips: [
            {
              type: 'color',
              color: '#ffffff',
              start: 0,
              duration: 1,
              position: { anchor: 'bottomRight', scale: 0.25, offset: { x: -10, y: -10 } },
            },
          ],
        },
      ],
    });
    // 80×44 at (230, 126): white inside, black just outside on every side
    expect(meanLuma({ file, rect: { x: 232, y: 128, width: 76, height: 40 }, at: 0.5 })).toBeGreaterThan(230);
    for (const outside of [
      { x: 222, y: 128, width: 6, height: 40 },
      { x: 312, y: 128, width: 6, height: 40 },
      { x: 232, y: 118, width: 76, height: 6 },
      { x: 232, y: 172, width: 76, height: 6 },
    ]) {
      expect(meanLuma({ file, rect: outside, at: 0.5 })).toBeLessThan(20);
    }
  }, 120_000);

  it('draws a waveform that moves with the sound and lies flat in silence', async () => {
    const file = await render('waveform.mp4', {
      version: 1,
      output: { width: 320, height: 180 },
      tracks: [
        {
          clips: [
            {
              type: 'waveform',
              source: { key: 'tone-then-silence.wav' },
              start: 0,
              duration: 2,
              style: 'cline',
            },
          ],
        },
      ],
    });
    const whole = { x: 0, y: 0, width: 320, height: 180 };
    const loud = meanLuma({ file, rect: whole, at: 0.5 });
    const quiet = meanLuma({ file, rect: whole, at: 1.5 });
    // a -20 dBFS tone on the default square-root scale fills about a third of the height
    expect(loud).toBeGreaterThan(quiet + 15);
    expect(quiet).toBeLessThan(25);
  }, 120_000);
});

describe('FfmpegBackend with the output options', () => {
  it('writes a poster JPEG beside the MP4 and renders a preview at 480p and 15 fps', async () => {
    const blobs = new FsBlobStore({ root: join(dir, 'blobs') });
    await blobs.putFile('in/tone.mp4', await makeVideo({ file: join(dir, 'b-tone.mp4'), seconds: 3 }));
    await blobs.putFile(
      'in/mute.mp4',
      await makeVideo({ file: join(dir, 'b-mute.mp4'), seconds: 3, audio: false }),
    );
    const backend = new FfmpegBackend({ blobs, tmpDir: join(dir, 'tmp') });
    const result = await backend.render({
      jobId: 'preview1',
      timeline: Timeline.parse({
        version: 1,
        output: { width: 1280, height: 720, preset: 'preview', poster: { at: 1 } },
        tracks: [
          {
            clips: [
              { type: 'video', source: { key: 'in/tone.mp4' }, start: 0, duration: 3 },
              // no sound stream, volume 1 by default: probed, so it adds nothing instead of failing
              {
                type: 'video',
                source: { key: 'in/mute.mp4' },
                start: 0,
                duration: 3,
                position: { anchor: 'topLeft', scale: 0.3 },
              },
            ],
          },
        ],
      }),
    });
    const facts = probeFacts(blobs.localPath(result.key)!);
    expect(facts.video).toMatchObject({ codec: 'h264', profile: 'High', width: 854, height: 480, fps: 15 });
    expect(facts.audio).toMatchObject({ codec: 'aac', sampleRate: 48000, channels: 2 });
    expect(facts.durationSec).toBeCloseTo(3, 1);
    expect(result.poster).toMatchObject({
      key: 'jobs/preview1/poster.jpg',
      width: 854,
      height: 480,
      atSec: 1,
    });
    const poster = await probe(blobs.localPath('jobs/preview1/poster.jpg')!);
    expect(poster.video).toMatchObject({ codec: 'mjpeg', width: 854, height: 480 });
    expect(result.poster!.sizeBytes).toBe(poster.sizeBytes);
  }, 300_000);
});
