import { z } from 'zod';
import { BlobKey, HttpUrl, Seconds } from './common.ts';

/**
 * The Timeline: a declarative description of one output video. The compositor writes it, users may
 * submit one directly, the encoder renders it in one lossy encode. Times are seconds on the output
 * clock; positions are pixels in the output frame (origin top-left).
 *
 * Two schemas come from ONE definition (`defineTimeline`):
 * - `Timeline` (timeline.v1.json): the **resolved** Timeline `timeline.ready` carries — numbers and
 *   blob keys only;
 * - `TimelineRequest` (timeline-request.v1.json): what users submit — `start`/`duration` may be
 *   `"auto"`, sources may be `{ key }`, `{ url }` or `{ upload: "<multipart field>" }`.
 *   `resolveTimeline` (timeline-resolve.ts) turns one into the other.
 * Every field added after the first version is optional with a default, so older Timelines stay valid.
 */

/**
 * How the objects of one variant treat keys they do not know: the resolved Timeline drops them
 * (`z.object`, so what services wrote before stays readable), the request refuses them
 * (`z.strictObject`, so a misspelt `transtion` is a 400 naming its path, not a silently lost field).
 */
type Obj = typeof z.object;
// `$strict` and `$strip` objects infer the same input and output types; only parsing differs.
const strictObject = z.strictObject as unknown as Obj;

// `multipleOf` rather than a refine: the exported JSON Schema says it too.
const Even = (what: string) =>
  z
    .number()
    .int()
    .min(16)
    .max(7680)
    .multipleOf(2, { message: `${what} must be even (yuv420p needs even sizes)` });

/** A rectangle in output pixels. */
const rect = (obj: Obj) =>
  obj({
    x: z.number().int(),
    y: z.number().int(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
  });
export const Rect = rect(z.object);
export type Rect = z.infer<typeof Rect>;

export const ANCHORS = [
  'center',
  'top',
  'bottom',
  'left',
  'right',
  'topLeft',
  'topRight',
  'bottomLeft',
  'bottomRight',
] as const;
export const Anchor = z.enum(ANCHORS);
export type Anchor = z.infer<typeof Anchor>;

/**
 * A box named by where it sits: `scale` × the frame's size (same aspect as the frame), placed at
 * `anchor`, then moved by `offset` pixels (x right, y down). `resolvePosition` turns it into a Rect.
 */
const namedPosition = (obj: Obj) =>
  obj({
    anchor: Anchor,
    offset: obj({ x: z.number().int().default(0), y: z.number().int().default(0) }).optional(),
    scale: z.number().positive().max(4).default(1),
  });
export const NamedPosition = namedPosition(z.object);
export type NamedPosition = z.infer<typeof NamedPosition>;

/** Where a clip is drawn: a pixel Rect, or a named position. */
const position = (obj: Obj) => z.union([namedPosition(obj), rect(obj)]);
export const Position = position(z.object);
export type Position = z.infer<typeof Position>;

const Color = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour like "#1a2b3c"');
/** A colour with an optional alpha byte: `#rrggbb` or `#rrggbbaa` (`#00000073` = black at 45 %). */
const ColorAlpha = z
  .string()
  .regex(/^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$/, 'must be a colour like "#1a2b3c" or, with alpha, "#1a2b3c80"');

/** Ken Burns: the visible window moves from `from` to `to` over the clip. zoom 1 = the whole image. */
const kenBurns = (obj: Obj) => {
  const Window = obj({
    zoom: z.number().min(1).max(4),
    x: z.number().min(0).max(1),
    y: z.number().min(0).max(1),
  });
  return obj({ type: z.literal('kenburns'), from: Window, to: Window });
};
export const KenBurns = kenBurns(z.object);
export type KenBurns = z.infer<typeof KenBurns>;

/** ffmpeg `xfade` transitions reelbus renders (all present in ffmpeg 5.1). */
export const TRANSITION_TYPES = [
  'fade',
  'dissolve',
  'wipeleft',
  'wiperight',
  'wipeup',
  'wipedown',
  'slideleft',
  'slideright',
  'slideup',
  'slidedown',
  'circleopen',
  'circleclose',
  'circlecrop',
  'rectcrop',
  'fadeblack',
  'fadewhite',
  'radial',
  'smoothleft',
  'smoothright',
  'smoothup',
  'smoothdown',
  'horzopen',
  'horzclose',
  'vertopen',
  'vertclose',
  'diagtl',
  'diagtr',
  'diagbl',
  'diagbr',
  'pixelize',
  'distance',
] as const;
export const TransitionType = z.enum(TRANSITION_TYPES);
export type TransitionType = z.infer<typeof TransitionType>;

/**
 * The transition from this clip to the NEXT clip on the same track (Editly's meaning): the next clip
 * starts `duration` seconds before this one ends, and the two are blended by `type` over that overlap.
 */
const transition = (obj: Obj) =>
  obj({
    type: TransitionType,
    duration: z.number().positive().max(10).default(0.5),
  });
export const Transition = transition(z.object);
export type Transition = z.infer<typeof Transition>;

export const WAVEFORM_STYLES = ['point', 'line', 'p2p', 'cline'] as const;

/** A blob in storage. The only kind of source a resolved Timeline holds. */
export const KeySource = z.object({ key: BlobKey });
/** An http(s) URL the compositor fetches (through the kit's safeFetch) into `jobs/<id>/input/…`. */
export const UrlSource = z.strictObject({ url: HttpUrl });
/** A file uploaded in the same multipart request, by its field name. */
export const UploadSource = z.strictObject({
  upload: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,100}$/, 'must be a multipart field name (letters, digits, "_", "-", ".")'),
});
/** What a request Timeline may name as a source. */
export const RequestSource = z.union([z.strictObject({ key: BlobKey }), UrlSource, UploadSource]);
export type RequestSource = z.infer<typeof RequestSource>;

const Auto = z.literal('auto');
const Volume = z.number().min(0).max(4);

/** The pieces that differ between the request and the resolved Timeline. */
interface Variant<S extends z.ZodType, TS extends z.ZodType, TD extends z.ZodType> {
  /** `z.object` for the resolved Timeline, strict objects for the request. */
  obj: Obj;
  source: S;
  start: TS;
  duration: TD;
}

/** Builds every Timeline schema from one definition, for one variant of times and sources. */
function defineTimeline<S extends z.ZodType, TS extends z.ZodType, TD extends z.ZodType>(
  v: Variant<S, TS, TD>,
) {
  const obj = v.obj;
  const ClipBase = obj({
    start: v.start,
    duration: v.duration,
    /** Where the clip is drawn (a Rect or a named position); the whole frame when absent. */
    position: position(obj).optional(),
    /** How the source fills `position`: letterbox (contain), crop (cover) or stretch (fill). */
    fit: z.enum(['contain', 'cover', 'fill']).default('contain'),
    opacity: z.number().min(0).max(1).default(1),
    /** Seconds of fade from/to transparent: a crossfade when clips overlap. */
    fadeIn: Seconds.default(0),
    fadeOut: Seconds.default(0),
    motion: kenBurns(obj).optional(),
    /** The transition into the next clip on this track. */
    transition: transition(obj).optional(),
    /**
     * Seconds of this clip already shown before `start`: the clip continues from that point of its own
     * clock (fades, Ken Burns, trims, waveforms). Chunked rendering writes it in each chunk's Timeline.
     */
    elapsed: Seconds.default(0),
  });

  const VideoClip = ClipBase.extend({
    type: z.literal('video'),
    source: v.source,
    /** Seconds into the source where the clip starts. */
    trimStart: Seconds.default(0),
    /** Loop the source when it is shorter than `duration`. */
    loop: z.boolean().default(false),
    /** The video's own sound in the mix: 0 = muted, 1 = as recorded (default), up to 4. */
    volume: Volume.default(1),
  });
  const ImageClip = ClipBase.extend({ type: z.literal('image'), source: v.source });
  const ColorClip = ClipBase.extend({ type: z.literal('color'), color: Color });
  const TextClip = ClipBase.extend({
    type: z.literal('text'),
    text: z.string().min(1).max(500),
    fontSize: z.number().int().min(6).max(400).default(48),
    color: Color.default('#ffffff'),
    /** Box behind the text (`#rrggbbaa` for a see-through one), or none. */
    boxColor: ColorAlpha.optional(),
  });
  /** An audio visualiser (ffmpeg showwaves) of an audio track of this Timeline or of a file. */
  const WaveformClip = ClipBase.extend({
    type: z.literal('waveform'),
    /** The audio to draw: a file (with `trimStart`)… */
    source: v.source.optional(),
    /** …or an audio track of this Timeline by name (drawn where it plays; not its gain). */
    track: z.string().min(1).max(100).optional(),
    /** Seconds into `source` where the clip starts (not with `track`). */
    trimStart: Seconds.default(0),
    /** Which channel to draw. */
    channel: z.enum(['mix', 'left', 'right']).default('mix'),
    /** showwaves mode: point, line, p2p, cline (a line centred on the axis). */
    style: z.enum(WAVEFORM_STYLES).default('cline'),
    color: Color.default('#ffffff'),
    /** Amplitude scale: lin, log, sqrt, cbrt. */
    amplitude: z.enum(['lin', 'log', 'sqrt', 'cbrt']).default('sqrt'),
  });
  const Clip = z.discriminatedUnion('type', [VideoClip, ImageClip, ColorClip, TextClip, WaveformClip]);

  const Track = obj({
    name: z.string().max(100).optional(),
    clips: z.array(Clip).max(5000),
  });

  const AudioTrack = obj({
    name: z.string().min(1).max(100),
    source: v.source,
    start: Seconds.default(0),
    trimStart: Seconds.default(0),
    /** Seconds of the source to use; to the end (or the timeline's end when looping) when absent. */
    duration: z.number().positive().finite().optional(),
    gainDb: z.number().min(-60).max(20).default(0),
    loop: z.boolean().default(false),
    fadeIn: Seconds.default(0),
    fadeOut: Seconds.default(0),
    duck: ducking(obj).optional(),
  });

  const Timeline = obj({
    version: z.literal(1),
    output: outputSettings(obj).prefault({}),
    /** Total seconds; the end of the last clip or audio track when absent. */
    duration: z.number().positive().finite().optional(),
    background: Color.default('#000000'),
    /** Drawn in order: later tracks over earlier ones. */
    tracks: z.array(Track).max(100).default([]),
    audio: z.array(AudioTrack).max(32).default([]),
    /** Allow a backend to drop features it cannot render (e.g. MediaConvert and Ken Burns) instead of refusing. */
    allowDegradation: z.boolean().default(false),
  })
    // Cross-field checks run even when some field is malformed, so every problem is named at once.
    .superRefine(crossCheck, { when: () => true });

  return { VideoClip, ImageClip, ColorClip, TextClip, WaveformClip, Clip, Track, AudioTrack, Timeline };
}

/** Music dips by `amountDb` under the track named `under` while it has signal (sidechain ducking). */
const ducking = (obj: Obj) =>
  obj({
    under: z.string().min(1),
    amountDb: z.number().min(0).max(40).default(10),
    attackMs: z.number().min(1).max(2000).default(50),
    releaseMs: z.number().min(1).max(5000).default(600),
  });
export const Ducking = ducking(z.object);

/** Frame shapes with a preset size (short side 720 unless `width` or `height` says otherwise). */
export const ASPECTS = { '16:9': [16, 9], '9:16': [9, 16], '1:1': [1, 1], '4:5': [4, 5] } as const;
export type Aspect = keyof typeof ASPECTS;
/** The short side of an aspect preset without an explicit size. */
export const ASPECT_SHORT_SIDE = 720;

const evenRound = (n: number) => Math.max(2, Math.round(n / 2) * 2);

const outputSettings = (obj: Obj) =>
  obj({
    /** Pixels; from `aspect` (or 1280) when absent. */
    width: Even('output.width').optional(),
    /** Pixels; from `aspect` (or 720) when absent. */
    height: Even('output.height').optional(),
    /** A frame shape: sets the missing side(s); must agree with both when both are given. */
    aspect: z.enum(Object.keys(ASPECTS) as [Aspect, ...Aspect[]]).optional(),
    fps: z.number().int().min(1).max(120).default(30),
    /**
     * `preview`: short side 480 (keeping the aspect, never upscaled), 15 fps, a fast x264 preset;
     * geometry authored for the full size is scaled (`applyOutputPreset`).
     */
    preset: z.enum(['final', 'preview']).default('final'),
    video: obj({
      codec: z.literal('h264').default('h264'),
      profile: z.enum(['high', 'main', 'baseline']).default('high'),
      pixelFormat: z.literal('yuv420p').default('yuv420p'),
      crf: z.number().int().min(0).max(51).default(23),
      preset: z
        .enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow'])
        .default('veryfast'),
      /** Constant bitrate (kb/s) instead of CRF, for backends that need one (MediaConvert CBR). */
      bitrateKbps: z.number().int().min(100).max(100_000).optional(),
    }).prefault({}),
    audio: obj({
      codec: z.literal('aac').default('aac'),
      bitrateKbps: z.number().int().min(32).max(512).default(128),
      sampleRate: z.literal(48000).default(48000),
      channels: z.literal(2).default(2),
    }).prefault({}),
    /** `moov` before `mdat`, so browsers (iOS Safari) start playing before the download ends. */
    faststart: z.literal(true).default(true),
    /** Also write a JPEG poster frame at `jobs/<id>/poster.jpg`: `true` (at 1 s, or the middle of a shorter video) or `{ at }` seconds. */
    poster: z.union([z.boolean(), obj({ at: Seconds })]).default(false),
    /** Files to deliver: the MP4 always, plus an HLS ladder with "hls". */
    formats: z
      .array(z.enum(['mp4', 'hls']))
      .min(1)
      .max(2)
      .default(['mp4'])
      .refine((f) => new Set(f).size === f.length, { message: 'must not repeat a format' })
      .refine((f) => f.includes('mp4'), {
        message: 'must include "mp4" (the MP4 is always written; HLS is made beside it)',
      })
      // the two refines above, for the exported JSON Schema
      .meta({ uniqueItems: true, contains: { const: 'mp4' } }),
  })
    .superRefine(
      (o, ctx) => {
        // Checked on the raw value, so a mismatch is reported beside any other problem of the output.
        const aspect = (ASPECTS as Record<string, readonly [number, number]>)[String(o.aspect)];
        if (!aspect || typeof o.width !== 'number' || typeof o.height !== 'number') return;
        if (Math.abs(o.height - evenRound((o.width * aspect[1]) / aspect[0])) > 2) {
          ctx.addIssue({
            code: 'custom',
            path: ['aspect'],
            message: `${o.aspect} does not match ${o.width}×${o.height}; give one side, or none`,
          });
        }
      },
      { when: () => true },
    )
    .transform((o) => {
      let { width, height } = o;
      if (o.aspect && (width === undefined || height === undefined)) {
        const [a, b] = ASPECTS[o.aspect];
        if (width !== undefined) {
          height = evenRound((width * b) / a);
        } else if (height !== undefined) {
          width = evenRound((height * a) / b);
        } else {
          const long = evenRound((ASPECT_SHORT_SIDE * Math.max(a, b)) / Math.min(a, b));
          width = a >= b ? long : ASPECT_SHORT_SIDE;
          height = a >= b ? ASPECT_SHORT_SIDE : long;
        }
      }
      return { ...o, width: width ?? 1280, height: height ?? 720 };
    });
export const OutputSettings = outputSettings(z.object);
export type OutputSettings = z.infer<typeof OutputSettings>;

/** The resolved Timeline's pieces (numbers and blob keys only). */
const resolved = defineTimeline({
  obj: z.object,
  source: KeySource,
  start: Seconds,
  duration: z.number().positive().finite(),
});
/** The request Timeline's pieces: `"auto"` times (the default), key/url/upload sources. */
const request = defineTimeline({
  obj: strictObject,
  source: RequestSource,
  start: z.union([Seconds, Auto]).default('auto'),
  duration: z.union([z.number().positive().finite(), Auto]).default('auto'),
});

export const VideoClip = resolved.VideoClip;
export const ImageClip = resolved.ImageClip;
export const ColorClip = resolved.ColorClip;
export const TextClip = resolved.TextClip;
export const WaveformClip = resolved.WaveformClip;
export const Clip = resolved.Clip;
export type Clip = z.infer<typeof Clip>;
export type ClipInput = z.input<typeof Clip>;
export type VideoClip = z.infer<typeof VideoClip>;
export type WaveformClip = z.infer<typeof WaveformClip>;
export const Track = resolved.Track;
export type Track = z.infer<typeof Track>;
export const AudioTrack = resolved.AudioTrack;
export type AudioTrack = z.infer<typeof AudioTrack>;

/** The resolved Timeline (timeline.v1.json): what `timeline.ready` carries and the encoder renders. */
export const Timeline = resolved.Timeline;
export type Timeline = z.infer<typeof Timeline>;
export type TimelineInput = z.input<typeof Timeline>;

/** The request Timeline (timeline-request.v1.json): what `POST /v1/renders` accepts. */
export const TimelineRequest = request.Timeline;
export type TimelineRequest = z.infer<typeof TimelineRequest>;
export type TimelineRequestInput = z.input<typeof TimelineRequest>;
export const RequestClip = request.Clip;
export type RequestClip = z.infer<typeof RequestClip>;

/**
 * The rules a JSON Schema cannot state (they span fields): `crossCheck` and the output's aspect check
 * enforce them, and the exported schemas list them in their `description`.
 */
export const TIMELINE_CROSS_FIELD_RULES = [
  'output.aspect must agree with output.width × output.height when all three are given',
  'audio track names are unique, and duck.under names one of them',
  'duration is required when there are no clips and no audio',
  'a waveform clip has exactly one of source or track; track names an audio track that does not loop, and the clip starts no earlier than that track; trimStart is for source only',
  "a transition sits on a clip followed by another on the same track, both picture clips (not text), no longer than either clip nor, with the transition before it, than its own clip; the next clip's start is this clip's end minus the transition",
] as const;

/** Clip types drawn from a picture stream; only they can transition into each other. */
export const PICTURE_CLIP_TYPES = ['video', 'image', 'color', 'waveform'] as const;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * The checks that span fields, written against the raw value (they run even when a field is
 * malformed, so one answer names every problem): audio names, ducking keys, transitions, waveforms.
 */
function crossCheck(t: unknown, ctx: z.RefinementCtx): void {
  if (!isObj(t)) return;
  const issue = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: 'custom', path, message });
  const audio = Array.isArray(t.audio) ? t.audio.filter(isObj) : [];
  const tracks = Array.isArray(t.tracks) ? t.tracks : [];
  const audioNames = new Set(audio.map((a) => a.name).filter((n) => typeof n === 'string'));
  const seen = new Set<unknown>();
  (Array.isArray(t.audio) ? t.audio : []).forEach((a: unknown, i) => {
    if (!isObj(a)) return;
    const duck = a.duck;
    if (isObj(duck) && typeof duck.under === 'string' && !audioNames.has(duck.under)) {
      issue(['audio', i, 'duck', 'under'], `names no audio track ("${duck.under}")`);
    }
    // One issue per repeated name, at the repeat (not one per track whenever any name repeats).
    if (typeof a.name === 'string' && seen.has(a.name)) {
      issue(['audio', i, 'name'], `audio track names must be unique ("${a.name}" is used before)`);
    }
    seen.add(a.name);
  });
  const noClips = tracks.every((tr) => !isObj(tr) || !Array.isArray(tr.clips) || tr.clips.length === 0);
  if (t.duration === undefined && noClips && audio.length === 0) {
    issue(['duration'], 'is required when the timeline has no clips or audio');
  }
  const fps = isObj(t.output) && isNum(t.output.fps) ? t.output.fps : 30;
  const halfFrame = 0.5 / fps + 1e-9;

  tracks.forEach((track, ti) => {
    if (!isObj(track) || !Array.isArray(track.clips)) return;
    const clips = track.clips as unknown[];
    clips.forEach((c, ci) => {
      if (!isObj(c)) return;
      const path = ['tracks', ti, 'clips', ci];
      if (c.type === 'waveform') {
        const hasSource = c.source !== undefined;
        const hasTrack = c.track !== undefined;
        if (hasSource === hasTrack) {
          issue(
            [...path, 'source'],
            'a waveform needs exactly one of `source` (a file) or `track` (an audio track)',
          );
        }
        if (typeof c.track === 'string') {
          const a = audio.find((x) => x.name === c.track);
          if (!a) issue([...path, 'track'], `names no audio track ("${c.track}")`);
          else {
            if (a.loop === true)
              issue([...path, 'track'], `"${c.track}" loops; draw a waveform of its file instead`);
            if (isNum(c.start) && c.start + halfFrame < (isNum(a.start) ? a.start : 0)) {
              issue(
                [...path, 'start'],
                `starts before the track "${c.track}" does (${isNum(a.start) ? a.start : 0} s)`,
              );
            }
          }
          if (isNum(c.trimStart) && c.trimStart > 0) {
            issue([...path, 'trimStart'], 'applies to `source` only; a track waveform follows the track');
          }
        }
      }
      const tr = c.transition;
      if (!isObj(tr)) return;
      const tPath = [...path, 'transition'];
      const next = clips[ci + 1];
      if (!isObj(next)) {
        issue(
          tPath,
          'is on the last clip of its track: a transition leads into the next clip on the same track',
        );
        return;
      }
      const picture = (x: Record<string, unknown>) =>
        (PICTURE_CLIP_TYPES as readonly unknown[]).includes(x.type);
      if (!picture(c) || !picture(next)) {
        issue(
          tPath,
          `needs a picture clip (${PICTURE_CLIP_TYPES.join(', ')}) on both sides; a text clip fades with fadeIn/fadeOut`,
        );
      }
      const d = isNum(tr.duration) ? tr.duration : 0.5;
      if (isNum(c.duration) && d > c.duration + 1e-9) {
        issue([...tPath, 'duration'], `(${d} s) is longer than the clip (${c.duration} s)`);
      }
      if (isNum(next.duration) && d > next.duration + 1e-9) {
        issue([...tPath, 'duration'], `(${d} s) is longer than the next clip (${next.duration} s)`);
      }
      const prev = clips[ci - 1];
      const dIn =
        isObj(prev) && isObj(prev.transition) && isNum(prev.transition.duration)
          ? prev.transition.duration
          : 0;
      if (isNum(c.duration) && dIn + d > c.duration + 1e-9) {
        issue(
          tPath,
          `and the transition into this clip (${dIn} + ${d} s) overlap: the clip is only ${c.duration} s`,
        );
      }
      if (isNum(c.start) && isNum(c.duration) && isNum(next.start)) {
        const expected = c.start + c.duration - d;
        if (Math.abs(next.start - expected) > halfFrame) {
          issue(
            ['tracks', ti, 'clips', ci + 1, 'start'],
            `must be ${round6(expected)} (the previous clip's end minus its ${d} s transition); use "auto" in a request`,
          );
        }
      }
    });
  });
}

const round6 = (n: number) => Math.round(n * 1e6) / 1e6;

/** The length of a timeline: its `duration`, else the end of its last clip or non-looping audio. */
export function timelineDuration(t: Timeline): number {
  if (t.duration !== undefined) return t.duration;
  let end = 0;
  for (const track of t.tracks) for (const c of track.clips) end = Math.max(end, c.start + c.duration);
  for (const a of t.audio) if (a.duration !== undefined) end = Math.max(end, a.start + a.duration);
  return end;
}

/** Seconds → the nearest whole frame. Every start and end is read through this, so clips stay contiguous. */
export function toFrame(seconds: number, fps: number): number {
  return Math.round(seconds * fps);
}

/** The output's length in frames: round(duration × fps). */
export function timelineFrames(t: Timeline): number {
  return toFrame(timelineDuration(t), t.output.fps);
}

/** Where a clip sits on the frame grid. */
export interface ClipFrames {
  /** First frame on the output clock. */
  startFrame: number;
  /** First frame after the clip on the output clock. */
  endFrame: number;
  /** Frames the clip shows in this Timeline (endFrame − startFrame). */
  frames: number;
  /** Frames of the clip's own clock already shown before `startFrame` (`elapsed`). */
  elapsedFrames: number;
  /** The clip's whole length on its own clock (elapsed + frames): fades and Ken Burns span this. */
  totalFrames: number;
}

/** A clip's frames: start and end are rounded separately, so back-to-back clips never gap or overlap. */
export function clipFrames(clip: Pick<Clip, 'start' | 'duration' | 'elapsed'>, fps: number): ClipFrames {
  const startFrame = toFrame(clip.start, fps);
  const endFrame = Math.max(startFrame, toFrame(clip.start + clip.duration, fps));
  const elapsedFrames = toFrame(clip.elapsed ?? 0, fps);
  const frames = endFrame - startFrame;
  return { startFrame, endFrame, frames, elapsedFrames, totalFrames: elapsedFrames + frames };
}
