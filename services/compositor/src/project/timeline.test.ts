import {
  Project,
  Timeline,
  applyOutputPreset,
  timelineDuration,
  type ProjectInput,
} from '@reelbus/contracts';
import { describe, expect, it } from 'vitest';
import {
  MUSIC_DUCK_DB,
  layoutProject,
  musicGainDb,
  narrationPlacements,
  overlayPosition,
  stillMotion,
  projectTimeline,
  type ProjectAssets,
} from './timeline.ts';

const project = (over: Partial<ProjectInput> = {}): Project =>
  Project.parse({
    title: 'Launch',
    scenes: [
      { id: 'a', narration: 'One.', visual: { key: 'a.png' }, transition: { type: 'fade', duration: 0.5 } },
      {
        id: 'b',
        narration: 'Two.',
        visual: { key: 'b.mp4' },
        duration: 3,
        overlay: {
          image: { key: 'p.png' },
          position: { x: 'right', y: 'top' },
          scale: 0.25,
          animation: 'zoom',
        },
      },
      { id: 'c', narration: '', visual: { key: 'c.png' }, duration: 2.5 },
    ],
    music: { source: { mood: 'calm' } },
    ...over,
  });

const assets = (over: Partial<ProjectAssets> = {}): ProjectAssets => ({
  visuals: {
    a: { media: 'image', key: 'projects/p/assets/a.png' },
    b: { media: 'video', key: 'projects/p/assets/b.mp4' },
    c: { media: 'image', key: 'projects/p/assets/c.png' },
  },
  voiceoverSec: { a: 1.9, b: 1.2 },
  narrationKey: 'jobs/j/narration.wav',
  overlays: { b: 'projects/p/assets/p.png' },
  musicKey: 'projects/p/assets/music.m4a',
  ...over,
});

const build = (p = project(), a = assets(), preset: 'preview' | 'final' = 'final') =>
  Timeline.parse(projectTimeline({ project: p, preset, assets: a }));

describe('project → Timeline', () => {
  it('places the scenes in order, each as long as its duration or its voiceover plus a pause (at least 2 s)', () => {
    const t = build();
    const clips = t.tracks[0]!.clips;
    expect(clips.map((c) => c.type)).toEqual(['image', 'video', 'image']);
    expect(clips.map((c) => (c as { source: { key: string } }).source.key)).toEqual([
      'projects/p/assets/a.png',
      'projects/p/assets/b.mp4',
      'projects/p/assets/c.png',
    ]);
    // a: 1.9 s voiceover + 0.6 s pause = 2.5 s; b: 3 s; c: 2.5 s.
    expect(clips.map((c) => c.duration)).toEqual([2.5, 3, 2.5]);
    // The fade overlaps a and b: b starts 0.5 s before a ends; the video is 0.5 s shorter than 8 s.
    expect(clips.map((c) => c.start)).toEqual([0, 2, 5]);
    expect(t.duration).toBe(7.5);
    expect(timelineDuration(t)).toBe(7.5);
    const short = build(project({ scenes: [{ id: 'x', narration: 'Hi', visual: { key: 'x.png' } }] }), {
      ...assets(),
      visuals: { x: { media: 'image', key: 'x.png' } },
      voiceoverSec: { x: 0.4 },
    });
    expect(short.tracks[0]!.clips[0]!.duration).toBe(2);
  });

  it('gives stills Ken Burns and trims videos to their scene with their own sound muted', () => {
    const [a, b, c] = build().tracks[0]!.clips;
    expect(a!.motion?.type).toBe('kenburns');
    expect(c!.motion?.type).toBe('kenburns');
    expect(a!.motion).toEqual(stillMotion(0));
    expect(stillMotion(1)).not.toEqual(stillMotion(0)); // alternate directions
    expect(b).toMatchObject({
      type: 'video',
      duration: 3,
      trimStart: 0,
      loop: false,
      volume: 0,
      fit: 'cover',
    });
    expect(b!.motion).toBeUndefined();
  });

  it('makes the video shorter by the transitions, each clamped to half of either neighbour', () => {
    const p = project();
    p.scenes[0]!.transition = { type: 'wipeleft', duration: 5 };
    p.scenes[1]!.transition = { type: 'dissolve', duration: 1 };
    const t = build(p);
    const [a, b] = t.tracks[0]!.clips;
    // Half of a's 2.5 s, in whole frames: 37 of 75.
    expect(a!.transition).toEqual({ type: 'wipeleft', duration: 1.233333 });
    expect(b!.transition).toEqual({ type: 'dissolve', duration: 1 });
    expect(t.duration).toBeCloseTo(2.5 + 3 + 2.5 - 37 / 30 - 1, 5);
    // The last scene's transition leads nowhere and is not rendered.
    p.scenes[2]!.transition = { type: 'fade', duration: 1 };
    expect(build(p).tracks[0]!.clips[2]!.transition).toBeUndefined();
  });

  it('draws an enabled overlay over its scene at its position, scale and animation, and none when disabled', () => {
    const t = build();
    const overlays = t.tracks.find((tr) => tr.name === 'overlays')!.clips;
    expect(overlays).toHaveLength(1);
    expect(overlays[0]).toMatchObject({
      type: 'image',
      start: 2,
      duration: 3,
      fit: 'contain',
      position: { anchor: 'topRight', scale: 0.25, offset: { x: -43, y: 43 } },
      fadeIn: 0.4,
      motion: { from: { zoom: 1.25 }, to: { zoom: 1 } },
    });
    const off = project();
    off.scenes[1]!.overlay!.enabled = false;
    expect(build(off).tracks.find((tr) => tr.name === 'overlays')).toBeUndefined();
    expect(
      overlayPosition(
        { ...off.scenes[1]!.overlay!, position: { x: 'center', y: 'center' } },
        { width: 1920, height: 1080 },
      ),
    ).toEqual({
      anchor: 'center',
      scale: 0.25,
      offset: { x: 0, y: 0 },
    });
    const fade = project();
    fade.scenes[1]!.overlay!.animation = 'none';
    const none = build(fade).tracks.find((tr) => tr.name === 'overlays')!.clips[0]!;
    expect([none.fadeIn, none.fadeOut, none.motion]).toEqual([0, 0, undefined]);
  });

  it('places each voiceover at its scene start and the music under the narration at 20·log10(volume), ducked', () => {
    const p = project();
    const layout = layoutProject({ project: p, preset: 'final', voiceoverSec: assets().voiceoverSec });
    expect(narrationPlacements(layout, { a: 'va.wav', b: 'vb.wav' })).toEqual([
      { sceneId: 'a', key: 'va.wav', startSec: 0 },
      { sceneId: 'b', key: 'vb.wav', startSec: 2 },
    ]);
    const t = build(p);
    expect(t.audio.map((a) => a.name)).toEqual(['narration', 'music']);
    expect(t.audio[0]).toMatchObject({
      source: { key: 'jobs/j/narration.wav' },
      start: 0,
      gainDb: 0,
      duration: 7.5,
    });
    expect(t.audio[1]).toMatchObject({
      loop: true,
      duration: 7.5,
      gainDb: -16.48,
      duck: { under: 'narration', amountDb: MUSIC_DUCK_DB },
    });
    expect(musicGainDb(1)).toBe(0);
    expect(musicGainDb(0.5)).toBe(-6.02);
    const noDuck = project({ music: { duck: false, volume: 0.5 } });
    expect(build(noDuck).audio[1]).toMatchObject({ gainDb: -6.02 });
    expect(build(noDuck).audio[1]!.duck).toBeUndefined();
    expect(build(project({ music: { volume: 0 } })).audio.map((a) => a.name)).toEqual(['narration']);
    expect(build(project({ music: { enabled: false } })).audio.map((a) => a.name)).toEqual(['narration']);
  });

  it('adds brand intro and outro cards around the scenes', () => {
    const p = project({
      brand: { color: '#224466', intro: { text: 'Acme', duration: 1.5 }, outro: { text: 'acme.test' } },
    });
    const t = build(p, assets({ logoKey: 'brand/logo.png' }));
    const scenes = t.tracks[0]!.clips;
    expect(scenes[0]).toMatchObject({ type: 'color', color: '#224466', start: 0, duration: 1.5 });
    expect(scenes[1]!.start).toBe(1.5);
    expect(scenes.at(-1)).toMatchObject({ type: 'color', start: 9, duration: 2 });
    expect(t.duration).toBe(1.5 + 7.5 + 2);
    const cards = t.tracks.find((tr) => tr.name === 'cards')!.clips;
    expect(cards.map((c) => c.type)).toEqual(['text', 'image', 'text', 'image']);
    expect(cards[0]).toMatchObject({ text: 'Acme' });
  });

  it('draws a placeholder card for a visual that could not be had', () => {
    const t = build(
      project(),
      assets({ visuals: { ...assets().visuals, b: { media: 'placeholder', reason: 'x' } } }),
    );
    expect(t.tracks[0]!.clips[1]).toMatchObject({ type: 'color', start: 2, duration: 3 });
  });

  it('renders 1080p at the project aspect for the final, and the preview preset at 480p / 15 fps', () => {
    expect(build().output).toMatchObject({ width: 1920, height: 1080, fps: 30, preset: 'final' });
    const vertical = build(project({ output: { aspect: '9:16' } }));
    expect(vertical.output).toMatchObject({ width: 1080, height: 1920 });
    const preview = applyOutputPreset(build(project(), assets(), 'preview'));
    expect(preview.output).toMatchObject({ width: 854, height: 480, fps: 15, preset: 'preview' });
    // Every start and length sits on the preview's frame grid.
    for (const c of preview.tracks[0]!.clips) {
      expect(Math.abs(c.start * 15 - Math.round(c.start * 15))).toBeLessThan(1e-3);
      expect(Math.abs(c.duration * 15 - Math.round(c.duration * 15))).toBeLessThan(1e-3);
    }
  });
});
