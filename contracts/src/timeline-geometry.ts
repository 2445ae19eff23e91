import type { Clip, Position, Rect, Timeline } from './timeline.ts';

/** A frame size in pixels. */
export interface FrameSize {
  width: number;
  height: number;
}

const even = (n: number) => Math.round(n / 2) * 2;
const evenSize = (n: number) => Math.max(2, even(n));

/**
 * A clip's position as a pixel Rect in a frame: the whole frame when absent, a Rect as given, a named
 * position as a box of `scale` × the frame (same aspect) at its anchor, moved by `offset`. Sizes and
 * anchored edges are even, so yuv420p chroma lines up. The encoder and the MediaConvert backend both
 * place clips through this one function.
 */
export function resolvePosition({
  position,
  frame,
}: {
  position: Position | undefined;
  frame: FrameSize;
}): Rect {
  const { width: W, height: H } = frame;
  if (!position) return { x: 0, y: 0, width: W, height: H };
  if (!('anchor' in position)) return position;
  const scale = position.scale ?? 1;
  const w = evenSize(W * scale);
  const h = evenSize(H * scale);
  const a = position.anchor;
  const x = /Left$|^left$/.test(a) ? 0 : /Right$|^right$/.test(a) ? W - w : even((W - w) / 2);
  const y = /^top/.test(a) ? 0 : /^bottom/.test(a) ? H - h : even((H - h) / 2);
  return { x: x + (position.offset?.x ?? 0), y: y + (position.offset?.y ?? 0), width: w, height: h };
}

/** The preview preset's short side and frame rate. */
export const PREVIEW_SHORT_SIDE = 480;
export const PREVIEW_FPS = 15;

/**
 * The Timeline as its output preset renders it. `preview`: the frame scaled so its short side is 480
 * (keeping the aspect, never upscaled), at most 15 fps, x264 `superfast` (the fastest preset that keeps
 * the High profile; `ultrafast` silently makes Constrained Baseline), and every clip's geometry
 * (positions, named positions, font sizes) scaled by the same factor, so a preview looks like the final
 * render. `final` Timelines are returned as they are. Idempotent: a preview of a preview is the same.
 */
export function applyOutputPreset(t: Timeline): Timeline {
  if (t.output.preset !== 'preview') return t;
  const { width: W, height: H, fps } = t.output;
  const k = Math.min(1, PREVIEW_SHORT_SIDE / Math.min(W, H));
  const frame = { width: W, height: H };
  const scaleRect = (r: Rect): Rect => ({
    x: Math.round(r.x * k),
    y: Math.round(r.y * k),
    width: evenSize(r.width * k),
    height: evenSize(r.height * k),
  });
  const scaleClip = (c: Clip): Clip => {
    const out = { ...c };
    if (c.position) out.position = scaleRect(resolvePosition({ position: c.position, frame }));
    if (out.type === 'text' && c.type === 'text') {
      out.fontSize = Math.min(400, Math.max(6, Math.round(c.fontSize * k)));
    }
    return out;
  };
  return {
    ...t,
    output: {
      ...t.output,
      width: k < 1 ? evenSize(W * k) : W,
      height: k < 1 ? evenSize(H * k) : H,
      fps: Math.min(fps, PREVIEW_FPS),
      video: { ...t.output.video, preset: 'superfast' },
    },
    tracks: k < 1 ? t.tracks.map((tr) => ({ ...tr, clips: tr.clips.map(scaleClip) })) : t.tracks,
  };
}
