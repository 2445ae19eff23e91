import { describe, expect, it } from 'vitest';
import { buildCallTimeline, fitRect } from './call-layout.ts';

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

  it("draws the local provider's speaker cards itself: face on the role's colour, own waveform strip, label", () => {
    const drawn = {
      caller: { faceKey: 'avatars/faces/a.png', audioKey: 'jobs/j1/split/caller.wav' },
      callee: { faceKey: 'jobs/j1/input/calleeImage.jpg', audioKey: 'jobs/j1/split/callee.wav' },
    };
    const t = buildCallTimeline({ recording, clips: {}, drawn, mode: 'stereo' });
    const timing = { start: 0, duration: 12.34 };
    // 720 rows: 158 (22 %, even) of waveform under 562 of face; label 40 px, its text ending 24 px
    // above the strip, in a box one cap height (29 px) tall
    expect(t.tracks[0]!.clips).toEqual([
      expect.objectContaining({
        type: 'color',
        color: '#1f3b5c',
        ...timing,
        position: { x: 0, y: 0, width: 640, height: 562 },
      }),
      expect.objectContaining({
        type: 'image',
        source: { key: 'avatars/faces/a.png' },
        fit: 'contain',
        ...timing,
        position: { x: 0, y: 0, width: 640, height: 562 },
      }),
      expect.objectContaining({
        type: 'text',
        text: 'Caller',
        fontSize: 40,
        color: '#ffffff',
        boxColor: '#00000073',
        ...timing,
        position: { x: 0, y: 509, width: 640, height: 29 },
      }),
      expect.objectContaining({
        type: 'color',
        color: '#4b2a5c',
        position: { x: 640, y: 0, width: 640, height: 562 },
      }),
      expect.objectContaining({ type: 'image', source: { key: 'jobs/j1/input/calleeImage.jpg' } }),
      expect.objectContaining({
        type: 'text',
        text: 'Callee',
        position: { x: 640, y: 509, width: 640, height: 29 },
      }),
    ]);
    // the waveforms (which move) on a track of their own above the cards (which do not)
    expect(t.tracks[1]!.name).toBe('waves');
    expect(t.tracks[1]!.clips).toEqual([
      expect.objectContaining({
        type: 'waveform',
        source: { key: 'jobs/j1/split/caller.wav' },
        channel: 'mix',
        style: 'cline',
        amplitude: 'lin',
        color: '#8fd3ff',
        trimStart: 0,
        ...timing,
        position: { x: 0, y: 562, width: 640, height: 158 },
      }),
      expect.objectContaining({
        type: 'waveform',
        source: { key: 'jobs/j1/split/callee.wav' },
        color: '#ffb38f',
        position: { x: 640, y: 562, width: 640, height: 158 },
      }),
    ]);
    // no video clip, so nothing but the call's recording is heard
    expect(t.tracks.some((tr) => tr.clips.some((c) => c.type === 'video'))).toBe(false);
    expect(t.audio.map((a) => a.source.key)).toEqual([recording.key]);
  });

  it('draws one speaker beside the card of a silent side, and a mono call as one card in the middle', () => {
    const caller = { faceKey: 'avatars/faces/a.png', audioKey: 'jobs/j1/split/caller.wav' };
    const oneSided = buildCallTimeline({ recording, clips: {}, drawn: { caller }, mode: 'stereo' });
    expect(oneSided.tracks.map((tr) => tr.clips.map((c) => c.type))).toEqual([
      ['color', 'image', 'text', 'color', 'text'],
      ['waveform'],
    ]);
    expect(oneSided.tracks[0]!.clips[4]).toMatchObject({ text: 'Callee — silent' });

    // the card keeps the local provider's 640×720 shape, as its clip did letterboxed in the frame
    const mono = buildCallTimeline({ recording, clips: {}, drawn: { caller }, mode: 'mono' });
    expect(mono.tracks.flatMap((tr) => tr.clips.map((c) => [c.type, c.position]))).toEqual([
      ['color', { x: 320, y: 0, width: 640, height: 562 }],
      ['image', { x: 320, y: 0, width: 640, height: 562 }],
      ['text', { x: 320, y: 509, width: 640, height: 29 }],
      ['waveform', { x: 320, y: 562, width: 640, height: 158 }],
    ]);
  });

  it('scales the card with the frame: a 1080p call has a 60 px label and a 238-row strip', () => {
    const caller = { faceKey: 'avatars/faces/a.png', audioKey: 'jobs/j1/split/caller.wav' };
    const t = buildCallTimeline({
      recording,
      clips: {},
      drawn: { caller },
      mode: 'stereo',
      size: { width: 1920, height: 1080 },
    });
    const [, , label] = t.tracks[0]!.clips;
    const [wave] = t.tracks[1]!.clips;
    expect(wave!.position).toEqual({ x: 0, y: 842, width: 960, height: 238 });
    expect(label).toMatchObject({
      fontSize: 60,
      position: { x: 0, y: 842 - 36 - 44, width: 960, height: 44 },
    });
  });
});

describe('fitRect', () => {
  it('fits a shape into a box, centred, with even sizes and positions', () => {
    const card = { width: 640, height: 720 };
    expect(fitRect(card, { x: 0, y: 0, width: 640, height: 720 })).toEqual({
      x: 0,
      y: 0,
      width: 640,
      height: 720,
    });
    expect(fitRect(card, { x: 0, y: 0, width: 1280, height: 720 })).toEqual({
      x: 320,
      y: 0,
      width: 640,
      height: 720,
    });
    expect(fitRect(card, { x: 530, y: 0, width: 532, height: 620 })).toEqual({
      x: 530,
      y: 10,
      width: 532,
      height: 598,
    });
    const r = fitRect(card, { x: 10, y: 4, width: 301, height: 1001 });
    expect([r.x % 2, r.y % 2, r.width % 2, r.height % 2]).toEqual([0, 0, 0, 0]);
  });
});
