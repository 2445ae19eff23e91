import { describe, expect, it } from 'vitest';
import { Timeline, type TimelineInput } from '@reelbus/contracts';
import { buildChunkJoinArgs, concatList } from './join.ts';
import { chunkTimeline, planChunks } from './plan.ts';

const still = (key: string, start: number, duration: number, extra: object = {}) => ({
  type: 'image' as const,
  source: { key },
  start,
  duration,
  ...extra,
});

describe('planChunks', () => {
  it('cuts a Timeline into equal frame counts, the last chunk shorter, adding up to round(duration × fps)', () => {
    const plan = planChunks({ timeline: { version: 1, duration: 100.01 }, chunkSeconds: 30 });
    expect(plan).toEqual({
      fps: 30,
      totalFrames: 3000,
      chunkFrames: 900,
      chunks: [
        { index: 0, startFrame: 0, frameCount: 900 },
        { index: 1, startFrame: 900, frameCount: 900 },
        { index: 2, startFrame: 1800, frameCount: 900 },
        { index: 3, startFrame: 2700, frameCount: 300 },
      ],
    });
  });

  it('never puts a boundary inside a transition: it moves to the transition’s end, the next stays on the grid', () => {
    const plan = planChunks({
      timeline: {
        version: 1,
        tracks: [
          {
            clips: [
              still('a.jpg', 0, 10.5, { transition: { type: 'fade', duration: 1 } }),
              // blends over frames 285..314: boundary 300 moves to 315
              still('b.jpg', 9.5, 10, { transition: { type: 'wipeleft', duration: 0.5 } }),
              // blends over 570..584: boundary 600 is after it
              still('c.jpg', 19, 11),
            ],
          },
          {
            clips: [
              // a blend on another track that begins inside the first one's: 310..330 → 315 moves again
              still('x.png', 0, 11, { transition: { type: 'dissolve', duration: 0.6667 } }),
              still('y.png', 10.3333, 5),
            ],
          },
        ],
      },
      chunkSeconds: 10,
    });
    expect(plan.chunks).toEqual([
      { index: 0, startFrame: 0, frameCount: 330 },
      { index: 1, startFrame: 330, frameCount: 270 },
      { index: 2, startFrame: 600, frameCount: 300 },
    ]);
  });

  it('plans a preview on its own frame rate', () => {
    const plan = planChunks({
      timeline: { version: 1, duration: 61, output: { preset: 'preview' } },
      chunkSeconds: 30,
    });
    expect([plan.fps, plan.totalFrames, plan.chunks.map((c) => c.frameCount)]).toEqual([
      15,
      915,
      [450, 450, 15],
    ]);
  });
});

describe('chunkTimeline', () => {
  const timeline: TimelineInput = {
    version: 1,
    output: { width: 320, height: 180, fps: 30 },
    duration: 12,
    tracks: [
      {
        clips: [
          still('a.jpg', 0, 4, {
            fadeIn: 0.5,
            motion: { type: 'kenburns', from: { zoom: 1, x: 0.5, y: 0.5 }, to: { zoom: 1.2, x: 0, y: 0 } },
            transition: { type: 'fade', duration: 1 },
          }),
          {
            type: 'video',
            source: { key: 'v.mp4' },
            start: 3,
            duration: 6,
            trimStart: 2,
            fadeOut: 1,
            transition: { type: 'circleopen', duration: 1 },
          },
          still('b.jpg', 8, 4),
        ],
      },
      {
        clips: [
          { type: 'text', text: 'early', start: 0, duration: 2 },
          {
            type: 'waveform',
            track: 'voice',
            start: 1,
            duration: 11,
            position: { anchor: 'bottom', scale: 0.3 },
          },
        ],
      },
    ],
    audio: [{ name: 'voice', source: { key: 'voice.wav' }, start: 0.5, trimStart: 1 }],
  };

  it('holds only the clips that overlap its frames, each continued from where the chunk starts', () => {
    // frames 150..239 (5 s to 8 s)
    const sub = chunkTimeline({ timeline, startFrame: 150, frameCount: 90 });
    expect(sub.duration).toBe(3);
    expect(sub.audio).toEqual([]); // chunks are video-only; the audio is rendered once
    const [video] = sub.tracks[0]!.clips;
    // a.jpg ended at 4 s, b.jpg starts at 8 s: neither is in the chunk
    expect(sub.tracks[0]!.clips).toHaveLength(1);
    // the video began at 3 s: 2 s (60 frames) of it were shown; its trim continues through `elapsed`,
    // its fade-out stays at its own end, and its transition into b.jpg (outside the chunk) is left out
    expect(video).toMatchObject({
      type: 'video',
      start: 0,
      duration: 4,
      elapsed: 2,
      trimStart: 2,
      fadeOut: 1,
    });
    expect(video!.transition).toBeUndefined();
    const [wave] = sub.tracks[1]!.clips;
    // the track waveform becomes one of the track's file: at 1 s the track (from 0.5 s, trim 1 s) plays its file at 1.5 s
    expect(wave).toMatchObject({
      type: 'waveform',
      source: { key: 'voice.wav' },
      trimStart: 1.5,
      start: 0,
      elapsed: 4,
    });
    expect(wave!.type === 'waveform' && wave!.track).toBeUndefined();
    expect(sub.tracks[1]!.clips).toHaveLength(1); // the text ended before
  });

  it('keeps a transition when both of its clips are in the chunk, and Ken Burns and fades continue on the clip’s clock', () => {
    // frames 60..179: a.jpg from frame 60 of 120 with its transition into the video
    const sub = chunkTimeline({ timeline, startFrame: 60, frameCount: 120 });
    const [a, video] = sub.tracks[0]!.clips;
    expect(a).toMatchObject({ start: 0, duration: 2, elapsed: 2, fadeIn: 0.5 });
    expect(a!.motion).toEqual(Timeline.parse(timeline).tracks[0]!.clips[0]!.motion);
    expect(a!.transition).toEqual({ type: 'fade', duration: 1 });
    expect(video).toMatchObject({ start: 1, duration: 6, elapsed: 0 });
    // still a valid Timeline (the transition's overlap is where it was)
    expect(Timeline.safeParse(sub).success).toBe(true);
  });
});

describe('chunk joins', () => {
  it('lists chunks for the concat demuxer, quoting each path', () => {
    expect(concatList(['/tmp/j/chunk-0.mp4', "/tmp/it's/chunk-1.mp4"])).toBe(
      "file '/tmp/j/chunk-0.mp4'\nfile '/tmp/it'\\''s/chunk-1.mp4'\n",
    );
  });

  it('joins the chunks and muxes the audio by stream copy, moov first', () => {
    expect(
      buildChunkJoinArgs({
        list: '/tmp/j/chunks.txt',
        audio: '/tmp/j/audio.m4a',
        output: '/tmp/j/final.mp4',
      }),
    ).toEqual([
      '-f',
      'concat',
      '-safe',
      '0',
      '-i',
      '/tmp/j/chunks.txt',
      '-i',
      '/tmp/j/audio.m4a',
      '-map',
      '0:v:0',
      '-map',
      '1:a:0',
      '-c',
      'copy',
      '-movflags',
      '+faststart',
      '/tmp/j/final.mp4',
    ]);
  });
});
