import {
  Timeline,
  type AudioTrack,
  type ClipInput,
  type KenBurns,
  type TimelineInput,
} from '@reelbus/contracts';

/**
 * The story slideshow as a Timeline (pure): the reference's `buildComprehensiveImageSequence` plus
 * its audio mix, with the lessons applied (probed duration, one image list, music under the voice).
 *
 *   0 ─ intro ─ I ─────────── story (voice) ─────────── I+D ─ outro ─ T
 *   background colour the whole time
 *   logo centred      images (Ken Burns, crossfades)     logo centred
 *                     corner logo (80 %)
 *   music ──────────────────────────────────────────────────────────── (gainDb, ducked under the voice)
 */

export const STORY_SIZE = { width: 1920, height: 1080 } as const;
export const STORY_FPS = 30;
/** Centred logo (intro, outro, no-image fallback): fitted into this box. */
export const CENTRE_LOGO_BOX = { width: 768, height: 432 } as const;
/** Corner logo: fitted into this box, this far from the bottom-right corner. */
export const CORNER_LOGO_BOX = { width: 240, height: 136, margin: 40 } as const;
export const CORNER_LOGO_OPACITY = 0.8;
/** Longest crossfade between two images (shorter when images are shown briefly). */
export const IMAGE_CROSSFADE_SEC = 1;
/** Fade of the music at the very start and end of the video. */
export const MUSIC_EDGE_FADE_SEC = 1;
/** Crossfade where a looped music variant meets its next repeat. */
export const MUSIC_LOOP_CROSSFADE_SEC = 2;
/** Audio tracks a Timeline may hold (contracts: 32), less the voice. */
const MAX_MUSIC_COPIES = 31;

/**
 * Ken Burns moves, used in turn so consecutive images never move alike: zoom in, pan right, zoom out,
 * pan left, zoom in elsewhere. Zooms stay small (≤ 1.18) so faces stay in frame; the encoder pans
 * at sub-pixel positions (see its Ken Burns filter), so slow moves are smooth.
 */
export const KEN_BURNS_MOVES: Array<Pick<KenBurns, 'from' | 'to'>> = [
  { from: { zoom: 1, x: 0.5, y: 0.5 }, to: { zoom: 1.15, x: 0.35, y: 0.4 } },
  { from: { zoom: 1.12, x: 0, y: 0.5 }, to: { zoom: 1.12, x: 1, y: 0.5 } },
  { from: { zoom: 1.18, x: 0.6, y: 0.6 }, to: { zoom: 1, x: 0.5, y: 0.5 } },
  { from: { zoom: 1.12, x: 1, y: 0.4 }, to: { zoom: 1.12, x: 0, y: 0.6 } },
  { from: { zoom: 1, x: 0.5, y: 0.5 }, to: { zoom: 1.15, x: 0.65, y: 0.6 } },
];

export interface StoryMusic {
  key: string;
  /** Length of the chosen variant (seconds). */
  variantSec: number;
  /** The variant is shorter than the video: repeat it with crossfades. */
  loop: boolean;
}

export interface BuildStoryTimelineOptions {
  /** The normalised voice and its probed duration. */
  voice: { key: string; durationSec: number };
  /** Images in display order (user photo first). Empty → the logo-only fallback. */
  images: Array<{ key: string }>;
  /** The brand logo (the job's, or the bundled default). */
  logoKey: string;
  brand: { background: string; introSeconds: number; outroSeconds: number };
  /** Undefined: no music (mood `none`, or none in the library). */
  music?: StoryMusic | undefined;
  musicGainDb: number;
  duck: boolean;
  allowDegradation: boolean;
}

const r3 = (n: number) => Math.round(n * 1000) / 1000;

function centredRect(box: { width: number; height: number }) {
  return {
    x: Math.round((STORY_SIZE.width - box.width) / 2),
    y: Math.round((STORY_SIZE.height - box.height) / 2),
    width: box.width,
    height: box.height,
  };
}

/** The corner logo's rectangle (bottom-right), for tests that look at those pixels. */
export function cornerLogoRect() {
  const { width, height, margin } = CORNER_LOGO_BOX;
  return { x: STORY_SIZE.width - margin - width, y: STORY_SIZE.height - margin - height, width, height };
}

/** Where each image is on screen: even slots over the story, neighbours overlapping by a crossfade. */
export function imageSpans({ count, start, duration }: { count: number; start: number; duration: number }) {
  const slot = duration / count;
  const x = Math.min(IMAGE_CROSSFADE_SEC, slot / 4);
  const edgeFade = Math.min(0.5, slot / 4);
  return Array.from({ length: count }, (_, i) => {
    const from = start + i * slot - (i > 0 ? x / 2 : 0);
    const to = start + (i + 1) * slot + (i < count - 1 ? x / 2 : 0);
    // The incoming image (drawn on top) fades in over the outgoing one, which stays opaque: a crossfade.
    return {
      start: r3(from),
      duration: r3(to - from),
      fadeIn: r3(i > 0 ? x : edgeFade),
      fadeOut: r3(i === count - 1 ? edgeFade : 0),
    };
  });
}

/**
 * The music under the whole video. A variant at least as long as the video plays once; a shorter
 * one (longer stories than the longest variant) is laid end to end as copies that overlap by
 * MUSIC_LOOP_CROSSFADE_SEC, the outgoing fading out while the next fades in (a linear crossfade
 * at each loop point). Beyond 31 copies the last one loops hard (`loop: true`).
 */
export function musicTracks({
  music,
  total,
  gainDb,
  duck,
}: {
  music: StoryMusic;
  total: number;
  gainDb: number;
  duck: boolean;
}): AudioTrack[] {
  const edge = Math.min(MUSIC_EDGE_FADE_SEC, total / 4);
  const common = {
    source: { key: music.key },
    gainDb,
    trimStart: 0,
    ...(duck ? { duck: { under: 'voice', amountDb: 10, attackMs: 50, releaseMs: 600 } } : {}),
  };
  if (!music.loop || music.variantSec >= total) {
    return [
      {
        name: 'music',
        ...common,
        start: 0,
        duration: r3(total),
        loop: false,
        fadeIn: r3(edge),
        fadeOut: r3(edge),
      },
    ];
  }
  const xf = Math.min(MUSIC_LOOP_CROSSFADE_SEC, music.variantSec / 4);
  const step = music.variantSec - xf;
  const copies = Math.ceil((total - xf) / step);
  const tracks: AudioTrack[] = [];
  for (let k = 0; k < Math.min(copies, MAX_MUSIC_COPIES); k++) {
    const start = k * step;
    const last = k === Math.min(copies, MAX_MUSIC_COPIES) - 1;
    const hardLoop = last && copies > MAX_MUSIC_COPIES;
    const duration = last ? total - start : music.variantSec;
    tracks.push({
      name: k === 0 ? 'music' : `music-${k + 1}`,
      ...common,
      start: r3(start),
      duration: r3(duration),
      loop: hardLoop,
      fadeIn: r3(k === 0 ? edge : xf),
      fadeOut: r3(last ? edge : xf),
    });
  }
  return tracks;
}

/** The story's Timeline: 1920×1080, 30 fps, total = intro + voice + outro exactly. */
export function buildStoryTimeline(opts: BuildStoryTimelineOptions): Timeline {
  const { voice, images, logoKey, brand, music, musicGainDb, duck, allowDegradation } = opts;
  const I = brand.introSeconds;
  const D = voice.durationSec;
  const O = brand.outroSeconds;
  const T = r3(I + D + O);
  const logoFade = (len: number) => r3(Math.min(0.5, len / 4));
  const centre = centredRect(CENTRE_LOGO_BOX);
  const logo = (start: number, duration: number, extra: Partial<ClipInput> = {}): ClipInput =>
    ({
      type: 'image',
      source: { key: logoKey },
      start: r3(start),
      duration: r3(duration),
      position: centre,
      fit: 'contain',
      fadeIn: logoFade(duration),
      fadeOut: logoFade(duration),
      ...extra,
    }) as ClipInput;

  const tracks: TimelineInput['tracks'] = [];
  if (I > 0) tracks.push({ name: 'intro', clips: [logo(0, I)] });
  if (images.length > 0) {
    const spans = imageSpans({ count: images.length, start: I, duration: D });
    tracks.push({
      name: 'images',
      clips: images.map((img, i) => ({
        type: 'image',
        source: { key: img.key },
        ...spans[i]!,
        fit: 'cover',
        motion: { type: 'kenburns', ...KEN_BURNS_MOVES[i % KEN_BURNS_MOVES.length]! },
      })),
    });
  } else {
    // The reference's fallback: the logo centred on the background through the content.
    tracks.push({ name: 'logo-fallback', clips: [logo(I, D)] });
  }
  tracks.push({
    name: 'corner-logo',
    clips: [
      {
        type: 'image',
        source: { key: logoKey },
        start: r3(I),
        duration: r3(D),
        position: cornerLogoRect(),
        fit: 'contain',
        opacity: CORNER_LOGO_OPACITY,
        fadeIn: r3(Math.min(0.3, D / 4)),
        fadeOut: r3(Math.min(0.3, D / 4)),
      },
    ],
  });
  if (O > 0) tracks.push({ name: 'outro', clips: [logo(I + D, O)] });

  const audio: TimelineInput['audio'] = [
    { name: 'voice', source: { key: voice.key }, start: r3(I), duration: r3(D) },
    ...(music ? musicTracks({ music, total: T, gainDb: musicGainDb, duck }) : []),
  ];

  return Timeline.parse({
    version: 1,
    output: { width: STORY_SIZE.width, height: STORY_SIZE.height, fps: STORY_FPS },
    duration: T,
    background: brand.background,
    tracks,
    audio,
    allowDegradation,
  } satisfies TimelineInput);
}
