import type {
  AudioDescription,
  AudioSelector,
  CreateJobCommandInput,
  H264CodecLevel,
  H264CodecProfile,
  InsertableImage,
  Input,
} from '@aws-sdk/client-mediaconvert';
import {
  applyOutputPreset,
  resolvePosition,
  timelineDuration,
  type AudioTrack,
  type Clip,
  type Timeline,
} from '@reelbus/contracts';
import { PermanentError } from '@reelbus/kit';

/*
 * Timeline → MediaConvert CreateJob, pure. The shape is the reference's proven story job
 * (shared/reference/000): one input whose picture is a still background, the voice and the music as two
 * audio selectors mixed by an AudioSelectorGroup with 2-in/2-out RemixSettings (music fine-tune =
 * its gainDb), every other picture an ImageInserter layer (HH:MM:SS:FF start at the output fps,
 * zero-based timecodes), H.264 High CBR, AAC-LC 128k 48 kHz 2.0, MP4 with the moov up front.
 *
 * MediaConvert's ImageInserter wants PNG/TGA placed at a pixel size, so the backend first renders
 * each picture to a PNG already fitted to its rect (`overlayPlan`), and passes their URLs in `inputs`
 * under the ids the plan gives them.
 */

/** A picture the backend must render to a PNG of `width`×`height` before the job is built. */
export type OverlaySource =
  | { id: string; kind: 'image'; key: string; fit: Clip['fit']; width: number; height: number; field: string }
  | { id: string; kind: 'color'; color: string; width: number; height: number; field: string };

/** A Timeline feature MediaConvert cannot express, with the path that names it. */
export interface UnsupportedFeature {
  path: string;
  feature: string;
}

interface Placed {
  source: OverlaySource;
  path: string;
  x: number;
  y: number;
  start: number;
  duration: number;
  opacity: number;
  fadeIn: number;
  fadeOut: number;
}

/** What the job is made of: the picture base, the overlays, the audio and what cannot be expressed. */
export interface MediaConvertPlan {
  durationSec: number;
  fps: number;
  width: number;
  height: number;
  /** The input's picture: a full-length, full-frame video clip, or a still (colour/image) for the video generator. */
  base:
    | { kind: 'video'; key: string; path: string }
    | { kind: 'still'; source: OverlaySource }
    | { kind: 'black' };
  overlays: Placed[];
  voice?: { track: AudioTrack; path: string };
  music?: { track: AudioTrack; path: string };
  unsupported: UnsupportedFeature[];
}

/** Image layers MediaConvert accepts (Layer is 0-99; 0 is left to the base). */
export const MAX_LAYER = 99;
/** InputChannelsFineTune range, dB. */
export const FINE_TUNE_MIN_DB = -60;
export const FINE_TUNE_MAX_DB = 6;

const rectOf = (clip: Clip, width: number, height: number) =>
  resolvePosition({ position: clip.position, frame: { width, height } });

function coversFrame(clip: Clip, w: number, h: number): boolean {
  const r = rectOf(clip, w, h);
  return r.x <= 0 && r.y <= 0 && r.x + r.width >= w && r.y + r.height >= h;
}

/**
 * Plans the job: which clip is the base, which are overlays, which audio is voice/music, what is
 * unsupported. A preview Timeline is planned at its preview size and rate.
 */
export function planMediaConvert({ timeline: input }: { timeline: Timeline }): MediaConvertPlan {
  const timeline = applyOutputPreset(input);
  const { width, height, fps } = timeline.output;
  const durationSec = timelineDuration(timeline);
  const frame = 1 / fps;
  const unsupported: UnsupportedFeature[] = [];
  const clips = timeline.tracks.flatMap((t, ti) =>
    t.clips.map((clip, ci) => ({ clip, path: `tracks[${ti}].clips[${ci}]` })),
  );
  // Features of any clip MediaConvert has no counterpart for (ImageInserter layers cut and fade).
  for (const { clip, path } of clips) {
    if (clip.transition) {
      unsupported.push({
        path: `${path}.transition`,
        feature: `a ${clip.transition.type} transition (image layers only cut or fade)`,
      });
    }
    if (clip.elapsed > 0) {
      unsupported.push({ path: `${path}.elapsed`, feature: 'a clip continued part-way through (elapsed)' });
    }
  }
  if (timeline.output.poster !== false) {
    unsupported.push({
      path: 'output.poster',
      feature: 'a poster frame (the ffmpeg backend writes jobs/<id>/poster.jpg)',
    });
  }
  // output.formats "hls" is not this backend's business: MediaConvert writes the MP4 only, and the
  // encoder packages the HLS ladder from that MP4 with ffmpeg afterwards, as for every backend.

  // The first clip drawn is the base when it is a plain, full-frame picture for the whole timeline.
  let base: MediaConvertPlan['base'] =
    timeline.background.toLowerCase() === '#000000'
      ? { kind: 'black' }
      : {
          kind: 'still',
          source: {
            id: 'base',
            kind: 'color',
            color: timeline.background,
            width,
            height,
            field: 'background',
          },
        };
  const first = clips[0];
  if (
    first &&
    first.clip.start <= frame / 2 &&
    first.clip.duration >= durationSec - frame &&
    coversFrame(first.clip, width, height) &&
    first.clip.opacity === 1 &&
    first.clip.fadeIn === 0 &&
    first.clip.fadeOut === 0 &&
    !first.clip.motion
  ) {
    const c = first.clip;
    if (c.type === 'video' && c.trimStart === 0 && !c.loop) {
      base = { kind: 'video', key: c.source.key, path: first.path };
      clips.shift();
      // The input file's own sound plays when the Timeline has no audio track, as recorded.
      const tracks = timeline.audio.length > 0;
      if (c.volume > 0 && tracks) {
        unsupported.push({
          path: `${first.path}.volume`,
          feature: "mixing a video's own sound with audio tracks (set volume 0)",
        });
      } else if (c.volume > 0 && c.volume !== 1) {
        unsupported.push({
          path: `${first.path}.volume`,
          feature: "a volume other than 0 or 1 on a video's own sound",
        });
      } else if (c.volume === 0 && !tracks) {
        unsupported.push({
          path: `${first.path}.volume`,
          feature: "muting a video's own sound without an audio track (its sound would play)",
        });
      }
    } else if (c.type === 'image') {
      base = {
        kind: 'still',
        source: {
          id: 'base',
          kind: 'image',
          key: c.source.key,
          fit: c.fit,
          width,
          height,
          field: `${first.path}.source.key`,
        },
      };
      clips.shift();
    } else if (c.type === 'color') {
      base = {
        kind: 'still',
        source: { id: 'base', kind: 'color', color: c.color, width, height, field: `${first.path}.color` },
      };
      clips.shift();
    }
  }

  const overlays: Placed[] = [];
  for (const { clip, path } of clips) {
    if (clip.type === 'video') {
      unsupported.push({
        path,
        feature: 'a video clip (only a full-length, full-frame first clip can be the input video)',
      });
      continue;
    }
    if (clip.type === 'text') {
      unsupported.push({ path, feature: 'a text clip (ImageInserter draws images only)' });
      continue;
    }
    if (clip.type === 'waveform') {
      unsupported.push({ path, feature: 'a waveform clip (MediaConvert draws no audio visualiser)' });
      continue;
    }
    if (clip.motion)
      unsupported.push({
        path: `${path}.motion`,
        feature: 'Ken Burns motion (ImageInserter images are still)',
      });
    let r = rectOf(clip, width, height);
    if (r.x < 0 || r.y < 0 || r.x + r.width > width || r.y + r.height > height) {
      unsupported.push({ path: `${path}.position`, feature: 'a position outside the frame' });
      const x = Math.max(0, r.x);
      const y = Math.max(0, r.y);
      r = { x, y, width: Math.min(width, r.x + r.width) - x, height: Math.min(height, r.y + r.height) - y };
      if (r.width <= 0 || r.height <= 0) continue;
    }
    if (overlays.length >= MAX_LAYER) {
      unsupported.push({ path, feature: `more than ${MAX_LAYER} image layers` });
      continue;
    }
    const id = `overlay-${overlays.length + 1}`;
    const source: OverlaySource =
      clip.type === 'image'
        ? {
            id,
            kind: 'image',
            key: clip.source.key,
            fit: clip.fit,
            width: r.width,
            height: r.height,
            field: `${path}.source.key`,
          }
        : { id, kind: 'color', color: clip.color, width: r.width, height: r.height, field: `${path}.color` };
    overlays.push({
      source,
      path,
      x: r.x,
      y: r.y,
      start: clip.start,
      duration: clip.duration,
      opacity: clip.opacity,
      fadeIn: clip.fadeIn,
      fadeOut: clip.fadeOut,
    });
  }

  const audio = timeline.audio.map((track, i) => ({ track, path: `audio[${i}]` }));
  const voice = audio.find((a) => a.track.name === 'voice') ?? audio[0];
  const rest = audio.filter((a) => a !== voice);
  const music = rest.find((a) => a.track.name === 'music') ?? rest[0];
  for (const a of rest) {
    if (a !== music)
      unsupported.push({
        path: a.path,
        feature: 'a third audio track (MediaConvert mixes a voice and a music track)',
      });
  }
  for (const a of [voice, music]) {
    if (!a) continue;
    const t = a.track;
    if (t.duck)
      unsupported.push({ path: `${a.path}.duck`, feature: 'ducking (RemixSettings gains are constant)' });
    if (t.loop) unsupported.push({ path: `${a.path}.loop`, feature: 'a looping audio track' });
    if (t.trimStart > 0)
      unsupported.push({ path: `${a.path}.trimStart`, feature: 'trimming the start of an audio track' });
    if (t.fadeIn > 0 || t.fadeOut > 0)
      unsupported.push({ path: `${a.path}.fadeIn/fadeOut`, feature: 'audio fades' });
    if (t.gainDb < FINE_TUNE_MIN_DB || t.gainDb > FINE_TUNE_MAX_DB) {
      unsupported.push({
        path: `${a.path}.gainDb`,
        feature: `a gain outside ${FINE_TUNE_MIN_DB}..${FINE_TUNE_MAX_DB} dB (clamped)`,
      });
    }
    if (a === voice && !music && t.gainDb !== 0) {
      unsupported.push({
        path: `${a.path}.gainDb`,
        feature: 'a gain on the only audio track (no remix without a second track)',
      });
    }
  }

  return {
    durationSec,
    fps,
    width,
    height,
    base,
    overlays,
    ...(voice ? { voice } : {}),
    ...(music ? { music } : {}),
    unsupported,
  };
}

/** The pictures the backend renders to PNGs before building the job (base still first). */
export function overlaySources(plan: MediaConvertPlan): OverlaySource[] {
  return [...(plan.base.kind === 'still' ? [plan.base.source] : []), ...plan.overlays.map((o) => o.source)];
}

/** `HH:MM:SS:FF` at `fps` (zero-based), from seconds rounded to the nearest frame. */
export function toTimecode({ seconds, fps }: { seconds: number; fps: number }): string {
  const frames = Math.max(0, Math.round(seconds * fps));
  const ff = frames % fps;
  const total = Math.floor(frames / fps);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(total / 3600))}:${pad(Math.floor(total / 60) % 60)}:${pad(total % 60)}:${pad(ff)}`;
}

/**
 * MediaConvert names the output `<Destination><NameModifier>.mp4` and needs a non-empty NameModifier
 * (reference: "Empty NameModifier" was failure cause no. 1). To land exactly on `…/final.mp4` with no
 * copy afterwards, the basename is split: Destination `…/fina` + NameModifier `l`.
 */
export function splitOutputUrl(output: string): { destination: string; nameModifier: string } {
  const m = /^(s3:\/\/.+\/)?([^/]*?)([^/])\.mp4$/.exec(output);
  if (!m || !m[1] || !m[2])
    throw new Error(
      `output must be an s3:// URL ending in <name>.mp4 with a name of 2+ characters, got "${output}"`,
    );
  return { destination: `${m[1]}${m[2]}`, nameModifier: m[3]! };
}

/**
 * Throws PermanentError listing every unsupported feature with its path, unless degradation is
 * allowed; then returns one warning per dropped feature.
 */
export function checkExpressible({
  plan,
  allowDegradation,
}: {
  plan: MediaConvertPlan;
  allowDegradation: boolean;
}): string[] {
  if (plan.unsupported.length > 0 && !allowDegradation) {
    throw new PermanentError(
      `the mediaconvert encoder cannot render this timeline: ${plan.unsupported
        .map((u) => `${u.path}: ${u.feature}`)
        .join('; ')}. Render it with the ffmpeg backend, or set allowDegradation to drop these features`,
      { step: 'encode' },
    );
  }
  return plan.unsupported.map((u) => `${u.path}: ${u.feature} is not supported by MediaConvert; dropped`);
}

export interface BuildMediaConvertJobOptions {
  timeline: Timeline;
  /** s3:// URLs by blob key (audio, base video) and by overlay id (`base`, `overlay-N`: the fitted PNGs). */
  inputs: Readonly<Record<string, string>>;
  /** s3:// URL of the final MP4 (`…/jobs/<jobId>/final.mp4`). */
  output: string;
  role: string;
  queue?: string;
  /** Drop what MediaConvert cannot express (listed in `warnings`) instead of refusing. Default: the Timeline's. */
  allowDegradation?: boolean;
  /** Video bitrate when the Timeline sets none (kb/s). Default 3000 (the reference's). */
  defaultBitrateKbps?: number;
  userMetadata?: Record<string, string>;
}

/**
 * The CreateJob request for a Timeline. Throws PermanentError listing every feature MediaConvert
 * cannot express (with its Timeline path) unless degradation is allowed; then they are dropped and
 * returned as `warnings`.
 */
export function buildMediaConvertJob({
  timeline,
  inputs,
  output,
  role,
  queue,
  allowDegradation = timeline.allowDegradation,
  defaultBitrateKbps = 3000,
  userMetadata,
}: BuildMediaConvertJobOptions): { job: CreateJobCommandInput; plan: MediaConvertPlan; warnings: string[] } {
  const plan = planMediaConvert({ timeline });
  timeline = applyOutputPreset(timeline);
  const warnings = checkExpressible({ plan, allowDegradation });
  const url = (id: string, field: string) => {
    const u = inputs[id];
    if (!u) throw new Error(`internal: no input URL for ${field} ("${id}")`);
    return u;
  };
  const { fps, width, height, durationSec } = plan;
  const ms = (s: number) => Math.round(s * 1000);

  const selectors: Record<string, AudioSelector> = {};
  const audioSelector = (a: { track: AudioTrack; path: string }): AudioSelector => ({
    DefaultSelection: 'DEFAULT',
    SelectorType: 'TRACK',
    Tracks: [1],
    ExternalAudioFileInput: url(a.track.source.key, `${a.path}.source.key`),
    Offset: ms(a.track.start),
    AudioDurationCorrection: 'AUTO',
  });
  if (plan.voice) selectors['Audio Selector 1'] = audioSelector(plan.voice);
  else selectors['Audio Selector 1'] = { DefaultSelection: 'DEFAULT', SelectorType: 'TRACK', Tracks: [1] };
  if (plan.music) selectors['Audio Selector 2'] = audioSelector(plan.music);

  const clampGain = (g: number) => Math.min(FINE_TUNE_MAX_DB, Math.max(FINE_TUNE_MIN_DB, g));
  const fineTune = [clampGain(plan.voice?.track.gainDb ?? 0), clampGain(plan.music?.track.gainDb ?? 0)];
  const audioDescription: AudioDescription = {
    AudioTypeControl: plan.music ? 'USE_CONFIGURED' : 'FOLLOW_INPUT',
    AudioSourceName: plan.music ? 'Audio Selector Group 1' : 'Audio Selector 1',
    CodecSettings: {
      Codec: 'AAC',
      AacSettings: {
        Bitrate: timeline.output.audio.bitrateKbps * 1000,
        RateControlMode: 'CBR',
        CodecProfile: 'LC',
        CodingMode: 'CODING_MODE_2_0',
        SampleRate: timeline.output.audio.sampleRate,
      },
    },
    ...(plan.music
      ? {
          // The reference's proven mix: 2 channels in from the group, 2 out, each output = voice + music at gainDb.
          RemixSettings: {
            ChannelMapping: {
              OutputChannels: [{ InputChannelsFineTune: fineTune }, { InputChannelsFineTune: fineTune }],
            },
            ChannelsIn: 2,
            ChannelsOut: 2,
          },
        }
      : {}),
  };

  const input: Input = {
    ...(plan.base.kind === 'video'
      ? { FileInput: url(plan.base.key, `${plan.base.path}.source.key`) }
      : {
          VideoGenerator: {
            Duration: ms(durationSec),
            FramerateNumerator: fps,
            FramerateDenominator: 1,
            Width: width,
            Height: height,
            ...(plan.base.kind === 'still'
              ? { ImageInput: url(plan.base.source.id, plan.base.source.field) }
              : {}),
            ...(plan.voice ? {} : { Channels: 2, SampleRate: 48000 }),
          },
        }),
    AudioSelectors: selectors,
    ...(plan.music
      ? {
          AudioSelectorGroups: {
            'Audio Selector Group 1': { AudioSelectorNames: ['Audio Selector 1', 'Audio Selector 2'] },
          },
        }
      : {}),
    TimecodeSource: 'ZEROBASED',
  };

  const images: InsertableImage[] = plan.overlays.map((o, i) => ({
    ImageInserterInput: url(o.source.id, o.source.field),
    ImageX: o.x,
    ImageY: o.y,
    Width: o.source.width,
    Height: o.source.height,
    StartTime: toTimecode({ seconds: o.start, fps }),
    // MediaConvert's Duration includes the fade-in but not the fade-out.
    Duration: Math.max(1, ms(o.duration - o.fadeOut)),
    FadeIn: ms(o.fadeIn),
    FadeOut: ms(o.fadeOut),
    Opacity: Math.round(o.opacity * 100),
    Layer: i + 1,
  }));

  const { destination, nameModifier } = splitOutputUrl(output);
  const video = timeline.output.video;
  const profile: H264CodecProfile =
    video.profile === 'high' ? 'HIGH' : video.profile === 'main' ? 'MAIN' : 'BASELINE';
  const level: H264CodecLevel = width * height <= 1920 * 1080 && fps <= 30 ? 'LEVEL_4' : 'AUTO';

  const job: CreateJobCommandInput = {
    Role: role,
    ...(queue ? { Queue: queue } : {}),
    ...(userMetadata ? { UserMetadata: userMetadata } : {}),
    Settings: {
      Inputs: [input],
      OutputGroups: [
        {
          Name: 'reelbus final',
          OutputGroupSettings: {
            Type: 'FILE_GROUP_SETTINGS',
            FileGroupSettings: { Destination: destination },
          },
          Outputs: [
            {
              NameModifier: nameModifier,
              Extension: 'mp4',
              ContainerSettings: {
                Container: 'MP4',
                Mp4Settings: {
                  CslgAtom: 'INCLUDE',
                  FreeSpaceBox: 'EXCLUDE',
                  MoovPlacement: 'PROGRESSIVE_DOWNLOAD',
                },
              },
              VideoDescription: {
                Width: width,
                Height: height,
                ScalingBehavior: 'DEFAULT',
                TimecodeInsertion: 'DISABLED',
                ColorMetadata: 'INSERT',
                CodecSettings: {
                  Codec: 'H_264',
                  H264Settings: {
                    InterlaceMode: 'PROGRESSIVE',
                    RateControlMode: 'CBR',
                    Bitrate: (video.bitrateKbps ?? defaultBitrateKbps) * 1000,
                    FramerateControl: 'SPECIFIED',
                    FramerateNumerator: fps,
                    FramerateDenominator: 1,
                    CodecProfile: profile,
                    CodecLevel: level,
                    QualityTuningLevel: 'SINGLE_PASS',
                  },
                },
                ...(images.length > 0
                  ? { VideoPreprocessors: { ImageInserter: { InsertableImages: images } } }
                  : {}),
              },
              AudioDescriptions: [audioDescription],
            },
          ],
        },
      ],
      TimecodeConfig: { Source: 'ZEROBASED' },
    },
  };
  return { job, plan, warnings };
}

export interface MediaConvertRates {
  /** USD per output minute, by resolution (basic tier). */
  perMinuteSdUsd: number;
  perMinuteHdUsd: number;
  perMinuteUhdUsd: number;
  /** USD per inserted image. */
  perImageUsd: number;
}

/** The reference's figures: $0.015 per started minute (HD, basic tier), $0.001 per image; SD half, UHD double. */
export const DEFAULT_MEDIACONVERT_RATES: MediaConvertRates = {
  perMinuteSdUsd: 0.0075,
  perMinuteHdUsd: 0.015,
  perMinuteUhdUsd: 0.03,
  perImageUsd: 0.001,
};

/**
 * The reference's cost formula: `ceil(minutes) × per-minute + images × per-image`, the per-minute
 * price by output resolution (SD < 720 lines, HD up to 1080, UHD above).
 */
export function estimateMediaConvertCostUsd({
  durationSec,
  imageCount,
  height,
  rates = DEFAULT_MEDIACONVERT_RATES,
}: {
  durationSec: number;
  imageCount: number;
  height: number;
  rates?: MediaConvertRates;
}): number {
  const perMinute =
    height < 720 ? rates.perMinuteSdUsd : height <= 1080 ? rates.perMinuteHdUsd : rates.perMinuteUhdUsd;
  const usd = Math.ceil(durationSec / 60) * perMinute + imageCount * rates.perImageUsd;
  return Math.round(usd * 1e6) / 1e6;
}
