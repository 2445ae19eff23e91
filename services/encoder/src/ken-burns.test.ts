// Ken Burns moves smoothly, measured on decoded frames: a still with one bright marker is panned
// by the encoder's own command (lossless, so the decoded pixels are the filter graph's), each frame
// is decoded, the marker located (intensity-weighted centroid) and the frame-to-frame displacement
// compared with the planned speed. zoompan, which crops at whole even pixels of its input, moved in
// steps: on this same 2.2 px/frame pan its displacements spread over 114 % of their mean at ×1 and
// 29 % with the former ×4 oversample (measured); the exact pan moves every frame alike.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KenBurns, TimelineInput } from '@reelbus/contracts';
import { runFfmpeg } from '@reelbus/kit';
import { buildRenderArgs } from './filtergraph.ts';

const W = 320;
const H = 180;
const FRAMES = 30;

let dir: string;
let still: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelbus-kenburns-'));
  still = join(dir, 'marker.png');
  // 640×360 black with a 24 px white square in the middle: 12 px once fitted to 320×180
  await runFfmpeg({
    step: 'fixture',
    args: [
      '-f',
      'lavfi',
      '-i',
      'color=c=black:s=640x360,drawbox=x=308:y=168:w=24:h=24:color=white:t=fill',
      '-frames:v',
      '1',
      still,
    ],
  });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Renders the marker still with `motion` over FRAMES frames at W×H, losslessly; returns the decoded luma of every frame. */
async function renderPan(motion: KenBurns, name: string): Promise<Buffer[]> {
  const output = join(dir, `${name}.mp4`);
  const timeline: TimelineInput = {
    version: 1,
    duration: FRAMES / 30,
    output: { width: W, height: H, fps: 30 },
    tracks: [
      {
        clips: [
          { type: 'image', source: { key: 'marker.png' }, start: 0, duration: 1, fit: 'cover', motion },
        ],
      },
    ],
  };
  const { args } = buildRenderArgs({ timeline, inputs: () => still, output, lossless: true });
  await runFfmpeg({ step: 'encode', args });
  const raw = execFileSync(
    'ffmpeg',
    ['-v', 'error', '-i', output, '-f', 'rawvideo', '-pix_fmt', 'gray', '-'],
    {
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const size = W * H;
  expect(raw.length).toBe(size * FRAMES);
  return Array.from({ length: FRAMES }, (_, i) => raw.subarray(i * size, (i + 1) * size));
}

/** The marker's centre: luma above the background, weighted. */
function markerX(frame: Buffer): number {
  let sum = 0;
  let wx = 0;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const w = Math.max(0, frame[y * W + x]! - 40);
      sum += w;
      wx += w * x;
    }
  }
  expect(sum).toBeGreaterThan(0);
  return wx / sum;
}

function displacements(frames: Buffer[]): number[] {
  const xs = frames.map(markerX);
  return xs.slice(1).map((x, i) => xs[i]! - x);
}

describe('Ken Burns on decoded frames', () => {
  it.each([
    // zoom ≤ 1.25: drawn from the still fitted at the output size
    { name: 'pan at zoom 1.2', zoom: 1.2 },
    // a deeper zoom: fitted larger, each frame scaled down
    { name: 'pan at zoom 1.5', zoom: 1.5 },
  ])(
    'moves a marker the same distance every frame ($name), at the planned speed',
    async ({ name, zoom }) => {
      const frames = await renderPan(
        { type: 'kenburns', from: { zoom, x: 0, y: 0.5 }, to: { zoom, x: 1, y: 0.5 } },
        name.replace(/\W+/g, '-'),
      );
      const d = displacements(frames);
      // the window crosses the room the zoom leaves (W − W/zoom, in fitted pixels) over FRAMES − 1 steps,
      // each fitted pixel `zoom` output pixels wide
      const planned = ((W - W / zoom) * zoom) / (FRAMES - 1);
      expect(planned).toBeGreaterThanOrEqual(2);
      const mean = d.reduce((a, b) => a + b, 0) / d.length;
      expect(Math.abs(mean - planned) / planned).toBeLessThan(0.02);
      const spread = (Math.max(...d) - Math.min(...d)) / mean;
      expect(spread).toBeLessThan(0.1);
    },
    120_000,
  );
});
