import {
  applyOutputPreset,
  clipFrames,
  resolvePosition,
  Timeline,
  timelineFrames,
  type AudioTrack,
  type Clip,
  type ClipFrames,
  type KenBurns,
  type Rect,
  type TimelineInput,
} from '@reelbus/contracts';
import {
  aacAudioArgs,
  escapeFilterValue,
  FASTSTART_ARGS,
  h264VideoArgs,
  type X264Preset,
} from '@reelbus/kit';
import { chunkTimeline } from './chunks/plan.ts';
import { WAVEFORM_SAMPLE_RATE, waveformGeometry, waveformSource } from './waveform.ts';

/** The font every text clip is drawn with (Debian `fonts-dejavu-core`). */
export const DEFAULT_FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';

/**
 * Ken Burns zooms of up to this much are drawn from the still fitted at the clip's own size (a
 * bilinear upscale of at most 25 %); a deeper zoom fits the still larger (at most ×2) and scales each
 * frame down, so a close-up does not go soft.
 */
export const KEN_BURNS_MAX_UPSCALE = 1.25;
/** The largest oversample of a deep Ken Burns zoom (×2 of 1080p is 4 MP per frame to resample). */
const KEN_BURNS_MAX_OVERSAMPLE = 2;
/**
 * A chunk that starts this far into a video clip seeks its source to this much before the first frame
 * it needs (so the frame on screen at its first frame is decoded whatever the source's keyframes).
 */
export const VIDEO_SEEK_MARGIN_SEC = 2;
/** The output's audio rate: every audio chain and every sample count is at 48 kHz. */
const SR = 48000;

/** Which streams one ffmpeg run writes: both (a whole render), video only (a chunk), audio only (a chunked render's sound). */
export type RenderStreams = 'av' | 'video' | 'audio';

/** Frames of the output to render: `[startFrame, startFrame + frameCount)` (a chunk). */
export interface FrameWindow {
  startFrame: number;
  frameCount: number;
}

/** What the encoder knows about a source file from probing it. */
export interface SourceInfo {
  /** False when the file has no audio stream: its video clips add no sound. Assumed true when unknown. */
  hasAudio?: boolean;
  /** Seconds; bounds how far a chunk seeks into the file. */
  durationSec?: number;
}

export interface BuildRenderArgsOptions {
  /** A Timeline, parsed or not (it is parsed here, which applies defaults and the output preset). */
  timeline: Timeline | TimelineInput;
  /** The local file of a blob key. */
  inputs: (key: string) => string;
  /** The output file (`.mp4` for av and video, `.m4a` for audio). */
  output: string;
  /** `av` (default): the whole MP4; `video`: picture only (a chunk); `audio`: sound only. */
  streams?: RenderStreams;
  /** Render only these frames, exactly as a whole render draws them (the chunk's sub-Timeline, `chunkTimeline`). */
  window?: FrameWindow;
  /** Probe facts per blob key (which videos have sound, how long sources are). */
  sources?: (key: string) => SourceInfo | undefined;
  /** Overrides `output.video.preset` (service setting ENCODER_PRESET); the kit's preset checks the name. */
  preset?: string;
  /** Font file for text clips. */
  fontFile?: string;
  /** Lossless H.264 (the kit preset's `lossless`): for exactness tests. */
  lossless?: boolean;
  /**
   * Draw what does not change (still colours, images and texts under everything that moves) once into
   * a repeated background frame instead of on every frame (default). `false` draws every clip on every
   * frame: the same pixels, slower (tests compare the two).
   */
  flattenStill?: boolean;
}

export interface RenderArgs {
  /** Everything after `ffmpeg`. */
  args: string[];
  /** The output's length in seconds (frames / fps). */
  durationSec: number;
  /** The output's video frames: round(duration × fps) (of the window, for a chunk). */
  frames: number;
}

/** Raised for a Timeline feature this backend cannot render; `path` names the field. */
export class UnsupportedTimelineError extends Error {
  override name = 'UnsupportedTimelineError';
  readonly permanent = true;
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

/**
 * Turns a Timeline into ONE ffmpeg command (one lossy encode): a colour base of exactly
 * round(duration × fps) frames, every clip overlaid in track order within its frames, clips joined by
 * transitions blended with `xfade`, text drawn with `drawtext`, the audio tracks and the videos' own
 * sound mixed at 48 kHz stereo. Pure: no files are touched, so tests assert the exact arguments.
 *
 * Frame-exact clip clocks: every clip is drawn on its own clock in whole frames (pts = frames since
 * the clip began, including `elapsed`), and every time-dependent effect (fades, Ken Burns, transitions,
 * text alpha, waveforms, which source frame shows) is a function of that clock. So a chunk rendered
 * from its sub-Timeline (or `window`) draws exactly the frames the whole render draws there.
 */
export function buildRenderArgs({
  timeline,
  inputs,
  output,
  streams = 'av',
  window,
  sources = () => undefined,
  preset,
  fontFile = DEFAULT_FONT,
  lossless = false,
  flattenStill = true,
}: BuildRenderArgsOptions): RenderArgs {
  let t = applyOutputPreset(Timeline.parse(timeline));
  if (window) t = chunkTimeline({ timeline: t, ...window });
  const { fps } = t.output;
  const N = timelineFrames(t);
  if (N < 1) throw new UnsupportedTimelineError('duration', `is shorter than one frame at ${fps} fps`);
  const ctx: GraphContext = {
    t,
    fps,
    N,
    samples: Math.round((N * SR) / fps),
    inputArgs: [],
    nextInput: 0,
    inputs,
    sources,
    fontFile,
    label: 0,
    flattenStill,
  };

  const chains: string[] = [];
  if (streams !== 'audio') chains.push(...videoChains(ctx));
  if (streams !== 'video') chains.push(...audioChains(ctx));

  const v = t.output.video;
  const a = t.output.audio;
  // No -frames:v: it would close the audio too (ffmpeg ends every stream of an output at a frame
  // limit); the graph itself ends the picture after exactly N frames.
  const videoOut = [
    '-map',
    '[v]',
    ...h264VideoArgs({
      fps,
      profile: v.profile,
      preset: (preset ?? v.preset) as X264Preset,
      crf: v.crf,
      ...(v.bitrateKbps ? { bitrateKbps: v.bitrateKbps } : {}),
      lossless,
    }),
  ];
  const audioOut = [
    '-map',
    '[a]',
    ...aacAudioArgs({ bitrateKbps: a.bitrateKbps, sampleRate: a.sampleRate, channels: a.channels }),
  ];
  const args = [
    ...ctx.inputArgs,
    '-filter_complex',
    chains.join(';'),
    ...(streams !== 'audio' ? videoOut : []),
    ...(streams !== 'video' ? audioOut : []),
    // Chunks and the separate audio are intermediate files, joined by stream copy with +faststart.
    ...(streams === 'av' ? FASTSTART_ARGS : []),
    output,
  ];
  return { args, durationSec: N / fps, frames: N };
}

interface GraphContext {
  t: Timeline;
  fps: number;
  /** Output frames. */
  N: number;
  /** Output audio samples at 48 kHz. */
  samples: number;
  inputArgs: string[];
  nextInput: number;
  inputs: (key: string) => string;
  sources: (key: string) => SourceInfo | undefined;
  fontFile: string;
  label: number;
  /** Draw the still units once into a repeated background frame (see stillUnits). */
  flattenStill: boolean;
}

function addInput(ctx: GraphContext, args: string[]): number {
  ctx.inputArgs.push(...args);
  return ctx.nextInput++;
}

/** One clip placed on the frame grid. */
interface Placed {
  clip: Clip;
  path: string;
  rect: Rect;
  f: ClipFrames;
}

/** A piece of a clip to draw: its own clock from frame `from` (elapsed included), `count` frames. */
interface Piece {
  item: Placed;
  from: number;
  count: number;
}

/** What a track draws: a text clip (drawtext on the picture), or a chain of picture clips joined by transitions. */
type Unit = { kind: 'text'; item: Placed } | { kind: 'chain'; members: Placed[] };

/** A track's clips as units, in order; clips outside the render's frames are left out. */
function trackUnits(ctx: GraphContext, ti: number): Unit[] {
  const { t, fps, N } = ctx;
  const frame = { width: t.output.width, height: t.output.height };
  const units: Unit[] = [];
  let chain: Placed[] | undefined;
  t.tracks[ti]!.clips.forEach((clip, ci) => {
    const f = clipFrames(clip, fps);
    const linked = chain;
    chain = undefined;
    if (f.frames < 1 || f.startFrame >= N) return;
    const item: Placed = {
      clip,
      path: `tracks[${ti}].clips[${ci}]`,
      rect: resolvePosition({ position: clip.position, frame }),
      f,
    };
    if (clip.type === 'text') {
      units.push({ kind: 'text', item });
      return;
    }
    const members = linked ?? [];
    members.push(item);
    if (!linked) units.push({ kind: 'chain', members });
    const next = t.tracks[ti]!.clips[ci + 1];
    const overlap = next && clip.transition ? f.endFrame - clipFrames(next, fps).startFrame : 0;
    if (clip.transition && overlap >= 1) chain = members;
  });
  return units;
}

function videoChains(ctx: GraphContext): string[] {
  const { t, fps, N } = ctx;
  const units = t.tracks.flatMap((_, ti) => trackUnits(ctx, ti));
  const still = ctx.flattenStill ? stillUnits(units, N) : new Set<Unit>();
  const chains: string[] = [];
  let current = 'base';
  const overlay = (label: string, rect: Rect, from: number, count: number) => {
    const out = `v${ctx.label++}`;
    const last = Math.min(from + count, N) - 1;
    // The window in seconds with half a frame either side, not `n`: overlay (framesync) evaluates
    // `enable` on whichever input's frame it consumed last, and the overlaid piece counts its own n.
    // Every frame's pts is a whole frame, so the margins make the test exact.
    chains.push(
      `[${current}][${label}]overlay=x=${rect.x}:y=${rect.y}:eof_action=pass:enable='between(t,${sec(from - 0.5, fps)},${sec(last + 0.5, fps)})'[${out}]`,
    );
    current = out;
  };
  const background = `color=c=${hex(t.background)}:s=${t.output.width}x${t.output.height}:r=${fps}`;
  if (still.size === 0) {
    chains.push(`${background},trim=end_frame=${N},format=yuv420p[base]`);
  } else {
    chains.push(...stillChains(ctx, { background, units: units.filter((u) => still.has(u)) }));
  }
  for (const unit of units) {
    if (still.has(unit)) continue;
    if (unit.kind === 'text') {
      const out = `v${ctx.label++}`;
      chains.push(`[${current}]${drawText({ ctx, item: unit.item })}[${out}]`);
      current = out;
      continue;
    }
    const { members } = unit;
    members.forEach((m, i) => {
      const prev = members[i - 1];
      const next = members[i + 1];
      const inOv = prev ? prev.f.endFrame - m.f.startFrame : 0;
      const outOv = next ? m.f.endFrame - next.f.startFrame : 0;
      const E = m.f.elapsedFrames;
      // Its own frames: between the blend with the previous clip and the blend with the next.
      const midEnd = next ? m.f.endFrame - outOv : Math.min(m.f.endFrame, N);
      const midCount = midEnd - (m.f.startFrame + inOv);
      if (midCount > 0) {
        const label = `c${ctx.label++}`;
        chains.push(
          `${clipStream(ctx, { item: m, from: E + inOv, count: midCount })}${shiftPts(m.f.startFrame - E)}[${label}]`,
        );
        overlay(label, m.rect, m.f.startFrame + inOv, midCount);
      }
      if (next) {
        const x = blend(ctx, m, next, outOv);
        chains.push(...x.chains);
        overlay(x.label, x.box, next.f.startFrame, outOv);
      }
    });
  }
  chains.push(`[${current}]format=yuv420p[v]`);
  return chains;
}

/**
 * Whether a unit draws the same pixels on every frame of the render: a colour, a still image without
 * Ken Burns, or a text, on screen from the first frame to the last, without fades or a transition
 * (a constant opacity is fine).
 */
function isStill(unit: Unit, N: number): boolean {
  const item = unit.kind === 'text' ? unit.item : unit.members.length === 1 ? unit.members[0]! : undefined;
  if (!item) return false;
  const { clip, f } = item;
  if (f.startFrame > 0 || f.endFrame < N) return false;
  if (clip.fadeIn > 0 || clip.fadeOut > 0) return false;
  return clip.type === 'color' || clip.type === 'text' || (clip.type === 'image' && !clip.motion);
}

function disjoint(a: Rect, b: Rect): boolean {
  return a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
}

/**
 * The units drawn once into a still background instead of on every frame: the still units at the
 * bottom of the stack, plus later still colours and images whose rect no moving unit under them
 * touches (two overlays on disjoint rects commute, so drawing them earlier changes no pixel). A text
 * is only taken while everything under it is taken: the area drawtext paints (glyphs, box border)
 * is not known from its rect.
 */
function stillUnits(units: readonly Unit[], N: number): Set<Unit> {
  const taken = new Set<Unit>();
  const moving: Rect[] = [];
  let blocked = false;
  for (const unit of units) {
    const still = isStill(unit, N);
    if (unit.kind === 'text') {
      if (still && !blocked && moving.length === 0) taken.add(unit);
      else blocked = true;
      continue;
    }
    const rects = unit.members.map((m) => m.rect);
    if (still && !blocked && moving.every((r) => disjoint(r, rects[0]!))) taken.add(unit);
    else moving.push(...rects);
  }
  return taken;
}

/**
 * The still background: the output's colour with every still unit drawn on ONE frame, in stack order,
 * then that frame repeated for the whole render (`loop`), so a face card or a label costs one overlay
 * per render, not one per frame. Each frame equals what the per-frame overlays would give.
 */
function stillChains(
  ctx: GraphContext,
  { background, units }: { background: string; units: Unit[] },
): string[] {
  const { fps, N } = ctx;
  const chains = [`${background},trim=end_frame=1,format=yuv420p[s${ctx.label}]`];
  let current = `s${ctx.label++}`;
  for (const unit of units) {
    const out = `s${ctx.label++}`;
    if (unit.kind === 'text') {
      chains.push(`[${current}]${drawText({ ctx, item: unit.item, still: true })}[${out}]`);
    } else {
      const m = unit.members[0]!;
      const label = `c${ctx.label++}`;
      // Its frame at pts 0, like the background's (a still looks the same at any point of its clock).
      chains.push(`${clipStream(ctx, { item: m, from: 0, count: 1 })}[${label}]`);
      chains.push(`[${current}][${label}]overlay=x=${m.rect.x}:y=${m.rect.y}[${out}]`);
    }
    current = out;
  }
  chains.push(`[${current}]loop=loop=-1:size=1,trim=end_frame=${N},settb=1/${fps},setpts=N[base]`);
  return chains;
}

/**
 * A transition: the last `ov` frames of `a` and the first `ov` of `b`, each drawn from its own clock,
 * placed in their common bounding box (in yuva444p, which xfade works in, so odd positions stay
 * exact), blended by xfade and overlaid only over those frames. Frames outside a transition never go
 * through xfade, so a clip draws the same pixels whether or not its neighbour is in the same render.
 */
function blend(
  ctx: GraphContext,
  a: Placed,
  b: Placed,
  ov: number,
): { chains: string[]; label: string; box: Rect } {
  const box = boundingBox([a.rect, b.rect]);
  const place = (m: Placed, from: number) => {
    const label = `c${ctx.label++}`;
    const pad =
      m.rect.x !== box.x || m.rect.y !== box.y || m.rect.width !== box.width || m.rect.height !== box.height
        ? `,pad=${box.width}:${box.height}:${m.rect.x - box.x}:${m.rect.y - box.y}:color=black@0`
        : '';
    return {
      label,
      chain: `${clipStream(ctx, { item: m, from, count: ov })},format=yuva444p${pad},setpts=PTS-STARTPTS[${label}]`,
    };
  };
  const from = place(a, a.f.elapsedFrames + a.f.frames - ov);
  const to = place(b, b.f.elapsedFrames);
  const label = `x${ctx.label++}`;
  const type = a.clip.transition!.type;
  const chains = [
    from.chain,
    to.chain,
    `[${from.label}][${to.label}]xfade=transition=${type}:duration=${sec(ov, ctx.fps)}:offset=0${shiftPts(b.f.startFrame)}[${label}]`,
  ];
  return { chains, label, box };
}

/** `,setpts=…` that moves a stream by `frames` on its 1/fps time base (nothing for 0). */
function shiftPts(frames: number): string {
  return frames === 0 ? '' : `,setpts=PTS${frames > 0 ? '+' : ''}${frames}`;
}

function boundingBox(rects: Rect[]): Rect {
  const x = Math.min(...rects.map((r) => r.x));
  const y = Math.min(...rects.map((r) => r.y));
  const right = Math.max(...rects.map((r) => r.x + r.width));
  const bottom = Math.max(...rects.map((r) => r.y + r.height));
  return { x, y, width: right - x, height: bottom - y };
}

/**
 * A piece of a picture clip as a stream of exactly `count` frames of its rect's size (yuva420p), with
 * pts on the clip's own clock (`from` + n, time base 1/fps), opacity and fades applied on that clock.
 */
function clipStream(ctx: GraphContext, piece: Piece): string {
  const { item, from: E, count: V } = piece;
  const { clip, rect, f, path } = item;
  const { fps } = ctx;
  if (clip.motion && clip.type !== 'image') {
    throw new UnsupportedTimelineError(`${path}.motion`, 'Ken Burns motion is only supported on image clips');
  }
  const clock = `settb=1/${fps},setpts=N${E > 0 ? `+${E}` : ''}`;
  let source: string;
  switch (clip.type) {
    case 'color':
      source = `color=c=${hex(clip.color)}:s=${rect.width}x${rect.height}:r=${fps},trim=end_frame=${V},format=yuva420p,${clock}`;
      break;
    case 'image': {
      // Decoded and fitted once, then the same frame repeated (a still is not re-scaled per frame);
      // Ken Burns resamples each repeat at its sub-pixel window.
      const i = addInput(ctx, ['-framerate', String(fps), '-i', ctx.inputs(clip.source.key)]);
      source = clip.motion
        ? `[${i}:v]${kenBurns({ motion: clip.motion, fit: clip.fit, rect, frames: f.totalFrames, elapsed: E, draw: V })},${clock}`
        : `[${i}:v]${fitFilters(clip.fit, rect.width, rect.height)},loop=loop=-1:size=1,trim=end_frame=${V},${clock}`;
      break;
    }
    case 'video':
      source = videoSource(ctx, { clip, rect, E, V });
      break;
    case 'waveform':
      source = waveformStream(ctx, piece);
      break;
    case 'text':
      throw new Error('internal: text clips are drawn with drawtext');
  }
  const alpha = alphaFilters(clip, f, fps);
  return alpha ? `${source},${alpha}` : source;
}

/**
 * A video clip's frames [E, E + V) of its own clock. The source is read with its own time stamps
 * (0 = `trimStart`), turned into the output rate by `fps` on that absolute grid, and the clip's frames
 * are kept by pts: the same source frame lands on the same clip frame whoever renders it. A piece far
 * into the clip seeks to `VIDEO_SEEK_MARGIN_SEC` before its first frame and restores the time stamps
 * with `-itsoffset` (ffmpeg subtracts `-ss` and adds `-itsoffset` in whole microseconds: the offset
 * is exactly the whole render's), so no source frame rate or time base can shift a frame by one.
 */
function videoSource(
  ctx: GraphContext,
  { clip, rect, E, V }: { clip: Extract<Clip, { type: 'video' }>; rect: Rect; E: number; V: number },
): string {
  const { fps } = ctx;
  const info = ctx.sources(clip.source.key);
  let seekFrames = clip.loop ? 0 : Math.max(0, E - Math.round(VIDEO_SEEK_MARGIN_SEC * fps));
  if (seekFrames > 0 && info?.durationSec !== undefined) {
    const room = Math.floor((info.durationSec - clip.trimStart - VIDEO_SEEK_MARGIN_SEC) * fps);
    seekFrames = Math.max(0, Math.min(seekFrames, room));
  }
  const seekUs = Math.round((seekFrames / fps) * 1e6);
  const trimUs = Math.round(clip.trimStart * 1e6);
  const i = addInput(ctx, [
    ...(clip.loop ? ['-stream_loop', '-1'] : []),
    ...(trimUs + seekUs > 0 ? ['-ss', us(trimUs + seekUs)] : []),
    // Unseeked reads stop at the clip's end; seeked ones stop when `trim` ends (ffmpeg then reads no more).
    ...(seekUs > 0 ? ['-itsoffset', us(seekUs)] : ['-t', us(Math.ceil(((E + V) / fps) * 1e6))]),
    '-i',
    ctx.inputs(clip.source.key),
  ]);
  // tpad: a source a few frames short holds its last frame, so the clip (and its fade-out) lasts its duration.
  return (
    `[${i}:v]fps=${fps}:start_time=${us(seekUs)},tpad=stop=-1:stop_mode=clone,` +
    `trim=start_pts=${E}:end_pts=${E + V},${fitFilters(clip.fit, rect.width, rect.height)},` +
    `settb=1/${fps},setpts=N${E > 0 ? `+${E}` : ''}`
  );
}

/**
 * A waveform: exactly 48000/fps samples per frame (showwaves with `n` samples per column and
 * samples-per-frame / n columns, scaled to the rect), the clip's samples [elapsed, elapsed + draw)
 * frames' worth, read from the clip's start so a chunk resamples exactly what the whole render does.
 */
function waveformStream(ctx: GraphContext, { item, from: E, count: V }: Piece): string {
  const clip = item.clip as Extract<Clip, { type: 'waveform' }>;
  const { fps } = ctx;
  const geo = waveformGeometry({ fps, width: item.rect.width });
  if (!geo) {
    throw new UnsupportedTimelineError(
      item.path,
      `a waveform needs a frame rate that divides ${WAVEFORM_SAMPLE_RATE} (output.fps is ${fps})`,
    );
  }
  const { key, trimStart } = waveformSource({ clip, timeline: ctx.t });
  const trimUs = Math.round(trimStart * 1e6);
  const i = addInput(ctx, [
    ...(trimUs > 0 ? ['-ss', us(trimUs)] : []),
    '-t',
    us(Math.ceil(((E + V) / fps) * 1e6)),
    '-i',
    ctx.inputs(key),
  ]);
  const pan =
    clip.channel === 'left'
      ? 'pan=mono|c0=c0'
      : clip.channel === 'right'
        ? 'pan=mono|c0=c1'
        : 'pan=mono|c0=0.5*c0+0.5*c1';
  const { samplesPerFrame: S, n, columns } = geo;
  return (
    `[${i}:a]asetpts=PTS-STARTPTS,aresample=${SR},aformat=sample_fmts=fltp:channel_layouts=stereo,${pan},` +
    `apad,atrim=start_sample=${E * S}:end_sample=${(E + V) * S},` +
    `showwaves=s=${columns}x${item.rect.height}:mode=${clip.style}:n=${n}:rate=${fps}:colors=${hex(clip.color)}:scale=${clip.amplitude},` +
    // One swscale pass resamples the columns to the rect and converts RGBA to YUVA: converting first
    // and then scaling (two passes) cost about twice as much CPU per frame.
    `scale=${item.rect.width}:${item.rect.height},format=yuva420p,setsar=1,settb=1/${fps},setpts=N${E > 0 ? `+${E}` : ''}`
  );
}

/**
 * Scales a source into a w×h rect with transparent padding (contain), so the letterbox shows what
 * is underneath and opacity/fades act on the picture only.
 */
export function fitFilters(fit: Clip['fit'], w: number, h: number, alpha = true): string {
  const format = alpha ? 'yuva420p' : 'yuv420p';
  switch (fit) {
    case 'contain':
      return (
        `scale=${w}:${h}:force_original_aspect_ratio=decrease:force_divisible_by=2,setsar=1,` +
        `format=yuva420p,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2:color=black@0`
      );
    case 'cover':
      return `scale=${w}:${h}:force_original_aspect_ratio=increase,crop=${w}:${h},setsar=1,format=${format}`;
    case 'fill':
      return `scale=${w}:${h},setsar=1,format=${format}`;
  }
}

/**
 * Ken Burns as an exact sub-pixel pan and zoom: the still is fitted once (at the clip's size, or
 * larger for a deep zoom), repeated, and each repeat resampled (bilinear, `perspective` with
 * `sense=source`) from the window of that frame, whose corners are real numbers. zoompan crops
 * at whole even pixels of its input, so it moves in steps (it needed a ×4 oversample, 7680×4320 per
 * 1080p frame, to hide them, and still stepped on slow moves); here a pan of d px per frame moves
 * every frame by d. `x`/`y` place the window within the room the zoom leaves (0 = left/top edge,
 * 0.5 = centred, 1 = right/bottom edge), so any value is valid at any zoom and the path never hits
 * a clamp. The path runs over the clip's `frames` on its own clock (`in` + `elapsed`): a render
 * that starts `elapsed` frames in draws frames elapsed…elapsed+draw of the same path, pixel for pixel.
 */
export function kenBurns({
  motion,
  fit,
  rect,
  frames,
  elapsed = 0,
  draw = frames - elapsed,
}: {
  motion: KenBurns;
  fit: Clip['fit'];
  rect: Rect;
  /** The clip's whole length in frames. */
  frames: number;
  /** Frames of the clip already shown. */
  elapsed?: number;
  /** Frames to draw. */
  draw?: number;
}): string {
  const k = kenBurnsOversample(motion);
  const bw = k > 1 ? even(rect.width * k) : rect.width;
  const bh = k > 1 ? even(rect.height * k) : rect.height;
  // contain leaves transparent bars that move with the picture; cover and fill are opaque (3 planes, not 4)
  const alpha = fit === 'contain';
  const p = frames > 1 ? `${elapsed > 0 ? `(in+${elapsed})` : 'in'}/${frames - 1}` : '0';
  const lerp = (a: number, b: number) => (a === b ? num(a, 6) : `(${num(a, 6)}+${num(b - a, 6)}*${p})`);
  const w = `W/${lerp(motion.from.zoom, motion.to.zoom)}`;
  const h = `H/${lerp(motion.from.zoom, motion.to.zoom)}`;
  const left = `(W-${w})*${lerp(motion.from.x, motion.to.x)}`;
  const top = `(H-${h})*${lerp(motion.from.y, motion.to.y)}`;
  const right = `${left}+${w}`;
  const bottom = `${top}+${h}`;
  const corners = [
    ['x0', left],
    ['y0', top],
    ['x1', right],
    ['y1', top],
    ['x2', left],
    ['y2', bottom],
    ['x3', right],
    ['y3', bottom],
  ].map(([name, e]) => `${name}='${e}'`);
  return (
    `${fitFilters(fit, bw, bh, alpha)},loop=loop=-1:size=1,trim=end_frame=${draw},` +
    `perspective=${corners.join(':')}:interpolation=linear:sense=source:eval=frame` +
    (k > 1 ? `,scale=${rect.width}:${rect.height}` : '') +
    (alpha ? '' : ',format=yuva420p')
  );
}

/** How much larger than the clip the still is fitted: 1 unless the zoom would upscale it more than KEN_BURNS_MAX_UPSCALE. */
export function kenBurnsOversample(motion: KenBurns): number {
  const zoom = Math.max(motion.from.zoom, motion.to.zoom);
  return zoom <= KEN_BURNS_MAX_UPSCALE ? 1 : Math.min(KEN_BURNS_MAX_OVERSAMPLE, zoom);
}

/**
 * Opacity and alpha fades on the clip's own clock (pts = frames since the clip began, time base
 * 1/fps): fade-in over its first frames, fade-out over the last frames of its whole length.
 */
function alphaFilters(clip: Clip, f: ClipFrames, fps: number): string {
  const out: string[] = [];
  if (clip.opacity < 1) out.push(`colorchannelmixer=aa=${num(clip.opacity)}`);
  const fi = Math.round(clip.fadeIn * fps);
  const fo = Math.round(clip.fadeOut * fps);
  if (fi > 0) out.push(`fade=t=in:st=0:d=${sec(fi, fps)}:alpha=1`);
  if (fo > 0)
    out.push(`fade=t=out:st=${sec(Math.max(0, f.totalFrames - fo), fps)}:d=${sec(fo, fps)}:alpha=1`);
  return out.join(',');
}

/** drawtext for a text clip; its window and alpha are in output frame numbers (`n`), shifted to the clip's clock. */
function drawText({
  ctx,
  item,
  still = false,
}: {
  ctx: GraphContext;
  item: Placed;
  still?: boolean;
}): string {
  const clip = item.clip as Extract<Clip, { type: 'text' }>;
  const { rect, f } = item;
  const { fps } = ctx;
  // The clip's own frame number: n − start + elapsed.
  const k = framesSince(f.startFrame - f.elapsedFrames);
  const fi = Math.round(clip.fadeIn * fps);
  const fo = Math.round(clip.fadeOut * fps);
  const factors = [
    ...(clip.opacity < 1 ? [num(clip.opacity)] : []),
    ...(fi > 0 ? [`clip(${k}/${fi},0,1)`] : []),
    ...(fo > 0 ? [`clip((${f.totalFrames}-${k})/${fo},0,1)`] : []),
  ];
  const end = Math.min(f.endFrame, ctx.N) - 1;
  const opts = [
    `fontfile=${escapeFilterValue(ctx.fontFile)}`,
    'expansion=none',
    `text=${escapeFilterValue(clip.text)}`,
    `fontsize=${clip.fontSize}`,
    `fontcolor=${hex(clip.color)}`,
    // Centred in its rect.
    `x=${rect.x}+(${rect.width}-text_w)/2`,
    `y=${rect.y}+(${rect.height}-text_h)/2`,
    ...(clip.boxColor
      ? [
          'box=1',
          `boxcolor=${hex(clip.boxColor)}`,
          `boxborderw=${Math.max(4, Math.round(clip.fontSize / 3))}`,
        ]
      : []),
    ...(factors.length ? [`alpha='${factors.join('*')}'`] : []),
    // On the still background it is drawn once, on every frame of the render.
    ...(still ? [] : [`enable='between(n,${f.startFrame},${end})'`]),
  ];
  return `drawtext=${opts.join(':')}`;
}

/** `(n-a)`: frames since output frame `a` (a may be negative). */
function framesSince(a: number): string {
  return a === 0 ? 'n' : a > 0 ? `(n-${a})` : `(n+${-a})`;
}

/** The sound of a video clip, mixed by its `volume`, faded with the clip and its transitions. */
interface ClipSound {
  clip: Extract<Clip, { type: 'video' }>;
  f: ClipFrames;
  /** Frames of sound this render plays (to the output's end at most). */
  draw: number;
  fadeInFrames: number;
  fadeOutFrames: number;
}

/** The videos whose own sound is mixed in: volume > 0 and a sound stream (unless probing said none). */
function clipSounds(ctx: GraphContext): ClipSound[] {
  const { t, fps, N } = ctx;
  const out: ClipSound[] = [];
  for (const track of t.tracks) {
    track.clips.forEach((clip, ci) => {
      if (clip.type !== 'video' || clip.volume === 0) return;
      if (ctx.sources(clip.source.key)?.hasAudio === false) return;
      const f = clipFrames(clip, fps);
      if (f.frames < 1 || f.startFrame >= N) return;
      const prev = track.clips[ci - 1];
      const next = track.clips[ci + 1];
      const inOverlap = prev?.transition ? clipFrames(prev, fps).endFrame - f.startFrame : 0;
      const outOverlap = clip.transition && next ? f.endFrame - clipFrames(next, fps).startFrame : 0;
      out.push({
        clip,
        f,
        draw: Math.min(f.endFrame, N) - f.startFrame,
        fadeInFrames: Math.max(Math.round(clip.fadeIn * fps), inOverlap),
        fadeOutFrames: Math.max(Math.round(clip.fadeOut * fps), outOverlap),
      });
    });
  }
  return out;
}

function audioChains(ctx: GraphContext): string[] {
  const { t, fps, N, samples: total } = ctx;
  const chains: string[] = [];
  const tracks = t.audio;
  const mixInputs: string[] = [];
  const labelOf = (name: string) => `a_${name.replace(/[^A-Za-z0-9]/g, '_')}`;
  const keyed = new Set(tracks.flatMap((a) => (a.duck ? [a.duck.under] : [])));
  const keyUses = new Map<string, number>();
  for (const a of tracks) if (a.duck) keyUses.set(a.duck.under, (keyUses.get(a.duck.under) ?? 0) + 1);
  const T = N / fps;
  const fit = `apad=whole_len=${total},atrim=end_sample=${total}`;

  tracks.forEach((track) => {
    // How long this track may play: its own duration, or to the timeline's end.
    const room = Math.max(0, T - track.start);
    const length = track.duration !== undefined ? Math.min(track.duration, room) : room;
    const idx = addInput(ctx, [
      ...(track.loop ? ['-stream_loop', '-1'] : []),
      ...(track.trimStart > 0 ? ['-ss', num(track.trimStart)] : []),
      '-t',
      num(length),
      '-i',
      ctx.inputs(track.source.key),
    ]);
    const f = [
      `[${idx}:a]asetpts=PTS-STARTPTS`,
      `aresample=${SR}`,
      'aformat=sample_fmts=fltp:channel_layouts=stereo',
    ];
    if (track.gainDb !== 0) f.push(`volume=${num(track.gainDb)}dB`);
    if (track.fadeIn > 0) f.push(`afade=t=in:st=0:d=${num(track.fadeIn)}`);
    // A source shorter than `length` ends before this fade; the fade needs a known end.
    if (track.fadeOut > 0)
      f.push(`afade=t=out:st=${num(Math.max(0, length - track.fadeOut))}:d=${num(track.fadeOut)}`);
    if (track.start > 0) f.push(`adelay=delays=${Math.round(track.start * SR)}S:all=1`);
    // Every track spans the whole timeline (to the sample), so the ducking key and the mix never end early.
    f.push(fit);
    const name = labelOf(track.name);
    if (keyed.has(track.name)) {
      const n = keyUses.get(track.name) ?? 0;
      const outs = [`${name}_mix`, ...Array.from({ length: n }, (_, k) => `${name}_key${k}`)];
      chains.push(`${f.join(',')},asplit=${outs.length}${outs.map((o) => `[${o}]`).join('')}`);
    } else {
      chains.push(`${f.join(',')}[${name}_mix]`);
    }
  });
  const keyNext = new Map<string, number>();
  for (const track of tracks) {
    const name = labelOf(track.name);
    if (!track.duck) {
      mixInputs.push(`${name}_mix`);
      continue;
    }
    const key = labelOf(track.duck.under);
    const k = keyNext.get(track.duck.under) ?? 0;
    keyNext.set(track.duck.under, k + 1);
    chains.push(`[${name}_mix][${key}_key${k}]${sidechain(track.duck)}[${name}_ducked]`);
    mixInputs.push(`${name}_ducked`);
  }

  for (const s of clipSounds(ctx)) {
    // Its own input (the picture's inputs seek for chunks); the same in whole and audio-only renders.
    const perFrame = SR / fps;
    const E = s.f.elapsedFrames;
    const startUs = Math.round((s.clip.trimStart + E / fps) * 1e6);
    const idx = addInput(ctx, [
      ...(s.clip.loop ? ['-stream_loop', '-1'] : []),
      ...(startUs > 0 ? ['-ss', us(startUs)] : []),
      '-t',
      us(Math.ceil((s.draw / fps) * 1e6)),
      '-i',
      ctx.inputs(s.clip.source.key),
    ]);
    const length = Math.round(s.draw * perFrame);
    const f = [
      `[${idx}:a]asetpts=PTS-STARTPTS`,
      `aresample=${SR}`,
      'aformat=sample_fmts=fltp:channel_layouts=stereo',
      `apad,atrim=end_sample=${length}`,
    ];
    if (s.clip.volume !== 1) f.push(`volume=${num(s.clip.volume)}`);
    // Fades are on the clip's own clock; a clip entered part-way (elapsed) starts at full level.
    if (s.fadeInFrames > 0 && E === 0) f.push(`afade=t=in:ss=0:ns=${Math.round(s.fadeInFrames * perFrame)}`);
    const outStart = (s.f.totalFrames - s.fadeOutFrames - E) * perFrame;
    if (s.fadeOutFrames > 0 && outStart >= 0) {
      f.push(`afade=t=out:ss=${Math.round(outStart)}:ns=${Math.round(s.fadeOutFrames * perFrame)}`);
    }
    const delay = Math.round(s.f.startFrame * perFrame);
    if (delay > 0) f.push(`adelay=delays=${delay}S:all=1`);
    f.push(fit);
    const label = `as${ctx.label++}`;
    chains.push(`${f.join(',')}[${label}]`);
    mixInputs.push(label);
  }

  const tail = `aresample=${SR},aformat=sample_fmts=fltp:channel_layouts=stereo`;
  if (mixInputs.length === 0) {
    // Players expect an audio track; a silent one keeps the output uniform (AAC stereo).
    chains.push(`anullsrc=r=${SR}:cl=stereo,atrim=end_sample=${total}[a]`);
  } else if (mixInputs.length === 1) {
    chains.push(`[${mixInputs[0]}]${tail}[a]`);
  } else {
    // normalize=0: amix would otherwise divide every input by the input count, silently lowering
    // the voice by 6 dB with one music bed; gains are the Timeline's to set.
    chains.push(
      `${mixInputs.map((m) => `[${m}]`).join('')}amix=inputs=${mixInputs.length}:duration=longest:dropout_transition=0:normalize=0,${tail}[a]`,
    );
  }
  return chains;
}

/**
 * Ducking with sidechaincompress. A compressor's dip grows with how far the key is over threshold;
 * at the highest ratio (20) the dip is ~0.95 dB per dB over. The threshold sits `amountDb` under
 * typical speech (-20 dBFS RMS), so speech at that level dips the bed by about `amountDb`.
 */
function sidechain(duck: NonNullable<AudioTrack['duck']>): string {
  const thresholdDb = -20 - duck.amountDb / 0.95;
  const threshold = Math.max(0.000977, Math.min(1, 10 ** (thresholdDb / 20)));
  return `sidechaincompress=threshold=${num(threshold, 6)}:ratio=20:attack=${num(duck.attackMs)}:release=${num(duck.releaseMs)}:makeup=1`;
}

function hex(color: string): string {
  return `0x${color.slice(1).toLowerCase()}`;
}

function even(n: number): number {
  return Math.max(2, Math.round(n / 2) * 2);
}

/** A number as ffmpeg reads it: no exponent, at most `digits` decimals, no trailing zeros. */
function num(n: number, digits = 3): string {
  const s = n.toFixed(digits);
  return s.includes('.') ? s.replace(/\.?0+$/, '') || '0' : s;
}

/** Whole microseconds as seconds, exactly (ffmpeg parses up to six decimals without rounding). */
function us(micros: number): string {
  return num(micros / 1e6, 6);
}

/** `frames` at `fps` as seconds with microsecond precision (ffmpeg turns it back into the same whole frames). */
function sec(frames: number, fps: number): string {
  return num(frames / fps, 6);
}
