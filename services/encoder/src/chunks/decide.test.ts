import { describe, expect, it } from 'vitest';
import { newJob, type TimelineInput } from '@reelbus/contracts';
import {
  chunkKeys,
  chunkedProgress,
  decideChunking,
  describeChunk,
  partsCpuSeconds,
  readChunkedState,
  recordPart,
  writeChunkedState,
  type ChunkedRenderState,
  type RenderedPart,
} from './decide.ts';

const settings = { thresholdSec: 90, chunkSeconds: 30 };
const long = (seconds: number, output: TimelineInput['output'] = {}): TimelineInput => ({
  version: 1,
  duration: seconds,
  output,
});

describe('decideChunking', () => {
  it.each([
    ['a 90 s Timeline (at the threshold)', long(90), 'ffmpeg', false],
    ['a 90.1 s Timeline', long(90.1), 'ffmpeg', true],
    ['a 2-minute story', long(123), 'ffmpeg', true],
    ['a long Timeline for MediaConvert', long(600), 'mediaconvert', false],
  ] as const)('%s → chunked: %s', (_name, timeline, backend, chunked) => {
    expect(decideChunking({ timeline, backend, settings }).chunked).toBe(chunked);
  });

  it('plans a long Timeline on the output preset’s frame grid and says why a short one is not chunked', () => {
    const d = decideChunking({ timeline: long(100, { preset: 'preview' }), backend: 'ffmpeg', settings });
    expect(d).toMatchObject({ chunked: true, durationSec: 100 });
    if (d.chunked) {
      expect(d.plan.fps).toBe(15);
      expect(d.plan.chunks.map((c) => c.frameCount)).toEqual([450, 450, 450, 150]);
    }
    expect(decideChunking({ timeline: long(60), backend: 'ffmpeg', settings })).toEqual({
      chunked: false,
      reason: '60 s is within CHUNK_THRESHOLD_SEC (90 s)',
    });
    expect(decideChunking({ timeline: long(600), backend: 'mediaconvert', settings })).toMatchObject({
      chunked: false,
      reason: 'the mediaconvert backend renders whole jobs',
    });
  });

  it('renders in one pass when the plan has a single chunk (threshold 0, chunks longer than the video)', () => {
    expect(
      decideChunking({
        timeline: long(20),
        backend: 'ffmpeg',
        settings: { thresholdSec: 0, chunkSeconds: 30 },
      }),
    ).toEqual({ chunked: false, reason: 'the plan has a single chunk' });
  });
});

describe('chunk keys', () => {
  it('puts every part under jobs/<id>/chunks/ at deterministic keys', () => {
    expect(chunkKeys.plan('j1')).toBe('jobs/j1/chunks/plan.json');
    expect(chunkKeys.chunk('j1', 7)).toBe('jobs/j1/chunks/chunk-0007.mp4');
    expect(chunkKeys.audio('j1')).toBe('jobs/j1/chunks/audio.m4a');
  });
});

const T0 = '2026-01-01T00:00:00.000Z';
const chunk = (index: number, count = 3, frames = 900): RenderedPart => ({
  type: 'chunk',
  index,
  count,
  key: chunkKeys.chunk('j', index),
  frames,
  totalFrames: count * frames,
  plannedAt: T0,
  cpuSeconds: 10,
});
const audio: RenderedPart = { type: 'audio', key: chunkKeys.audio('j'), plannedAt: T0, cpuSeconds: 1 };

/** Records parts in order, each with its own claimant id, as the fan-in does. */
function recordAll(parts: RenderedPart[], start: ChunkedRenderState = { chunks: {} }): ChunkedRenderState {
  return parts.reduce(
    (st, part, i) => recordPart({ state: st, part, claimant: `evt-${i}`, at: `2026-01-01T00:00:0${i}.000Z` }),
    start,
  );
}

describe('the fan-in (recordPart)', () => {
  it('claims the join for the event that completes the set, whatever the order', () => {
    for (const order of [
      [chunk(0), chunk(1), chunk(2), audio],
      [audio, chunk(2), chunk(0), chunk(1)],
      [chunk(1), audio, chunk(2), chunk(0)],
    ]) {
      const st = recordAll(order);
      expect(st.claim, JSON.stringify(order.map((p) => p.type))).toEqual({
        by: 'evt-3',
        at: '2026-01-01T00:00:03.000Z',
      });
    }
  });

  it('does not claim while a chunk or the audio is missing', () => {
    expect(recordAll([chunk(0), chunk(1), chunk(2)]).claim).toBeUndefined();
    expect(recordAll([audio, chunk(0), chunk(2)]).claim).toBeUndefined();
    // the count comes from the chunk events: the audio alone cannot complete anything
    expect(recordAll([audio]).claim).toBeUndefined();
  });

  it('keeps the first record and the first claim when parts are redelivered', () => {
    const done = recordAll([chunk(0), chunk(1), chunk(2), audio]);
    const again = recordPart({
      state: done,
      part: chunk(1),
      claimant: 'evt-late',
      at: '2026-01-01T00:09:00.000Z',
    });
    expect(again).toEqual(done);
    const redeliveredAudio = recordPart({ state: done, part: audio, claimant: 'evt-3', at: 'x' });
    expect(redeliveredAudio.claim).toEqual(done.claim);
  });

  it('never claims a join once a part failed for good', () => {
    const failed: ChunkedRenderState = {
      chunks: {},
      failed: { part: 'chunk 2 of 3', reason: 'x', at: T0 },
    };
    expect(recordAll([chunk(0), chunk(1), chunk(2), audio], failed).claim).toBeUndefined();
  });

  it('lives on the job document under state.chunkedRender, beside other services’ state', () => {
    const job = newJob({ id: 'j', kind: 'render' }, new Date(T0));
    job.state.timeline = { by: 'compositor' };
    const st = recordAll([chunk(0)]);
    const written = writeChunkedState(job, st);
    expect(written.state.timeline).toEqual({ by: 'compositor' });
    expect(readChunkedState(written)).toEqual(st);
    expect(readChunkedState(job)).toEqual({ chunks: {} });
  });
});

describe('chunkedProgress', () => {
  it('counts chunks and frames, keeps the percent under 95 until the join, and estimates the time left', () => {
    const st = recordAll([chunk(0), chunk(2)]);
    expect(chunkedProgress({ state: st, now: new Date('2026-01-01T00:01:00.000Z') })).toEqual({
      chunks: { done: 2, total: 3 },
      frames: { done: 1800, total: 2700 },
      percent: 63,
      // 1800 frames in 60 s: 900 more take 30 s
      etaSec: 30,
    });
    expect(chunkedProgress({ state: { chunks: {} }, now: new Date() })).toEqual({
      chunks: { done: 0, total: 0 },
      frames: { done: 0, total: 0 },
      percent: 0,
    });
  });

  it('sums the CPU seconds of every part, or says nothing when a part did not report them', () => {
    expect(partsCpuSeconds(recordAll([chunk(0), chunk(1), chunk(2), audio]))).toBe(31);
    const { cpuSeconds: _c, ...noCpu } = chunk(1) as Extract<RenderedPart, { type: 'chunk' }>;
    expect(partsCpuSeconds(recordAll([chunk(0), noCpu, chunk(2), audio]))).toBeUndefined();
  });
});

describe('describeChunk', () => {
  it('names a chunk by its place, its index on the bus, its frames and its seconds', () => {
    expect(describeChunk({ index: 2, count: 10, startFrame: 1800, frameCount: 900, fps: 30 })).toBe(
      'chunk 3 of 10 (index 2, frames 1800-2699, 60-89.967 s)',
    );
  });
});
