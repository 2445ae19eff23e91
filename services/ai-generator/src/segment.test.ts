import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probe, silentLogger } from '@reelbus/kit';
import { probeFacts } from '@reelbus/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_FACES } from './handle-clip-requested.ts';
import { createLocalProvider } from './providers/local.ts';
import {
  buildJoinArgs,
  detectSilences,
  generateClip,
  mapLimit,
  parseSilences,
  planSegments,
  segmentFrames,
} from './segment.ts';
import { makeChannel } from './testing/fixtures.ts';

describe('parseSilences', () => {
  it('pairs silence_start and silence_end lines and closes an open silence at the end', () => {
    const lines = [
      '[silencedetect @ 0x1] silence_start: 0',
      '[silencedetect @ 0x1] silence_end: 0.52 | silence_duration: 0.52',
      '[silencedetect @ 0x1] silence_start: 4.1',
      '[silencedetect @ 0x1] silence_end: 5.05 | silence_duration: 0.95',
      '[silencedetect @ 0x1] silence_start: 9.5',
    ];
    expect(parseSilences({ lines, durationSec: 10 })).toEqual([
      { startSec: 0, endSec: 0.52 },
      { startSec: 4.1, endSec: 5.05 },
      { startSec: 9.5, endSec: 10 },
    ]);
  });
});

describe('planSegments', () => {
  it('keeps a channel within the limit whole', () => {
    expect(planSegments({ durationSec: 20, maxSegmentSec: 28.8, silences: [] })).toEqual([
      { index: 0, startSec: 0, endSec: 20 },
    ]);
  });

  it('cuts in the middle of the latest silence within the limit, on the frame before it', () => {
    const segments = planSegments({
      durationSec: 70,
      maxSegmentSec: 28.8,
      silences: [
        { startSec: 10, endSec: 11 },
        { startSec: 24, endSec: 25 },
        { startSec: 40, endSec: 41 },
        { startSec: 50, endSec: 51 },
      ],
    });
    expect(segments.map((s) => [s.startSec, s.endSec])).toEqual([
      [0, 24.48],
      [24.48, 50.48],
      [50.48, 70],
    ]);
  });

  it('cuts at the limit, on a frame boundary, when no silence is in reach', () => {
    const segments = planSegments({
      durationSec: 65,
      maxSegmentSec: 28.83,
      silences: [{ startSec: 2, endSec: 3 }],
    });
    expect(segments.map((s) => [s.startSec, s.endSec])).toEqual([
      [0, 28.8],
      [28.8, 57.6],
      [57.6, 65],
    ]);
    for (const s of segments.slice(0, -1))
      expect(Math.abs(s.endSec * 25 - Math.round(s.endSec * 25))).toBeLessThan(1e-6);
  });

  it('never makes a segment longer than the limit', () => {
    const silences = Array.from({ length: 40 }, (_, i) => ({ startSec: i * 7.3 + 3, endSec: i * 7.3 + 3.4 }));
    const segments = planSegments({ durationSec: 300, maxSegmentSec: 20, silences });
    for (const s of segments) expect(s.endSec - s.startSec).toBeLessThanOrEqual(20 + 1e-9);
    expect(segments[0]?.startSec).toBe(0);
    expect(segments.at(-1)?.endSec).toBe(300);
    segments.slice(1).forEach((s, i) => expect(s.startSec).toBe(segments[i]?.endSec));
  });

  it('gives frame counts that add up to the whole clip', () => {
    const segments = planSegments({
      durationSec: 61.37,
      maxSegmentSec: 28.8,
      silences: [{ startSec: 20.01, endSec: 20.5 }],
    });
    const frames = segmentFrames({ segments });
    expect(frames.reduce((a, b) => a + b, 0)).toBe(Math.round(61.37 * 25));
  });
});

describe('buildJoinArgs', () => {
  it('pads or trims every segment to its frame count and takes the audio from the channel', () => {
    const args = buildJoinArgs({
      videos: ['/w/a.mp4', '/w/b.mp4'],
      frames: [612, 250],
      channelAudio: '/w/channel.wav',
      durationSec: 34.48,
      width: 640,
      height: 720,
      outFile: '/w/joined.mp4',
    });
    const graph = args[args.indexOf('-filter_complex') + 1] ?? '';
    expect(graph).toContain('[0:v]fps=25,scale=640:720:force_original_aspect_ratio=decrease');
    expect(graph).toContain('tpad=stop=-1:stop_mode=clone,trim=end_frame=612');
    expect(graph).toContain('trim=end_frame=250');
    expect(graph).toContain('[v0][v1]concat=n=2:v=1:a=0');
    expect(args.filter((_, i) => args[i - 1] === '-map')).toEqual(['[v]', '2:a:0']);
    expect(args[args.indexOf('-t') + 1]).toBe('34.480');
  });
});

describe('mapLimit', () => {
  it('never runs more than the limit at once and keeps the order', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapLimit({
      items: [1, 2, 3, 4, 5],
      limit: 2,
      fn: async (n) => {
        running++;
        peak = Math.max(peak, running);
        await Promise.resolve();
        await new Promise<void>((r) => setImmediate(r));
        running--;
        return n * 10;
      },
    });
    expect(out).toEqual([10, 20, 30, 40, 50]);
    expect(peak).toBe(2);
  });
});

describe('generateClip on a channel longer than the limit', () => {
  let dir: string;
  let channel: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aigen-seg-'));
    channel = await makeChannel({
      file: join(dir, 'callee.wav'),
      phrases: [
        'Good morning, thanks for calling.',
        'Let me look up your order for you.',
        'It ships tomorrow, by express.',
      ],
      pauseSec: 0.8,
    });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds the pauses between phrases', async () => {
    const durationSec = (await probe(channel)).durationSec;
    const silences = await detectSilences({ audioPath: channel, durationSec });
    expect(silences.filter((s) => s.endSec - s.startSec >= 0.5).length).toBeGreaterThanOrEqual(2);
  });

  it('cuts it at silences, generates the segments and joins them within one frame of the channel', async () => {
    const durationSec = (await probe(channel)).durationSec;
    const maxSegmentSec = 3.5;
    expect(durationSec).toBeGreaterThan(maxSegmentSec * 1.5);
    const work = join(dir, 'work');
    await mkdir(work);
    const calls: number[] = [];
    const local = createLocalProvider({ width: 640, height: 720 });
    const clip = await generateClip({
      provider: { ...local, generate: (req) => (calls.push(req.durationSec), local.generate(req)) },
      maxSegmentSec,
      workDir: work,
      width: 640,
      height: 720,
      concurrency: 2,
      audioPath: channel,
      imagePath: BUNDLED_FACES.callee,
      durationSec,
      label: 'Callee',
      role: 'callee',
      signal: new AbortController().signal,
      logger: silentLogger(),
    });
    expect(clip.segments).toBe(calls.length);
    expect(calls.length).toBeGreaterThanOrEqual(2);
    for (const d of calls) expect(d).toBeLessThanOrEqual(maxSegmentSec);
    const facts = probeFacts(clip.file);
    expect(facts.video).toMatchObject({ codec: 'h264', width: 640, height: 720 });
    expect(Math.abs(facts.durationSec - durationSec)).toBeLessThanOrEqual(0.04);
  });
});
