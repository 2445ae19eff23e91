import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TimelineInput } from '@reelbus/contracts';
import { runFfmpeg } from '@reelbus/kit';
import { makeImage, makeTone } from '@reelbus/kit/testing';
import { buildRenderArgs } from './filtergraph.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelbus-still-test-'));
  await makeImage({ file: join(dir, 'face.png'), width: 96, height: 120 });
  // a PNG with see-through parts: the colour under it must show through, as on every frame
  await runFfmpeg({
    step: 'fixture',
    args: [
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=80x60,format=rgba,geq=r=r(X\\,Y):g=g(X\\,Y):b=b(X\\,Y):a=if(lt(X\\,40)\\,60\\,255)',
      '-frames:v',
      '1',
      join(dir, 'see-through.png'),
    ],
  });
  await makeTone({ file: join(dir, 'voice.wav'), seconds: 3, frequency: 300 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The MD5 of every frame the graph draws (before any encode). */
function frameHashes(
  timeline: TimelineInput,
  flattenStill: boolean,
  window?: { startFrame: number; frameCount: number },
) {
  const built = buildRenderArgs({
    timeline,
    inputs: (k) => join(dir, k),
    output: 'unused.mp4',
    streams: 'video',
    flattenStill,
    ...(window ? { window } : {}),
  });
  const at = built.args.indexOf('-filter_complex');
  const text = execFileSync(
    'ffmpeg',
    ['-v', 'error', '-nostdin', ...built.args.slice(0, at + 2), '-map', '[v]', '-f', 'framemd5', '-'],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(',').at(-1)!.trim());
}

describe('the still background', () => {
  it('draws exactly the pixels of drawing every clip on every frame, also in a chunk', () => {
    const all = { start: 0, duration: 3 };
    const timeline: TimelineInput = {
      version: 1,
      duration: 3,
      output: { width: 320, height: 180 },
      background: '#203040',
      tracks: [
        {
          clips: [
            { type: 'color', color: '#1f3b5c', ...all, position: { x: 0, y: 0, width: 160, height: 140 } },
            {
              type: 'image',
              source: { key: 'face.png' },
              fit: 'contain',
              ...all,
              position: { x: 0, y: 0, width: 160, height: 140 },
            },
            {
              type: 'image',
              source: { key: 'see-through.png' },
              fit: 'cover',
              opacity: 0.7,
              ...all,
              position: { x: 170, y: 10, width: 140, height: 100 },
            },
            {
              type: 'text',
              text: 'Caller',
              fontSize: 18,
              color: '#ffffff',
              boxColor: '#00000073',
              ...all,
              position: { x: 0, y: 110, width: 160, height: 14 },
            },
          ],
        },
        {
          clips: [
            // moving: the waveform, and a colour that fades in over the right half
            {
              type: 'waveform',
              source: { key: 'voice.wav' },
              ...all,
              position: { x: 0, y: 140, width: 160, height: 40 },
            },
            {
              type: 'color',
              color: '#ff8800',
              start: 1,
              duration: 2,
              fadeIn: 1,
              position: { x: 160, y: 100, width: 160, height: 80 },
            },
          ],
        },
      ],
    };
    const slow = frameHashes(timeline, false);
    expect(slow).toHaveLength(90);
    expect(new Set(slow).size).toBeGreaterThan(30); // the frames do change (the waveform, the fade)
    expect(frameHashes(timeline, true)).toEqual(slow);
    // a chunk of the same Timeline: the still background is made from the chunk's own clips
    const window = { startFrame: 30, frameCount: 45 };
    expect(frameHashes(timeline, true, window)).toEqual(slow.slice(30, 75));
  });
});
