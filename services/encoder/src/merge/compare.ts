import type { AudioParams, ClipProbe, VideoParams } from './probe.ts';

/*
 * Can N clips be joined by stream copy? FFmpeg's concat demuxer with `-c copy` writes a broken file
 * WITHOUT an error when the inputs differ in codec, profile, level, size, pixel format, SAR, frame
 * rate, time base, audio format or codec extradata (the sample entry describes the first clip only:
 * wrong size in the header, 27 s reported for 4 s, audio played at the wrong rate, the next clip
 * decoded with the first one's SPS/PPS). So this module compares every input with the majority,
 * names each difference, and decides per input what must be re-encoded. Pure: probes in, verdict out.
 */

/** One way an input differs from the majority. */
export interface Difference {
  clip: number;
  /** `clips[3]` */
  label: string;
  /** `video.width`, `audio.sampleRate`, `video.extradata`, `streams`, `audio` (missing) … */
  field: string;
  expected: string;
  actual: string;
}

interface FieldSpec<P> {
  field: string;
  /** How the field is shown to users. */
  name: string;
  value: (p: P) => string;
}

const channelLayout = (a: AudioParams) =>
  a.channelLayout ?? (a.channels === 1 ? 'mono' : a.channels === 2 ? 'stereo' : `${a.channels} channels`);

/** The video fields compared, in the order they are reported. */
export const VIDEO_FIELDS: readonly FieldSpec<VideoParams>[] = [
  { field: 'video.codec', name: 'video codec', value: (v) => v.codec },
  { field: 'video.profile', name: 'profile', value: (v) => v.profile ?? '?' },
  { field: 'video.level', name: 'level', value: (v) => (v.level === undefined ? '?' : String(v.level)) },
  { field: 'video.width', name: 'width', value: (v) => String(v.width) },
  { field: 'video.height', name: 'height', value: (v) => String(v.height) },
  { field: 'video.pixFmt', name: 'pixel format', value: (v) => v.pixFmt ?? '?' },
  { field: 'video.sar', name: 'sample aspect ratio', value: (v) => v.sar },
  { field: 'video.frameRate', name: 'frame rate', value: (v) => v.frameRate },
  { field: 'video.timeBase', name: 'time base', value: (v) => v.timeBase },
  {
    field: 'video.extradata',
    name: 'codec extradata (H.264 SPS/PPS)',
    value: (v) => v.extradata,
  },
];

/** The audio fields compared. For AAC the extradata is compared by what a decoder reads from it. */
export const AUDIO_FIELDS: readonly FieldSpec<AudioParams>[] = [
  { field: 'audio.codec', name: 'audio codec', value: (a) => a.codec },
  { field: 'audio.profile', name: 'audio profile', value: (a) => a.profile ?? '?' },
  { field: 'audio.sampleRate', name: 'sample rate', value: (a) => String(a.sampleRate) },
  { field: 'audio.channels', name: 'channels', value: (a) => String(a.channels) },
  { field: 'audio.channelLayout', name: 'channel layout', value: channelLayout },
  { field: 'audio.timeBase', name: 'audio time base', value: (a) => a.timeBase },
  {
    field: 'audio.extradata',
    name: 'codec extradata (AAC AudioSpecificConfig)',
    // Two AAC encoders write the same configuration in 2 or 5 bytes; what matters is what it says.
    value: (a) =>
      a.aac
        ? `aot ${a.aac.objectType}, ${a.aac.sampleRate} Hz, channel config ${a.aac.channelConfig}`
        : a.extradata,
  },
];

const shortHex = (hex: string) => (hex === '' ? '(none)' : hex.length > 24 ? `${hex.slice(0, 24)}…` : hex);

/** The group of clips with the most seconds: re-encoding the others costs the least. Ties → the earliest. */
function majority<P>(items: Array<{ clip: ClipProbe; params: P }>, key: (p: P) => string): P | undefined {
  const groups = new Map<string, { seconds: number; first: number; params: P }>();
  for (const { clip, params } of items) {
    const k = key(params);
    const g = groups.get(k);
    const seconds = clip.video?.durationSec ?? clip.durationSec;
    if (g) g.seconds += seconds;
    else groups.set(k, { seconds, first: clip.index, params });
  }
  let best: { seconds: number; first: number; params: P } | undefined;
  for (const g of groups.values()) {
    if (
      !best ||
      g.seconds > best.seconds + 1e-9 ||
      (Math.abs(g.seconds - best.seconds) <= 1e-9 && g.first < best.first)
    )
      best = g;
  }
  return best?.params;
}

const signature =
  <P>(fields: readonly FieldSpec<P>[]) =>
  (p: P) =>
    fields.map((f) => f.value(p)).join('\u0000');

export interface Comparison {
  /** The majority's streams (by total duration); absent when no clip has that stream. */
  reference: { video?: VideoParams; audio?: AudioParams; streams: string };
  /** Every difference from the majority, clip by clip, field by field. */
  differences: Difference[];
}

/** Compares every clip's streams with the majority's. Clips without video are not compared (the caller refuses them). */
export function compareClips(probes: readonly ClipProbe[]): Comparison {
  const withVideo = probes.flatMap((clip) => (clip.video ? [{ clip, params: clip.video }] : []));
  const withAudio = probes.flatMap((clip) => (clip.audio ? [{ clip, params: clip.audio }] : []));
  const video = majority(withVideo, signature(VIDEO_FIELDS));
  const audio = majority(withAudio, signature(AUDIO_FIELDS));
  const streams =
    majority(
      probes.map((clip) => ({ clip, params: clip.streams.join(', ') })),
      (s) => s,
    ) ?? '';
  const differences: Difference[] = [];
  const diff = (clip: ClipProbe, field: string, expected: string, actual: string) =>
    differences.push({ clip: clip.index, label: clip.label, field, expected, actual });
  for (const clip of probes) {
    if (clip.streams.join(', ') !== streams) diff(clip, 'streams', streams, clip.streams.join(', '));
    if (clip.video && video) {
      for (const f of VIDEO_FIELDS) {
        const [e, a] = [f.value(video), f.value(clip.video)];
        if (e !== a) diff(clip, f.field, e, a);
      }
    }
    if (audio && !clip.audio) diff(clip, 'audio', 'an audio stream', 'none');
    if (audio && clip.audio) {
      for (const f of AUDIO_FIELDS) {
        const [e, a] = [f.value(audio), f.value(clip.audio)];
        if (e !== a) diff(clip, f.field, e, a);
      }
    }
  }
  return { reference: { ...(video ? { video } : {}), ...(audio ? { audio } : {}), streams }, differences };
}

/** One line per difference: `clips[2]: width is 640, the majority's is 1280`. */
export function describeDifference(d: Difference): string {
  if (d.field === 'audio') return `${d.label}: has no audio stream`;
  if (d.field === 'streams')
    return `${d.label}: streams are [${d.actual}], the majority's are [${d.expected}]`;
  const spec = [...VIDEO_FIELDS, ...AUDIO_FIELDS].find((f) => f.field === d.field);
  const name = spec?.name ?? d.field;
  if (d.field === 'video.extradata')
    return `${d.label}: ${name} differs (${shortHex(d.actual)} vs the majority's ${shortHex(d.expected)})`;
  return `${d.label}: ${name} is ${d.actual}, the majority's is ${d.expected}`;
}

// ---------------------------------------------------------------------------------------------------
// What to do about it

/** The video every joined clip will have. */
export interface VideoTarget {
  width: number;
  height: number;
  /** Frame rate as a rational string (`30/1`). */
  frameRate: string;
  /** MP4 track timescale of re-encoded clips (matches the majority's, so timestamps join exactly). */
  timescale?: number;
  profile: 'high' | 'main' | 'baseline';
  /** Colour tags every re-encoded clip is given (they end up in the SPS, so they must be one set). */
  color: VideoParams['color'];
  /** The majority's H.264 extradata a re-encoded clip must reproduce for a copy join; absent when everything is re-encoded anyway. */
  extradata?: string;
}

export interface AudioTarget {
  sampleRate: number;
  channels: number;
  channelLayout: string;
}

export interface ClipPlan {
  index: number;
  label: string;
  /** Keep the clip's picture as it is, or re-encode it to the target. */
  video: 'copy' | 'encode';
  /** Keep its sound, re-encode it (AAC-LC at the target rate and layout), or fill its length with silence (no audio). */
  audio: 'copy' | 'encode' | 'silence';
  /** Rewrite the container even though nothing is encoded (the picture is not the first stream). */
  remux: boolean;
  /** Why, one line each (what the job's warnings say). */
  reasons: string[];
}

export interface MergePlan {
  /** `copy`: every clip is joined as it is (silence may fill clips without audio); `normalise`: some clips are rewritten first. */
  mode: 'copy' | 'normalise';
  video: VideoTarget;
  audio: AudioTarget;
  clips: ClipPlan[];
  /**
   * True when some clips' video must be re-encoded to match the majority's and it is not yet known
   * whether reelbus's encoder reproduces the majority's extradata (run `reproducesExtradata`, then
   * plan again with `videoReproducible`).
   */
  needsReproductionCheck: boolean;
}

const DELIVERY_AUDIO: AudioTarget = { sampleRate: 48000, channels: 2, channelLayout: 'stereo' };

/** Web-ready picture a copy join may keep: H.264, 4:2:0, square pixels, even size. */
export function isWebReadyVideo(v: VideoParams): boolean {
  return (
    v.codec === 'h264' &&
    (v.pixFmt === 'yuv420p' || v.pixFmt === 'yuvj420p') &&
    v.sar === '1:1' &&
    v.width % 2 === 0 &&
    v.height % 2 === 0 &&
    /^(High|Main|Constrained Baseline|Baseline)$/.test(v.profile ?? '')
  );
}

/** Sound a copy join may keep: AAC-LC, mono or stereo, at a rate reelbus can also write silence at. */
export function isWebReadyAudio(a: AudioParams): boolean {
  return (
    a.codec === 'aac' &&
    (a.aac?.objectType ?? (a.profile === 'LC' ? 2 : 0)) === 2 &&
    (a.channels === 1 || a.channels === 2) &&
    [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000].includes(a.sampleRate)
  );
}

function x264Profile(profile: string | undefined): VideoTarget['profile'] {
  if (profile === 'Main') return 'main';
  if (profile === 'Baseline' || profile === 'Constrained Baseline') return 'baseline';
  return 'high';
}

function sane(frameRate: string): string {
  const [a, b] = frameRate.split('/').map(Number);
  const fps = a && b ? a / b : 0;
  return fps >= 1 && fps <= 120 ? frameRate : '30/1';
}

/**
 * Decides, per clip, what is kept and what is re-encoded so that every clip can then be joined by
 * stream copy. The target is the majority's parameters when they are web-ready (H.264 4:2:0 square
 * pixels; AAC-LC), else the delivery preset (H.264 High, AAC-LC 48 kHz stereo) at the majority's size.
 */
export function planMerge({
  probes,
  comparison = compareClips(probes),
  videoReproducible,
}: {
  probes: readonly ClipProbe[];
  comparison?: Comparison;
  /** Whether reelbus's encoder reproduces the majority's H.264 extradata; unknown when absent. */
  videoReproducible?: boolean;
}): MergePlan {
  const { reference, differences } = comparison;
  const ref = reference.video;
  if (!ref) throw new Error('planMerge: no clip has a video stream');
  const byClip = new Map<number, Difference[]>();
  for (const d of differences) byClip.set(d.clip, [...(byClip.get(d.clip) ?? []), d]);

  const videoReady = isWebReadyVideo(ref);
  const refAudio = reference.audio;
  const audioReady = refAudio ? isWebReadyAudio(refAudio) : false;
  const audio: AudioTarget =
    refAudio && audioReady
      ? {
          sampleRate: refAudio.sampleRate,
          channels: refAudio.channels,
          channelLayout: channelLayout(refAudio),
        }
      : DELIVERY_AUDIO;

  const videoDiffers = (i: number) => (byClip.get(i) ?? []).some((d) => d.field.startsWith('video.'));
  const someVideoDiffers = probes.some((p) => videoDiffers(p.index));
  const needsReproductionCheck = videoReady && someVideoDiffers && videoReproducible === undefined;
  const encodeAllVideo = !videoReady || (someVideoDiffers && videoReproducible === false);

  const [num, den] = ref.frameRate.split('/').map(Number);
  const timescale = Number(ref.timeBase.split('/')[1]);
  const video: VideoTarget = videoReady
    ? {
        width: ref.width,
        height: ref.height,
        frameRate: sane(ref.frameRate),
        ...(Number.isInteger(timescale) && timescale > 0 ? { timescale } : {}),
        profile: x264Profile(ref.profile),
        color: ref.color,
        ...(encodeAllVideo ? {} : { extradata: ref.extradata }),
      }
    : {
        // Square pixels at the majority's display size, even.
        width: even(ref.width * sarValue(ref.sar)),
        height: even(ref.height),
        frameRate: num && den ? sane(ref.frameRate) : '30/1',
        profile: 'high',
        color: { primaries: 'unknown', transfer: 'unknown', space: 'unknown', range: 'unknown' },
      };

  const clips: ClipPlan[] = probes.map((p) => {
    const diffs = byClip.get(p.index) ?? [];
    const reasons = diffs.map(describeDifference);
    let v: ClipPlan['video'] = 'copy';
    if (encodeAllVideo) {
      v = 'encode';
      if (!videoReady && p.index === probes[0]?.index)
        reasons.unshift(
          `${p.label}: the majority's picture (${ref.codec} ${ref.profile ?? ''} ${ref.pixFmt ?? ''}, SAR ${ref.sar}) is not web-ready H.264 4:2:0 with square pixels, so every clip's picture is re-encoded to H.264 ${video.width}x${video.height}`.replace(
            /\s+/g,
            ' ',
          ),
        );
      else if (videoReady && !videoDiffers(p.index))
        reasons.push(
          `${p.label}: re-encoded too: reelbus's encoder cannot reproduce the other clips' H.264 headers (SPS/PPS), so every clip gets one set`,
        );
    } else if (videoDiffers(p.index)) v = 'encode';

    let a: ClipPlan['audio'];
    if (!p.audio) a = 'silence';
    else if (!refAudio || !audioReady) {
      a = 'encode';
      if (refAudio && !audioReady && !diffs.some((d) => d.field.startsWith('audio.')))
        reasons.push(
          `${p.label}: its sound (${p.audio.codec} ${p.audio.profile ?? ''}, ${p.audio.sampleRate} Hz, ${p.audio.channels} ch) is re-encoded to AAC-LC ${audio.sampleRate} Hz ${audio.channelLayout}`.replace(
            /\s+/g,
            ' ',
          ),
        );
    } else a = diffs.some((d) => d.field.startsWith('audio.')) ? 'encode' : 'copy';

    const remux = v === 'copy' && p.video?.index !== 0;
    if (remux && !reasons.some((r) => r.includes('streams are')))
      reasons.push(`${p.label}: its picture is not the first stream`);
    return { index: p.index, label: p.label, video: v, audio: a, remux, reasons };
  });
  const mode = clips.every((c) => c.video === 'copy' && c.audio !== 'encode' && !c.remux)
    ? 'copy'
    : 'normalise';
  return { mode, video, audio, clips, needsReproductionCheck };
}

function sarValue(sar: string): number {
  const [a, b] = sar.split(':').map(Number);
  return a && b ? a / b : 1;
}

function even(n: number): number {
  return Math.max(2, Math.round(n / 2) * 2);
}
