import { z } from 'zod';
import { BlobKey, Seconds } from './common.ts';

/**
 * The Timeline: a declarative description of one output video. The compositor writes it, users may
 * submit one directly, the encoder renders it in one lossy encode. Times are seconds on the output
 * clock; positions are pixels in the output frame (origin top-left).
 */

const Even = (what: string) =>
  z
    .number()
    .int()
    .min(16)
    .max(7680)
    .refine((n) => n % 2 === 0, { message: `${what} must be even (yuv420p needs even sizes)` });

export const Rect = z.object({
  x: z.number().int(),
  y: z.number().int(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
});
export type Rect = z.infer<typeof Rect>;

const Color = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour like "#1a2b3c"');

/** Ken Burns: the visible window moves from `from` to `to` over the clip. zoom 1 = the whole image. */
export const KenBurns = z.object({
  type: z.literal('kenburns'),
  from: z.object({
    zoom: z.number().min(1).max(4),
    x: z.number().min(0).max(1),
    y: z.number().min(0).max(1),
  }),
  to: z.object({ zoom: z.number().min(1).max(4), x: z.number().min(0).max(1), y: z.number().min(0).max(1) }),
});
export type KenBurns = z.infer<typeof KenBurns>;

const ClipBase = z.object({
  start: Seconds,
  duration: z.number().positive().finite(),
  /** Where the clip is drawn; the whole frame when absent. */
  position: Rect.optional(),
  /** How the source fills `position`: letterbox (contain), crop (cover) or stretch (fill). */
  fit: z.enum(['contain', 'cover', 'fill']).default('contain'),
  opacity: z.number().min(0).max(1).default(1),
  /** Seconds of fade from/to transparent: a crossfade when clips overlap. */
  fadeIn: Seconds.default(0),
  fadeOut: Seconds.default(0),
  motion: KenBurns.optional(),
});

export const VideoClip = ClipBase.extend({
  type: z.literal('video'),
  source: z.object({ key: BlobKey }),
  /** Seconds into the source where the clip starts. */
  trimStart: Seconds.default(0),
  /** Loop the source when it is shorter than `duration`. */
  loop: z.boolean().default(false),
});
export const ImageClip = ClipBase.extend({ type: z.literal('image'), source: z.object({ key: BlobKey }) });
export const ColorClip = ClipBase.extend({ type: z.literal('color'), color: Color });
export const TextClip = ClipBase.extend({
  type: z.literal('text'),
  text: z.string().min(1).max(500),
  fontSize: z.number().int().min(6).max(400).default(48),
  color: Color.default('#ffffff'),
  /** Box behind the text, or none. */
  boxColor: Color.optional(),
});
export const Clip = z.discriminatedUnion('type', [VideoClip, ImageClip, ColorClip, TextClip]);
export type Clip = z.infer<typeof Clip>;
export type ClipInput = z.input<typeof Clip>;

export const Track = z.object({
  name: z.string().max(100).optional(),
  clips: z.array(Clip).max(5000),
});

/** Music dips by `amountDb` under the track named `under` while it has signal (sidechain ducking). */
export const Ducking = z.object({
  under: z.string().min(1),
  amountDb: z.number().min(0).max(40).default(10),
  attackMs: z.number().min(1).max(2000).default(50),
  releaseMs: z.number().min(1).max(5000).default(600),
});

export const AudioTrack = z.object({
  name: z.string().min(1).max(100),
  source: z.object({ key: BlobKey }),
  start: Seconds.default(0),
  trimStart: Seconds.default(0),
  /** Seconds of the source to use; to the end (or the timeline's end when looping) when absent. */
  duration: z.number().positive().finite().optional(),
  gainDb: z.number().min(-60).max(20).default(0),
  loop: z.boolean().default(false),
  fadeIn: Seconds.default(0),
  fadeOut: Seconds.default(0),
  duck: Ducking.optional(),
});
export type AudioTrack = z.infer<typeof AudioTrack>;

export const OutputSettings = z.object({
  width: Even('output.width').default(1280),
  height: Even('output.height').default(720),
  fps: z.number().int().min(1).max(120).default(30),
  video: z
    .object({
      codec: z.literal('h264').default('h264'),
      profile: z.enum(['high', 'main', 'baseline']).default('high'),
      pixelFormat: z.literal('yuv420p').default('yuv420p'),
      crf: z.number().int().min(0).max(51).default(23),
      preset: z
        .enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow'])
        .default('veryfast'),
      /** Constant bitrate (kb/s) instead of CRF, for backends that need one (MediaConvert CBR). */
      bitrateKbps: z.number().int().min(100).max(100_000).optional(),
    })
    .prefault({}),
  audio: z
    .object({
      codec: z.literal('aac').default('aac'),
      bitrateKbps: z.number().int().min(32).max(512).default(128),
      sampleRate: z.literal(48000).default(48000),
      channels: z.literal(2).default(2),
    })
    .prefault({}),
  /** `moov` before `mdat`, so browsers (iOS Safari) start playing before the download ends. */
  faststart: z.literal(true).default(true),
});
export type OutputSettings = z.infer<typeof OutputSettings>;

export const Timeline = z
  .object({
    version: z.literal(1),
    output: OutputSettings.prefault({}),
    /** Total seconds; the end of the last clip or audio track when absent. */
    duration: z.number().positive().finite().optional(),
    background: Color.default('#000000'),
    /** Drawn in order: later tracks over earlier ones. */
    tracks: z.array(Track).max(100).default([]),
    audio: z.array(AudioTrack).max(32).default([]),
    /** Allow a backend to drop features it cannot render (e.g. MediaConvert and Ken Burns) instead of refusing. */
    allowDegradation: z.boolean().default(false),
  })
  .superRefine((t, ctx) => {
    const audioNames = new Set(t.audio.map((a) => a.name));
    const seen = new Set<string>();
    t.audio.forEach((a, i) => {
      if (a.duck && !audioNames.has(a.duck.under)) {
        ctx.addIssue({
          code: 'custom',
          path: ['audio', i, 'duck', 'under'],
          message: `names no audio track ("${a.duck.under}")`,
        });
      }
      // One issue per repeated name, at the repeat (not one per track whenever any name repeats).
      if (seen.has(a.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['audio', i, 'name'],
          message: `audio track names must be unique ("${a.name}" is used before)`,
        });
      }
      seen.add(a.name);
    });
    if (t.duration === undefined && t.tracks.every((tr) => tr.clips.length === 0) && t.audio.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['duration'],
        message: 'is required when the timeline has no clips or audio',
      });
    }
  });
export type Timeline = z.infer<typeof Timeline>;
export type TimelineInput = z.input<typeof Timeline>;

/** The length of a timeline: its `duration`, else the end of its last clip or non-looping audio. */
export function timelineDuration(t: Timeline): number {
  if (t.duration !== undefined) return t.duration;
  let end = 0;
  for (const track of t.tracks) for (const c of track.clips) end = Math.max(end, c.start + c.duration);
  for (const a of t.audio) if (a.duration !== undefined) end = Math.max(end, a.start + a.duration);
  return end;
}
