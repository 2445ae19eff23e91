import { describe, expect, it } from 'vitest';
import { buildCallTimeline } from './call-layout.ts';

const recording = { key: 'jobs/j1/input/recording.wav', durationSec: 12.34 };
const caller = { key: 'jobs/j1/clips/caller.mp4', durationSec: 12.3, width: 512, height: 512 };
const callee = { key: 'jobs/j1/clips/callee.mp4', durationSec: 12.34, width: 720, height: 1280 };

describe('buildCallTimeline', () => {
  it('puts caller left and callee right, each letterboxed in its half, over the call audio, as long as the recording', () => {
    const t = buildCallTimeline({ recording, clips: { caller, callee }, mode: 'stereo' });
    expect(t.output).toMatchObject({ width: 1280, height: 720 });
    expect(t.duration).toBe(12.34);
    expect(t.tracks).toHaveLength(1);
    expect(t.tracks[0]!.clips).toEqual([
      expect.objectContaining({
        type: 'video',
        source: { key: caller.key },
        start: 0,
        duration: 12.34,
        fit: 'contain',
        position: { x: 0, y: 0, width: 640, height: 720 },
        volume: 0, // the call recording carries the voices; the clips' own sound would double them
      }),
      expect.objectContaining({
        type: 'video',
        source: { key: callee.key },
        start: 0,
        duration: 12.34,
        fit: 'contain',
        position: { x: 640, y: 0, width: 640, height: 720 },
        volume: 0,
      }),
    ]);
    expect(t.audio).toEqual([
      expect.objectContaining({
        name: 'call',
        source: { key: recording.key },
        start: 0,
        gainDb: 0,
        loop: false,
      }),
    ]);
  });

  it('shows a labelled card on the side of a silent channel', () => {
    const t = buildCallTimeline({ recording, clips: { caller }, mode: 'stereo' });
    const clips = t.tracks[0]!.clips;
    expect(clips[0]).toMatchObject({ type: 'video', source: { key: caller.key } });
    expect(clips[1]).toMatchObject({
      type: 'color',
      start: 0,
      duration: 12.34,
      position: { x: 648, y: 8, width: 624, height: 704 },
    });
    expect(clips[2]).toMatchObject({
      type: 'text',
      text: 'Callee — silent',
      position: { x: 640, y: 0, width: 640, height: 720 },
      duration: 12.34,
    });
    const onlyCallee = buildCallTimeline({ recording, clips: { callee }, mode: 'stereo' }).tracks[0]!.clips;
    expect(onlyCallee.map((c) => c.type)).toEqual(['color', 'text', 'video']);
    expect(onlyCallee[1]).toMatchObject({ text: 'Caller — silent' });
  });

  it('centres the one speaker of a mono call in the full frame', () => {
    const t = buildCallTimeline({
      recording,
      clips: { caller },
      mode: 'mono',
      size: { width: 640, height: 360 },
    });
    expect(t.output).toMatchObject({ width: 640, height: 360 });
    expect(t.tracks[0]!.clips).toEqual([
      expect.objectContaining({
        type: 'video',
        fit: 'contain',
        position: { x: 0, y: 0, width: 640, height: 360 },
      }),
    ]);
  });

  it('keeps both halves even-sized for odd half widths', () => {
    const t = buildCallTimeline({
      recording,
      clips: { caller, callee },
      mode: 'stereo',
      size: { width: 1100, height: 620 },
    });
    const [l, r] = t.tracks[0]!.clips;
    expect(l!.position).toEqual({ x: 0, y: 0, width: 550, height: 620 });
    expect(r!.position).toEqual({ x: 550, y: 0, width: 550, height: 620 });
    const odd = buildCallTimeline({
      recording,
      clips: { caller, callee },
      mode: 'stereo',
      size: { width: 1062, height: 620 },
    });
    // 1062 / 2 = 531 is odd: the left half gets 530, the right 532
    expect(odd.tracks[0]!.clips.map((c) => c.position)).toEqual([
      { x: 0, y: 0, width: 530, height: 620 },
      { x: 530, y: 0, width: 532, height: 620 },
    ]);
  });
});
