import { timelineDuration, type Rect, type Timeline } from '@reelbus/contracts';
import { describe, expect, it } from 'vitest';
import {
  buildStoryTimeline,
  cornerLogoRect,
  imageSpans,
  musicTracks,
  type BuildStoryTimelineOptions,
} from './timeline.ts';

const LOGO = 'brand/default-logo.png';
const brand = { background: '#f3e9dc', introSeconds: 3, outroSeconds: 2 };

function story(over: Partial<BuildStoryTimelineOptions> = {}): Timeline {
  return buildStoryTimeline({
    voice: { key: 'jobs/j/normalize/voice.wav', durationSec: 115 },
    images: [{ key: 'jobs/j/images/0.png' }, { key: 'jobs/j/images/1.png' }, { key: 'jobs/j/images/2.png' }],
    logoKey: LOGO,
    brand,
    music: { key: 'music/family/Porch-Light/Porch-Light-240s.mp3', variantSec: 240, loop: false },
    musicGainDb: -25,
    duck: false,
    allowDegradation: false,
    ...over,
  });
}

const track = (t: Timeline, name: string) => t.tracks.find((tr) => tr.name === name);
/** Image clips that show content (not a logo) over time. */
const contentImages = (t: Timeline) => (track(t, 'images')?.clips ?? []).filter((c) => c.type === 'image');

describe('buildStoryTimeline', () => {
  it('shows 3 images for a user photo + 2 AI images, user photo first', () => {
    const t = story({ images: [{ key: 'user.png' }, { key: 'ai-1.png' }, { key: 'ai-2.png' }] });
    const shown = contentImages(t);
    expect(shown.map((c) => c.type === 'image' && c.source.key)).toEqual([
      'user.png',
      'ai-1.png',
      'ai-2.png',
    ]);
  });

  it('shows 3 images for no user photo + 3 AI images, spread evenly over the story', () => {
    const t = story({ voice: { key: 'v.wav', durationSec: 175 } });
    const shown = contentImages(t);
    expect(shown).toHaveLength(3);
    // Slots of 175/3 s from the end of the intro; neighbours overlap by the crossfade.
    const mids = shown.map((c) => c.start + c.duration / 2);
    expect(mids[0]).toBeCloseTo(3 + 175 / 6, 0);
    expect(mids[2]! - mids[1]!).toBeCloseTo(175 / 3, 0);
    expect(shown[0]!.start).toBe(3);
    expect(shown[2]!.start + shown[2]!.duration).toBeCloseTo(3 + 175, 3);
  });

  it('crossfades neighbouring images: the next fades in over the one still showing', () => {
    const [a, b] = contentImages(story());
    expect(b!.start).toBeLessThan(a!.start + a!.duration);
    expect(b!.fadeIn).toBeCloseTo(a!.start + a!.duration - b!.start, 3);
  });

  it('moves every image with Ken Burns, and no two neighbours move alike', () => {
    const shown = contentImages(story());
    for (const c of shown) expect(c.motion?.type).toBe('kenburns');
    for (let i = 1; i < shown.length; i++) expect(shown[i]!.motion).not.toEqual(shown[i - 1]!.motion);
    expect(shown.every((c) => c.fit === 'cover' && c.position === undefined)).toBe(true);
  });

  it('falls back to the logo centred on the background when there are no images', () => {
    const t = story({ images: [] });
    expect(track(t, 'images')).toBeUndefined();
    const [fallback] = track(t, 'logo-fallback')!.clips;
    expect(fallback).toMatchObject({
      type: 'image',
      source: { key: LOGO },
      start: 3,
      duration: 115,
      fit: 'contain',
    });
    const p = fallback!.position as Rect;
    expect(p.x + p.width / 2).toBe(960);
    expect(p.y + p.height / 2).toBe(540);
  });

  it('lasts intro + story + outro exactly', () => {
    const t = story({ voice: { key: 'v.wav', durationSec: 61.37 } });
    expect(t.duration).toBe(66.37);
    expect(timelineDuration(t)).toBe(66.37);
    expect(t.output).toMatchObject({ width: 1920, height: 1080, fps: 30 });
    expect(t.background).toBe('#f3e9dc');
  });

  it('shows the logo in the corner at 80 % only during the content, centred during intro and outro', () => {
    const t = story();
    const [corner] = track(t, 'corner-logo')!.clips;
    expect(corner).toMatchObject({ start: 3, duration: 115, opacity: 0.8, position: cornerLogoRect() });
    const p = corner!.position as Rect;
    expect(p.x + p.width).toBeLessThan(1920);
    expect(p.x).toBeGreaterThan(1920 / 2);
    expect(p.y).toBeGreaterThan(1080 / 2);
    expect(track(t, 'intro')!.clips[0]).toMatchObject({ start: 0, duration: 3, source: { key: LOGO } });
    expect(track(t, 'outro')!.clips[0]).toMatchObject({ start: 118, duration: 2, source: { key: LOGO } });
  });

  it('plays the voice after the intro and the music under the whole video at gainDb', () => {
    const t = story({ musicGainDb: -25 });
    const voice = t.audio.find((a) => a.name === 'voice')!;
    expect(voice).toMatchObject({ start: 3, duration: 115, gainDb: 0 });
    const music = t.audio.find((a) => a.name === 'music')!;
    expect(music).toMatchObject({ start: 0, duration: 120, gainDb: -25, loop: false });
    expect(music.fadeIn).toBeGreaterThan(0);
    expect(music.fadeOut).toBeGreaterThan(0);
    expect(music.duck).toBeUndefined();
  });

  it('ducks the music under the voice when asked', () => {
    const music = story({ duck: true }).audio.find((a) => a.name === 'music')!;
    expect(music.duck).toMatchObject({ under: 'voice' });
  });

  it('has no music for mood none', () => {
    expect(story({ music: undefined }).audio.map((a) => a.name)).toEqual(['voice']);
  });

  it('leaves out intro and outro when they are 0 s', () => {
    const t = story({ brand: { ...brand, introSeconds: 0, outroSeconds: 0 } });
    expect(track(t, 'intro')).toBeUndefined();
    expect(track(t, 'outro')).toBeUndefined();
    expect(t.duration).toBe(115);
  });

  it('passes allowDegradation on', () => {
    expect(story({ allowDegradation: true }).allowDegradation).toBe(true);
  });
});

describe('musicTracks', () => {
  it('repeats a variant shorter than the video as overlapping copies that crossfade at each loop point', () => {
    const tracks = musicTracks({
      music: { key: 'm.mp3', variantSec: 240, loop: true },
      total: 600,
      gainDb: -25,
      duck: true,
    });
    expect(tracks.map((t) => t.name)).toEqual(['music', 'music-2', 'music-3']);
    for (let k = 1; k < tracks.length; k++) {
      const prev = tracks[k - 1]!;
      const overlap = prev.start + prev.duration! - tracks[k]!.start;
      expect(overlap).toBeCloseTo(2, 3);
      expect(prev.fadeOut).toBeCloseTo(overlap, 3);
      expect(tracks[k]!.fadeIn).toBeCloseTo(overlap, 3);
    }
    const last = tracks[tracks.length - 1]!;
    expect(last.start + last.duration!).toBeCloseTo(600, 3);
    expect(tracks.every((t) => t.gainDb === -25 && t.duck?.under === 'voice' && !t.loop)).toBe(true);
  });

  it('plays a long-enough variant once, cut to the video', () => {
    expect(
      musicTracks({
        music: { key: 'm.mp3', variantSec: 60, loop: false },
        total: 45,
        gainDb: -20,
        duck: false,
      }),
    ).toEqual([expect.objectContaining({ name: 'music', start: 0, duration: 45, loop: false })]);
  });
});

describe('imageSpans', () => {
  it('covers the story exactly with one image', () => {
    expect(imageSpans({ count: 1, start: 3, duration: 10 })).toEqual([
      { start: 3, duration: 10, fadeIn: 0.5, fadeOut: 0.5 },
    ]);
  });
});
