import {
  ASPECTS,
  PREVIEW_FPS,
  type Anchor,
  type ClipInput,
  type KenBurns,
  type Overlay,
  type Project,
  type ProjectRenderPreset,
  type TimelineInput,
} from '@reelbus/contracts';

/*
 * Project → Timeline, a pure function of the project and its made assets: scenes in order on one track
 * (stills with Ken Burns, videos trimmed or holding their last frame), transitions overlapping
 * neighbouring scenes, product overlays with their animation on a track above, the narration (one audio
 * track: each scene's voiceover placed at its scene's start) and the music under it at
 * 20·log10(volume) dB, ducked while the narration speaks, and brand intro/outro cards.
 */

/** Seconds of quiet after a scene's voiceover when the scene has no duration of its own. */
export const NARRATION_PAUSE_SEC = 0.6;
/** The shortest scene whose duration comes from its voiceover. */
export const MIN_SCENE_SEC = 2;
/** Seconds of an overlay's fade (in and out). */
export const OVERLAY_FADE_SEC = 0.4;
/** How far an overlay sits from the frame's edges, as a share of the frame's short side. */
export const OVERLAY_MARGIN = 0.04;
/** How much the music dips under the narration when ducking is on. */
export const MUSIC_DUCK_DB = 10;
/** Music fades at the video's start and end. */
export const MUSIC_FADE_IN_SEC = 0.5;
export const MUSIC_FADE_OUT_SEC = 1.5;

/** A made visual of a scene, or a placeholder when it could not be had and the project allows that. */
export type SceneVisual =
  | { media: 'image'; key: string }
  | { media: 'video'; key: string }
  | { media: 'placeholder'; reason: string };

/** Everything the Timeline needs beside the project: where each made asset is, and audio lengths. */
export interface ProjectAssets {
  /** Per scene id: its visual. Every scene needs one. */
  visuals: Record<string, SceneVisual>;
  /** Per scene id with narration: its voiceover's length (seconds). */
  voiceoverSec: Record<string, number>;
  /** The narration track (every voiceover at its scene's start), when any scene speaks. */
  narrationKey?: string;
  /** Per scene id with an enabled overlay: its image. */
  overlays: Record<string, string>;
  /** The music, when the project has enabled music at a volume above 0. */
  musicKey?: string;
  logoKey?: string;
}

/** A scene as placed on the output clock (frame-snapped). */
export interface PlacedScene {
  id: string;
  index: number;
  start: number;
  duration: number;
  /** The transition into the next scene (seconds), 0 for none. */
  transitionOut: number;
}

/** The layout the Timeline is built from (also what the narration mix places voiceovers by). */
export interface ProjectLayout {
  width: number;
  height: number;
  fps: number;
  introSec: number;
  outroSec: number;
  scenes: PlacedScene[];
  /** The whole video's length: intro + scenes less transitions + outro. */
  durationSec: number;
}

const snap = (sec: number, fps: number) => Math.round(sec * fps) / fps;
const round6 = (n: number) => Math.round(n * 1e6) / 1e6;

/** The final render's frame: the aspect at the output's short side. */
export function projectFrame(output: Project['output']): { width: number; height: number } {
  const [a, b] = ASPECTS[output.aspect];
  const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);
  const short = output.shortSide;
  return a >= b
    ? { width: even((short * a) / b), height: short }
    : { width: short, height: even((short * b) / a) };
}

/** A scene's length: its own duration, else its voiceover plus a pause, at least MIN_SCENE_SEC. */
export function sceneDuration(scene: Project['scenes'][number], voiceoverSec: number | undefined): number {
  if (scene.duration !== undefined) return scene.duration;
  return Math.max(MIN_SCENE_SEC, (voiceoverSec ?? 0) + NARRATION_PAUSE_SEC);
}

/**
 * Where every scene sits: durations snapped to the frame grid, each transition at most half of either
 * neighbour (so two transitions into and out of one scene never overlap), the last scene's ignored.
 */
export function layoutProject(opts: {
  project: Project;
  preset: ProjectRenderPreset;
  voiceoverSec: Record<string, number>;
}): ProjectLayout {
  const { project, preset, voiceoverSec } = opts;
  const fps = preset === 'preview' ? Math.min(project.output.fps, PREVIEW_FPS) : project.output.fps;
  const { width, height } = projectFrame(project.output);
  const frame = 1 / fps;
  const introSec = project.brand?.intro ? snap(project.brand.intro.duration, fps) : 0;
  const outroSec = project.brand?.outro ? snap(project.brand.outro.duration, fps) : 0;
  const durations = project.scenes.map((s) =>
    Math.max(frame, snap(sceneDuration(s, voiceoverSec[s.id]), fps)),
  );
  const scenes: PlacedScene[] = [];
  let t = introSec;
  project.scenes.forEach((s, i) => {
    const d = durations[i]!;
    const next = durations[i + 1];
    const wanted = s.transition && next !== undefined ? s.transition.duration : 0;
    // Whole frames, at most half of either neighbour: the Timeline's transition checks then always pass.
    const maxFrames = next !== undefined ? Math.floor((Math.min(d, next) * fps) / 2) : 0;
    const transitionOut = Math.min(Math.round(wanted * fps), maxFrames) / fps;
    scenes.push({
      id: s.id,
      index: i,
      start: round6(t),
      duration: round6(d),
      transitionOut: round6(transitionOut),
    });
    t += d - transitionOut;
  });
  const durationSec = round6(t + outroSec);
  return { width, height, fps, introSec, outroSec, scenes, durationSec };
}

const ANCHORS: Record<string, Anchor> = {
  'left,top': 'topLeft',
  'center,top': 'top',
  'right,top': 'topRight',
  'left,center': 'left',
  'center,center': 'center',
  'right,center': 'right',
  'left,bottom': 'bottomLeft',
  'center,bottom': 'bottom',
  'right,bottom': 'bottomRight',
};

/** An overlay's named position: its anchor, its scale, and a margin inward from the edges it touches. */
export function overlayPosition(
  overlay: Overlay,
  frame: { width: number; height: number },
): { anchor: Anchor; scale: number; offset: { x: number; y: number } } {
  const margin = Math.round(Math.min(frame.width, frame.height) * OVERLAY_MARGIN);
  const { x, y } = overlay.position;
  return {
    anchor: ANCHORS[`${x},${y}`]!,
    scale: overlay.scale,
    offset: {
      x: x === 'left' ? margin : x === 'right' ? -margin : 0,
      y: y === 'top' ? margin : y === 'bottom' ? -margin : 0,
    },
  };
}

/** What an overlay's animation adds to its clip: fades, and for zoom and slide a move inside its box. */
export function overlayAnimation(
  animation: Overlay['animation'],
  durationSec: number,
): Pick<ClipInput, 'fadeIn' | 'fadeOut' | 'motion'> {
  const fade = Math.min(OVERLAY_FADE_SEC, durationSec / 4);
  switch (animation) {
    case 'none':
      return {};
    case 'fade':
      return { fadeIn: fade, fadeOut: fade };
    case 'zoom':
      // The product grows into place: from 125 % (cropped to its box) to 100 %, fading in.
      return {
        fadeIn: fade,
        fadeOut: fade,
        motion: { type: 'kenburns', from: { zoom: 1.25, x: 0.5, y: 0.5 }, to: { zoom: 1, x: 0.5, y: 0.5 } },
      };
    case 'slide':
      // The Timeline has no moving positions: the product slides across inside its box while it fades in.
      return {
        fadeIn: fade,
        fadeOut: fade,
        motion: { type: 'kenburns', from: { zoom: 1.3, x: 0, y: 0.5 }, to: { zoom: 1.3, x: 0.5, y: 0.5 } },
      };
  }
}

/** Ken Burns for the i-th still: alternately a slow push in and a pull out with a drift, so cuts vary. */
export function stillMotion(index: number): KenBurns {
  return index % 2 === 0
    ? { type: 'kenburns', from: { zoom: 1, x: 0.5, y: 0.5 }, to: { zoom: 1.15, x: 0.55, y: 0.45 } }
    : { type: 'kenburns', from: { zoom: 1.15, x: 0.45, y: 0.55 }, to: { zoom: 1, x: 0.5, y: 0.5 } };
}

/** The music's gain: 20·log10(volume) after loudness-normalising it to the narration (−60 dB floor). */
export function musicGainDb(volume: number): number {
  if (volume <= 0) return -60;
  return Math.max(-60, Math.round(20 * Math.log10(volume) * 100) / 100);
}

/**
 * The project as a resolved Timeline (input form: the schema fills defaults). Throws when a scene has
 * no visual in `assets` (the caller names the scene before: see `missingVisuals`).
 */
export function projectTimeline(opts: {
  project: Project;
  preset: ProjectRenderPreset;
  assets: ProjectAssets;
  layout?: ProjectLayout;
}): TimelineInput {
  const { project, preset, assets } = opts;
  const layout = opts.layout ?? layoutProject({ project, preset, voiceoverSec: assets.voiceoverSec });
  const { width, height, introSec, outroSec, scenes, durationSec } = layout;
  const brandColor = project.brand?.color ?? '#101820';
  const sceneClips: ClipInput[] = [];
  const overlayClips: ClipInput[] = [];
  const cardClips: ClipInput[] = [];

  const card = (text: string, start: number, duration: number) => {
    sceneClips.push({ type: 'color', color: brandColor, start, duration });
    cardClips.push({
      type: 'text',
      text,
      start,
      duration,
      fontSize: Math.round(height / 14),
      position: { anchor: 'bottom', scale: 0.8, offset: { x: 0, y: -Math.round(height * 0.08) } },
      fadeIn: Math.min(0.3, duration / 4),
      fadeOut: Math.min(0.3, duration / 4),
    });
    if (assets.logoKey) {
      cardClips.push({
        type: 'image',
        source: { key: assets.logoKey },
        start,
        duration,
        position: { anchor: 'center', scale: 0.3 },
        fit: 'contain',
      });
    }
  };

  if (project.brand?.intro) card(project.brand.intro.text, 0, introSec);

  for (const placed of scenes) {
    const scene = project.scenes[placed.index]!;
    const visual = assets.visuals[scene.id];
    if (!visual) throw new Error(`scene "${scene.id}" has no visual`);
    const base = {
      start: placed.start,
      duration: placed.duration,
      ...(placed.transitionOut > 0 && scene.transition
        ? { transition: { type: scene.transition.type, duration: placed.transitionOut } }
        : {}),
    };
    if (visual.media === 'image') {
      sceneClips.push({
        ...base,
        type: 'image',
        source: { key: visual.key },
        fit: 'cover',
        motion: stillMotion(placed.index),
      });
    } else if (visual.media === 'video') {
      // Trimmed to the scene; a shorter video holds its last frame (the encoder pads it). Its own
      // sound is muted: the narration and music are the project's sound.
      sceneClips.push({ ...base, type: 'video', source: { key: visual.key }, fit: 'cover', volume: 0 });
    } else {
      sceneClips.push({ ...base, type: 'color', color: brandColor });
    }

    const overlay = scene.overlay;
    const overlayKey = assets.overlays[scene.id];
    if (overlay?.enabled && overlayKey) {
      overlayClips.push({
        type: 'image',
        source: { key: overlayKey },
        start: placed.start,
        duration: placed.duration,
        fit: 'contain',
        position: overlayPosition(overlay, { width, height }),
        ...overlayAnimation(overlay.animation, placed.duration),
      });
    }
  }

  if (project.brand?.outro) card(project.brand.outro.text, round6(durationSec - outroSec), outroSec);

  const audio: NonNullable<TimelineInput['audio']> = [];
  if (assets.narrationKey) {
    audio.push({ name: 'narration', source: { key: assets.narrationKey }, duration: durationSec });
  }
  const music = project.music;
  if (music?.enabled && music.volume > 0 && assets.musicKey) {
    audio.push({
      name: 'music',
      source: { key: assets.musicKey },
      loop: true,
      duration: durationSec,
      gainDb: musicGainDb(music.volume),
      fadeIn: Math.min(MUSIC_FADE_IN_SEC, durationSec / 4),
      fadeOut: Math.min(MUSIC_FADE_OUT_SEC, durationSec / 4),
      ...(music.duck && assets.narrationKey ? { duck: { under: 'narration', amountDb: MUSIC_DUCK_DB } } : {}),
    });
  }

  return {
    version: 1,
    output: { width, height, fps: project.output.fps, preset, poster: true },
    duration: durationSec,
    background: '#000000',
    tracks: [
      { name: 'scenes', clips: sceneClips },
      { name: 'overlays', clips: overlayClips },
      { name: 'cards', clips: cardClips },
    ].filter((t) => t.clips.length > 0),
    audio,
  };
}

/** Where each voiceover goes in the narration track: seconds from the video's start. */
export function narrationPlacements(
  layout: ProjectLayout,
  voiceovers: Record<string, string>,
): Array<{ sceneId: string; key: string; startSec: number }> {
  return layout.scenes
    .filter((s) => voiceovers[s.id] !== undefined)
    .map((s) => ({ sceneId: s.id, key: voiceovers[s.id]!, startSec: s.start }));
}
