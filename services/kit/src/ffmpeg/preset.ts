// The one delivery preset: what an H.264/AAC file reelbus hands to a user (or to a later stream copy)
// looks like, as ffmpeg output options (PeerTube's `presetVOD`). Plays in iOS Safari: H.264 High
// yuv420p, AAC-LC 48 kHz stereo, `moov` before `mdat` (ARCHITECTURE.md, "Media rules").

/** x264 speed presets reelbus offers (the Timeline's `output.video.preset`). */
export const X264_PRESETS = [
  'ultrafast',
  'superfast',
  'veryfast',
  'faster',
  'fast',
  'medium',
  'slow',
] as const;
export type X264Preset = (typeof X264_PRESETS)[number];

export type H264Profile = 'high' | 'main' | 'baseline';

/** The video half of the preset. */
export interface H264Options {
  /** Output frame rate (`-r`); omitted, the stream keeps the rate its filters give it (HLS renditions, merges). */
  fps?: number;
  /** Default `high`. */
  profile?: H264Profile;
  /** Default `veryfast`; `ultrafast` becomes `superfast` unless the profile is baseline (see `x264Preset`). */
  preset?: X264Preset;
  /** Constant quality, 0-51 (default 23, x264's own default). Ignored when `bitrateKbps` is set. */
  crf?: number;
  /** A target bitrate instead of CRF (max rate the same, buffer twice it), for players or backends that need one. */
  bitrateKbps?: number;
  /** With `bitrateKbps`: peaks allowed up to this multiple of it (default 1; HLS renditions use 1.5). */
  maxrateFactor?: number;
  /**
   * Lossless (`-qp 0`) and no `-profile:v` (x264 then writes High 4:4:4 Predictive): for exactness
   * tests that compare decoded pixels, never for delivery.
   */
  lossless?: boolean;
}

/** The audio half of the preset. */
export interface AacOptions {
  /** Default 128. */
  bitrateKbps?: number;
  /** Default 48000 (every delivery); a merge that keeps its clips' sound copied matches their rate. */
  sampleRate?: number;
  /** Default 2. */
  channels?: number;
}

export const DEFAULT_X264_PRESET: X264Preset = 'veryfast';
export const DEFAULT_CRF = 23;
export const DEFAULT_AAC_KBPS = 128;
/** Every delivery is 48 kHz stereo. */
export const DELIVERY_SAMPLE_RATE = 48_000;
export const DELIVERY_CHANNELS = 2;

/** `moov` before `mdat`: playback starts before the download ends. */
export const FASTSTART_ARGS: readonly string[] = ['-movflags', '+faststart'];

/**
 * x264's ultrafast turns off CABAC and 8x8 transforms, so its stream is Constrained Baseline whatever
 * `-profile:v` says; superfast is the fastest preset that keeps the High/Main profile promised.
 */
export function x264Preset(opts: { preset: X264Preset; profile: H264Profile }): X264Preset {
  const { preset, profile } = opts;
  return preset === 'ultrafast' && profile !== 'baseline' ? 'superfast' : preset;
}

/** `-c:v libx264 -profile:v … -pix_fmt yuv420p -preset … (-crf … | -b:v … -maxrate … -bufsize … | -qp 0) [-r …]`. */
export function h264VideoArgs(opts: H264Options): string[] {
  const {
    fps,
    profile = 'high',
    preset = DEFAULT_X264_PRESET,
    crf = DEFAULT_CRF,
    bitrateKbps,
    maxrateFactor = 1,
    lossless = false,
  } = opts;
  if (fps !== undefined && !(Number.isFinite(fps) && fps > 0))
    throw new RangeError(`fps must be a positive number (got ${fps})`);
  if (!X264_PRESETS.includes(preset))
    throw new RangeError(`preset must be one of ${X264_PRESETS.join(', ')} (got ${preset})`);
  if (!(Number.isInteger(crf) && crf >= 0 && crf <= 51))
    throw new RangeError(`crf must be a whole number from 0 to 51 (got ${crf})`);
  if (bitrateKbps !== undefined && !(Number.isInteger(bitrateKbps) && bitrateKbps > 0))
    throw new RangeError(`bitrateKbps must be a positive whole number (got ${bitrateKbps})`);
  if (!(Number.isFinite(maxrateFactor) && maxrateFactor >= 1))
    throw new RangeError(`maxrateFactor must be a number ≥ 1 (got ${maxrateFactor})`);
  const rate = lossless
    ? ['-qp', '0']
    : bitrateKbps !== undefined
      ? [
          '-b:v',
          `${bitrateKbps}k`,
          '-maxrate',
          `${Math.round(bitrateKbps * maxrateFactor)}k`,
          '-bufsize',
          `${bitrateKbps * 2}k`,
        ]
      : ['-crf', String(crf)];
  return [
    '-c:v',
    'libx264',
    ...(lossless ? [] : ['-profile:v', profile]),
    '-pix_fmt',
    'yuv420p',
    '-preset',
    // lossless is High 4:4:4 Predictive whatever the preset: nothing to keep
    lossless ? preset : x264Preset({ preset, profile }),
    ...rate,
    ...(fps !== undefined ? ['-r', String(fps)] : []),
  ];
}

/** `-c:a aac -profile:a aac_low -b:a …k -ar 48000 -ac 2`. */
export function aacAudioArgs(opts: AacOptions = {}): string[] {
  const {
    bitrateKbps = DEFAULT_AAC_KBPS,
    sampleRate = DELIVERY_SAMPLE_RATE,
    channels = DELIVERY_CHANNELS,
  } = opts;
  if (!(Number.isInteger(bitrateKbps) && bitrateKbps > 0))
    throw new RangeError(`audio bitrateKbps must be a positive whole number (got ${bitrateKbps})`);
  if (!(Number.isInteger(sampleRate) && sampleRate > 0))
    throw new RangeError(`audio sampleRate must be a positive whole number (got ${sampleRate})`);
  if (!(Number.isInteger(channels) && channels > 0))
    throw new RangeError(`audio channels must be a positive whole number (got ${channels})`);
  return [
    '-c:a',
    'aac',
    '-profile:a',
    'aac_low',
    '-b:a',
    `${bitrateKbps}k`,
    '-ar',
    String(sampleRate),
    '-ac',
    String(channels),
  ];
}

/**
 * The delivery preset as output options: H.264 video, AAC audio (or `-an` for a video-only part
 * such as a render chunk whose audio is muxed later), and faststart. Spread it before the output
 * file; inputs, maps and filters are the caller's.
 */
export function deliveryOutputArgs(opts: { video: H264Options; audio?: AacOptions | false }): string[] {
  const { video, audio = {} } = opts;
  return [...h264VideoArgs(video), ...(audio === false ? ['-an'] : aacAudioArgs(audio)), ...FASTSTART_ARGS];
}
