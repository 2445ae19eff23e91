import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { problemsOf } from './problems.ts';
import {
  clipFrames,
  Timeline,
  TimelineRequest,
  timelineFrames,
  type TimelineInput,
  type TimelineRequestInput,
} from './timeline.ts';
import { applyOutputPreset, resolvePosition } from './timeline-geometry.ts';
import {
  parseTimelineRequest,
  requestSources,
  resolveTimeline,
  TimelineProblemsError,
  type SourceProbe,
} from './timeline-resolve.ts';

/** A Timeline as the first version wrote them (before transitions, volume, waveforms, presets). */
const oldTimeline: TimelineInput = {
  version: 1,
  duration: 10,
  tracks: [
    {
      clips: [
        {
          type: 'video',
          start: 0,
          duration: 10,
          source: { key: 'jobs/j/clips/caller.mp4' },
          position: { x: 0, y: 0, width: 640, height: 720 },
        },
        { type: 'text', text: 'Caller', start: 1, duration: 2, fadeIn: 0.5 },
      ],
    },
  ],
  audio: [{ name: 'call', source: { key: 'jobs/j/input/recording.wav' } }],
};

const problems = (schema: typeof Timeline | typeof TimelineRequest, input: unknown) => {
  const res = schema.safeParse(input);
  if (res.success) throw new Error('expected the input to be refused');
  return problemsOf(res.error);
};

describe('Timeline (resolved)', () => {
  it('keeps a first-version Timeline valid and fills every newer field with its default', () => {
    const t = Timeline.parse(oldTimeline);
    const video = t.tracks[0]!.clips[0]!;
    expect(video).toMatchObject({ volume: 1, elapsed: 0, trimStart: 0, loop: false, fit: 'contain' });
    expect(video.transition).toBeUndefined();
    expect(t.output).toMatchObject({
      width: 1280,
      height: 720,
      fps: 30,
      preset: 'final',
      poster: false,
      formats: ['mp4'],
    });
    expect(t.output.aspect).toBeUndefined();
  });

  it.each([
    ['16:9', {}, 1280, 720],
    ['9:16', {}, 720, 1280],
    ['1:1', {}, 720, 720],
    ['4:5', {}, 720, 900],
    ['9:16', { width: 1080 }, 1080, 1920],
    ['4:5', { height: 1350 }, 1080, 1350],
  ] as const)('sizes an output with aspect %s and %j as %i×%i', (aspect, size, width, height) => {
    const t = Timeline.parse({ ...oldTimeline, output: { aspect, ...size } });
    expect([t.output.width, t.output.height]).toEqual([width, height]);
  });

  it('refuses an aspect that contradicts an explicit size, and formats without mp4', () => {
    expect(
      problems(Timeline, {
        ...oldTimeline,
        output: { aspect: '9:16', width: 1280, height: 720, formats: ['hls'] },
      }),
    ).toEqual([
      {
        path: 'output.formats',
        message: 'must include "mp4" (the MP4 is always written; HLS is made beside it)',
      },
      { path: 'output.aspect', message: '9:16 does not match 1280×720; give one side, or none' },
    ]);
  });

  it('names every problem at once, each by its JSON path', () => {
    const bad = {
      version: 1,
      output: { width: 641, poster: { at: -1 } },
      tracks: [
        {
          clips: [
            { type: 'image', start: 0, duration: 2, source: { key: '../x.png' } },
            { type: 'sticker', start: 0, duration: 1 },
            {
              type: 'color',
              color: '#000000',
              start: 3,
              duration: 2,
              transition: { type: 'wipeleft', duration: 0.5 },
            },
            { type: 'text', text: 'hi', start: 4.5, duration: 1 },
          ],
        },
        {
          clips: [
            { type: 'waveform', start: 0, duration: 2, track: 'voice', source: { key: 'v.wav' } },
            { type: 'video', start: 0, duration: 2, source: { key: 'v.mp4' }, volume: -1 },
          ],
        },
      ],
      audio: [{ name: 'music', source: { key: 'm.mp3' }, duck: { under: 'voice' } }],
    };
    expect(problems(Timeline, bad).map((p) => p.path)).toEqual([
      'output.width',
      'output.poster.at',
      'tracks[0].clips[0].source.key',
      'tracks[0].clips[1].type',
      'tracks[1].clips[1].volume',
      'audio[0].duck.under',
      'tracks[0].clips[2].transition',
      'tracks[1].clips[0].source',
      'tracks[1].clips[0].track',
    ]);
  });

  it('requires the clip after a transition to start the transition before the clip ends', () => {
    const t = (nextStart: number) => ({
      version: 1,
      tracks: [
        {
          clips: [
            {
              type: 'image',
              source: { key: 'a.jpg' },
              start: 0,
              duration: 3,
              transition: { type: 'slideup', duration: 1 },
            },
            { type: 'image', source: { key: 'b.jpg' }, start: nextStart, duration: 3 },
          ],
        },
      ],
    });
    expect(Timeline.safeParse(t(2)).success).toBe(true);
    expect(problems(Timeline, t(3))).toEqual([
      {
        path: 'tracks[0].clips[1].start',
        message: 'must be 2 (the previous clip\'s end minus its 1 s transition); use "auto" in a request',
      },
    ]);
  });

  it('refuses transitions that eat a whole clip, a waveform of a looping or missing track', () => {
    const res = problems(Timeline, {
      version: 1,
      tracks: [
        {
          clips: [
            {
              type: 'color',
              color: '#111111',
              start: 0,
              duration: 2,
              transition: { type: 'fade', duration: 1 },
            },
            {
              type: 'color',
              color: '#222222',
              start: 1,
              duration: 1.5,
              transition: { type: 'fade', duration: 1 },
            },
            { type: 'color', color: '#333333', start: 1.5, duration: 2 },
          ],
        },
        {
          clips: [
            { type: 'waveform', track: 'bed', start: 0, duration: 2 },
            { type: 'waveform', track: 'nope', start: 0, duration: 2 },
          ],
        },
      ],
      audio: [{ name: 'bed', source: { key: 'm.mp3' }, loop: true }],
    });
    expect(res).toEqual([
      {
        path: 'tracks[0].clips[1].transition',
        message: 'and the transition into this clip (1 + 1 s) overlap: the clip is only 1.5 s',
      },
      { path: 'tracks[1].clips[0].track', message: '"bed" loops; draw a waveform of its file instead' },
      { path: 'tracks[1].clips[1].track', message: 'names no audio track ("nope")' },
    ]);
  });

  it('puts clips on the frame grid so back-to-back clips neither gap nor overlap', () => {
    const a = clipFrames({ start: 0, duration: 1.01, elapsed: 0 }, 30);
    const b = clipFrames({ start: 1.01, duration: 0.99, elapsed: 0.5 }, 30);
    expect(a).toEqual({ startFrame: 0, endFrame: 30, frames: 30, elapsedFrames: 0, totalFrames: 30 });
    expect(b).toEqual({ startFrame: 30, endFrame: 60, frames: 30, elapsedFrames: 15, totalFrames: 45 });
    expect(timelineFrames(Timeline.parse({ ...oldTimeline, duration: 10.01 }))).toBe(300);
  });

  it('takes a see-through text box as #rrggbbaa, and only the box', () => {
    const text = (extra: Record<string, unknown>) => ({
      ...oldTimeline,
      tracks: [{ clips: [{ type: 'text', text: 'Caller', start: 0, duration: 1, ...extra }] }],
    });
    const parsed = Timeline.parse(text({ boxColor: '#00000073' }));
    expect(parsed.tracks[0]!.clips[0]).toMatchObject({ boxColor: '#00000073' });
    expect(problems(Timeline, text({ boxColor: '#0000007', color: '#ffffff80' }))).toEqual([
      {
        path: 'tracks[0].clips[0].color',
        message: 'must be a colour like "#1a2b3c"',
      },
      {
        path: 'tracks[0].clips[0].boxColor',
        message: 'must be a colour like "#1a2b3c" or, with alpha, "#1a2b3c80"',
      },
    ]);
  });
});

describe('TimelineRequest', () => {
  it('accepts auto times and key, url and upload sources; start and duration default to auto', () => {
    const t = TimelineRequest.parse({
      version: 1,
      tracks: [
        {
          clips: [
            { type: 'video', source: { url: 'https://cdn.example.com/a.mp4' } },
            { type: 'video', source: { upload: 'clip2' }, start: 'auto', duration: 4 },
            { type: 'image', source: { key: 'brand/logo.png' }, start: 0, duration: 'auto' },
          ],
        },
      ],
      audio: [{ name: 'music', source: { upload: 'music' } }],
    });
    expect(t.tracks[0]!.clips.map((c) => [c.start, c.duration])).toEqual([
      ['auto', 'auto'],
      ['auto', 4],
      [0, 'auto'],
    ]);
    expect(requestSources(t)).toEqual([
      { path: 'tracks[0].clips[0].source', source: { url: 'https://cdn.example.com/a.mp4' }, needs: 'video' },
      { path: 'tracks[0].clips[1].source', source: { upload: 'clip2' }, needs: 'video' },
      { path: 'tracks[0].clips[2].source', source: { key: 'brand/logo.png' }, needs: 'video' },
      { path: 'audio[0].source', source: { upload: 'music' }, needs: 'audio' },
    ]);
  });

  it('says what is wrong inside the source a request was aiming at, and refuses mixed sources', () => {
    const res = parseTimelineRequest({
      version: 1,
      tracks: [
        {
          clips: [
            { type: 'video', source: { key: '/etc/passwd' } },
            { type: 'video', source: { url: 'ftp://example.com/a.mp4' } },
            { type: 'video', source: { key: 'a.mp4', url: 'https://example.com/a.mp4' } },
            { type: 'video', start: 'soon', source: { upload: 'f' } },
          ],
        },
      ],
    });
    expect(res.ok).toBe(false);
    if (res.ok) return;
    expect(res.problems).toEqual([
      {
        path: 'tracks[0].clips[0].source.key',
        message: 'must be a relative blob key without ".." segments or backslashes',
      },
      { path: 'tracks[0].clips[1].source.url', message: 'must be an http(s) URL' },
      { path: 'tracks[0].clips[2].source', message: 'Invalid input' },
      { path: 'tracks[0].clips[3].start', message: 'Invalid input' },
    ]);
  });
});

describe('TimelineRequest strictness', () => {
  const clip = (extra: Record<string, unknown>) => ({ type: 'video', source: { key: 'a.mp4' }, ...extra });
  const req = (over: Record<string, unknown> = {}) => ({
    version: 1,
    tracks: [{ clips: [clip({})] }, { clips: [clip({}), clip({}), clip({}), clip({})] }],
    audio: [{ name: 'music', source: { key: 'm.mp3' } }],
    ...over,
  });
  const paths = (input: unknown) => {
    const res = parseTimelineRequest(input);
    return res.ok ? [] : res.problems;
  };

  it.each([
    [
      'a clip',
      { tracks: [{ clips: [clip({})] }, { clips: [clip({}), clip({}), clip({}), clip({ transtion: {} })] }] },
      'tracks[1].clips[3].transtion',
    ],
    ['a video clip', { tracks: [{ clips: [clip({ volumee: 0.5 })] }] }, 'tracks[0].clips[0].volumee'],
    ['the output', { output: { fsp: 25 } }, 'output.fsp'],
    [
      'the output video settings',
      { output: { video: { crf: 20, presett: 'slow' } } },
      'output.video.presett',
    ],
    ['an audio track', { audio: [{ name: 'music', source: { key: 'm.mp3' }, gain: -3 }] }, 'audio[0].gain'],
    [
      'a ducking',
      {
        audio: [
          { name: 'v', source: { key: 'v.wav' } },
          { name: 'm', source: { key: 'm.mp3' }, duck: { under: 'v', amount: 3 } },
        ],
      },
      'audio[1].duck.amount',
    ],
    [
      'a transition',
      { tracks: [{ clips: [clip({ transition: { type: 'fade', duraton: 1 } }), clip({})] }] },
      'tracks[0].clips[0].transition.duraton',
    ],
    [
      'a named position',
      { tracks: [{ clips: [clip({ position: { anchor: 'top', scal: 0.5 } })] }] },
      'tracks[0].clips[0].position.scal',
    ],
    [
      'a Ken Burns window',
      {
        tracks: [
          {
            clips: [
              clip({
                motion: {
                  type: 'kenburns',
                  from: { zoom: 1, x: 0, y: 0 },
                  to: { zoom: 2, x: 0, y: 0, z: 1 },
                },
              }),
            ],
          },
        ],
      },
      'tracks[0].clips[0].motion.to.z',
    ],
    ['a poster', { output: { poster: { at: 1, frame: 2 } } }, 'output.poster.frame'],
    ['a track', { tracks: [{ clips: [], nmae: 'x' }] }, 'tracks[0].nmae'],
    ['the top level', { tracs: [] }, 'tracs'],
  ])('refuses an unknown field in %s, naming its JSON path', (_where, over, path) => {
    expect(paths(req(over))).toEqual([{ path, message: 'unknown field' }]);
  });

  it('names every misspelling at once', () => {
    expect(
      paths(
        req({
          output: { fsp: 30 },
          tracks: [
            { clips: [clip({ volumee: 2 })] },
            { clips: [clip({}), clip({}), clip({}), clip({ transtion: {} })] },
          ],
        }),
      ),
    ).toEqual([
      { path: 'output.fsp', message: 'unknown field' },
      { path: 'tracks[0].clips[0].volumee', message: 'unknown field' },
      { path: 'tracks[1].clips[3].transtion', message: 'unknown field' },
    ]);
  });

  it('keeps the resolved Timeline lenient: unknown fields are dropped, not refused', () => {
    const t = Timeline.parse({ ...oldTimeline, output: { fsp: 25 }, extra: true });
    expect(t.output).not.toHaveProperty('fsp');
    expect(t).not.toHaveProperty('extra');
  });
});

describe('audio track names', () => {
  const track = (name: string) => ({ name, source: { key: `${name}.mp3` } });
  it.each([
    ['two tracks of one name', ['music', 'music'], [['audio[1].name', 'music']]],
    [
      'three tracks of one name',
      ['music', 'music', 'music'],
      [
        ['audio[1].name', 'music'],
        ['audio[2].name', 'music'],
      ],
    ],
    [
      'two names repeated',
      ['a', 'b', 'a', 'b'],
      [
        ['audio[2].name', 'a'],
        ['audio[3].name', 'b'],
      ],
    ],
  ])('refuses %s with one problem per repeat, at the repeat', (_what, names, expected) => {
    expect(problems(Timeline, { version: 1, duration: 1, audio: names.map(track) })).toEqual(
      expected.map(([path, name]) => ({
        path,
        message: `audio track names must be unique ("${name}" is used before)`,
      })),
    );
  });
});

describe('resolvePosition', () => {
  const frame = { width: 1280, height: 720 };
  it.each([
    ['center', 480, 270],
    ['top', 480, 0],
    ['bottom', 480, 540],
    ['left', 0, 270],
    ['right', 960, 270],
    ['topLeft', 0, 0],
    ['topRight', 960, 0],
    ['bottomLeft', 0, 540],
    ['bottomRight', 960, 540],
  ] as const)('places a quarter-size box at %s at (%i, %i)', (anchor, x, y) => {
    expect(resolvePosition({ position: { anchor, scale: 0.25 }, frame })).toEqual({
      x,
      y,
      width: 320,
      height: 180,
    });
  });

  it('moves a named box by its offset, passes a Rect through and fills the frame without a position', () => {
    expect(
      resolvePosition({ position: { anchor: 'bottomRight', scale: 0.1, offset: { x: -20, y: -20 } }, frame }),
    ).toEqual({ x: 1132, y: 628, width: 128, height: 72 });
    const rect = { x: 5, y: 7, width: 100, height: 50 };
    expect(resolvePosition({ position: rect, frame })).toBe(rect);
    expect(resolvePosition({ position: undefined, frame })).toEqual({ x: 0, y: 0, width: 1280, height: 720 });
  });
});

describe('applyOutputPreset', () => {
  const full = Timeline.parse({
    version: 1,
    output: { width: 1920, height: 1080, fps: 30, preset: 'preview' },
    tracks: [
      {
        clips: [
          { type: 'image', source: { key: 'a.jpg' }, start: 0, duration: 2 },
          {
            type: 'image',
            source: { key: 'logo.png' },
            start: 0,
            duration: 2,
            position: { anchor: 'bottomRight', scale: 0.1, offset: { x: -40, y: -40 } },
          },
          {
            type: 'text',
            text: 'Hello',
            fontSize: 72,
            start: 0,
            duration: 2,
            position: { x: 100, y: 900, width: 1720, height: 120 },
          },
        ],
      },
    ],
  });

  it('renders a preview with a 480-pixel short side, 15 fps, a High-profile fast preset and scaled geometry', () => {
    const p = applyOutputPreset(full);
    expect(p.output).toMatchObject({ width: 854, height: 480, fps: 15, video: { preset: 'superfast' } });
    const [bg, logo, text] = p.tracks[0]!.clips;
    expect(bg!.position).toBeUndefined();
    // resolved at 1920×1080 (192×108 at 1688,932), then scaled by 480/1080
    expect(logo!.position).toEqual({ x: 750, y: 414, width: 86, height: 48 });
    expect(text!.position).toEqual({ x: 44, y: 400, width: 764, height: 54 });
    expect(text!.type === 'text' && text!.fontSize).toBe(32);
    expect(applyOutputPreset(p)).toEqual(p);
  });

  it('keeps the aspect of a portrait preview and never upscales a small one', () => {
    const portrait = applyOutputPreset(
      Timeline.parse({ ...oldTimeline, output: { aspect: '9:16', width: 1080, preset: 'preview' } }),
    );
    expect([portrait.output.width, portrait.output.height]).toEqual([480, 854]);
    const small = applyOutputPreset(
      Timeline.parse({ ...oldTimeline, output: { width: 320, height: 180, fps: 30, preset: 'preview' } }),
    );
    expect([small.output.width, small.output.height, small.output.fps]).toEqual([320, 180, 15]);
    expect(applyOutputPreset(Timeline.parse(oldTimeline))).toEqual(Timeline.parse(oldTimeline));
  });
});

describe('resolveTimeline', () => {
  const probes: Record<string, SourceProbe> = {
    'jobs/r1/input/a.mp4': { durationSec: 4.02, hasVideo: true, hasAudio: true },
    'uploads/b.mp4': { durationSec: 3, hasVideo: true, hasAudio: false },
    'brand/logo.png': { durationSec: 0.04, hasVideo: true },
    'voice.wav': { durationSec: 6.5, hasVideo: false, hasAudio: true },
  };
  const probe = (key: string) => probes[key];
  const keyOf = (s: { url: string } | { upload: string }) =>
    'url' in s ? 'jobs/r1/input/a.mp4' : s.upload === 'b' ? 'uploads/b.mp4' : undefined;

  it('fills every auto from the probes and the previous clip, snapped to frames, with keys for every source', () => {
    const request: TimelineRequestInput = {
      version: 1,
      output: { fps: 30 },
      tracks: [
        {
          clips: [
            {
              type: 'video',
              source: { url: 'https://cdn.example.com/a.mp4' },
              trimStart: 1,
              transition: { type: 'dissolve', duration: 0.51 },
            },
            { type: 'video', source: { upload: 'b' }, volume: 0 },
            { type: 'image', source: { key: 'brand/logo.png' }, duration: 1.26 },
          ],
        },
        {
          clips: [{ type: 'waveform', source: { key: 'voice.wav' }, start: 0.49, color: '#ff8800' }],
        },
      ],
      audio: [{ name: 'voice', source: { key: 'voice.wav' } }],
    };
    const t = resolveTimeline({ timeline: request, probe, keyOf });
    const frames = (s: number) => Math.round(s * 30);
    const [a, b, logo] = t.tracks[0]!.clips;
    // a: 4.02 s − 1 s trim = 3.02 s → 91 frames; its transition 0.51 s → 15 frames
    expect(a).toMatchObject({ source: { key: 'jobs/r1/input/a.mp4' }, trimStart: 1 });
    expect([frames(a!.start), frames(a!.duration), frames(a!.transition!.duration)]).toEqual([0, 91, 15]);
    // b starts where a's transition starts: 91 − 15
    expect(b).toMatchObject({ source: { key: 'uploads/b.mp4' }, volume: 0 });
    expect([frames(b!.start), frames(b!.duration)]).toEqual([76, 90]);
    expect([frames(logo!.start), frames(logo!.duration)]).toEqual([166, 38]);
    const wave = t.tracks[1]!.clips[0]!;
    expect([frames(wave.start), frames(wave.duration)]).toEqual([15, 195]);
    expect(t.audio[0]!.source).toEqual({ key: 'voice.wav' });
    // every time is an exact frame
    for (const c of t.tracks.flatMap((tr) => tr.clips)) {
      expect(c.start * 30).toBeCloseTo(Math.round(c.start * 30), 9);
      expect(c.duration * 30).toBeCloseTo(Math.round(c.duration * 30), 9);
    }
  });

  it('names every clip it cannot resolve, at once', () => {
    const request: TimelineRequestInput = {
      version: 1,
      tracks: [
        {
          clips: [
            { type: 'image', source: { key: 'brand/logo.png' } },
            { type: 'video', source: { upload: 'missing' } },
            { type: 'video', source: { key: 'jobs/r1/input/a.mp4' }, loop: true },
            { type: 'video', source: { key: 'jobs/r1/input/a.mp4' }, trimStart: 5 },
            { type: 'video', source: { key: 'voice.wav' }, duration: 2 },
            { type: 'text', text: 'x', start: 3 },
          ],
        },
      ],
      audio: [{ name: 'b', source: { upload: 'b' } }],
    };
    let err: unknown;
    try {
      resolveTimeline({ timeline: request, probe, keyOf });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TimelineProblemsError);
    expect((err as TimelineProblemsError).problems).toEqual([
      {
        path: 'tracks[0].clips[0].duration',
        message:
          '"auto" needs a source with a length (a video, or a waveform of a file); give seconds for a image clip',
      },
      { path: 'tracks[0].clips[1].source', message: 'upload "missing" was not fetched into blob storage' },
      {
        path: 'tracks[0].clips[2].duration',
        message: '"auto" cannot be used with loop (a looping clip has no length of its own); give seconds',
      },
      {
        path: 'tracks[0].clips[3].duration',
        message: '"auto": trimStart (5 s) is at or past the end of "jobs/r1/input/a.mp4" (4.02 s)',
      },
      {
        path: 'tracks[0].clips[4].source',
        message: '"voice.wav" has no picture; a video or image clip needs a video or image file',
      },
      {
        path: 'tracks[0].clips[5].duration',
        message:
          '"auto" needs a source with a length (a video, or a waveform of a file); give seconds for a text clip',
      },
      { path: 'audio[0].source', message: '"uploads/b.mp4" has no audio stream' },
    ]);
    expect((err as Error).message).toMatch(
      /^invalid timeline: tracks\[0\]\.clips\[0\]\.duration: "auto" needs/,
    );
  });

  it('refuses an explicit start that contradicts the transition before it, and reports schema problems first', () => {
    expect(() =>
      resolveTimeline({
        timeline: {
          version: 1,
          tracks: [
            {
              clips: [
                {
                  type: 'color',
                  color: '#000000',
                  start: 0,
                  duration: 2,
                  transition: { type: 'fade', duration: 1 },
                },
                { type: 'color', color: '#ffffff', start: 2, duration: 2 },
              ],
            },
          ],
        },
        probe,
      }),
    ).toThrow(/tracks\[0\]\.clips\[1\]\.start: must be/);
    expect(() => resolveTimeline({ timeline: { version: 2, duration: 1 }, probe })).toThrow(
      new TimelineProblemsError([{ path: 'version', message: 'Invalid input: expected 1' }]),
    );
  });
});

describe('the README', () => {
  it('shows a request Timeline that validates and resolves', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Timeline reference'));
    const example = JSON.parse(/```json\n([\s\S]*?)\n```/.exec(section)![1]!) as unknown;
    const parsed = parseTimelineRequest(example);
    expect(parsed.ok ? [] : parsed.problems).toEqual([]);
    const t = resolveTimeline({
      timeline: example,
      probe: (key) => ({ durationSec: key.endsWith('clip1.mp4') ? 6 : 60, hasVideo: true, hasAudio: true }),
      keyOf: (s) => ('url' in s ? 'jobs/r/input/photo.jpg' : `jobs/r/input/${s.upload}.mp4`),
    });
    // photo 0–4 s, the clip from 3.5 s for its 4 s after the trim, the colour from 7 s
    expect(t.tracks[0]!.clips.map((c) => [c.start, c.duration])).toEqual([
      [0, 4],
      [3.5, 4],
      [7, 2],
    ]);
    expect([t.output.width, t.output.height]).toEqual([1280, 720]);
  });
});
