/*
 * The one place that says what a delivery H.264/AAC encode is (PeerTube's `presetVOD`): merges that
 * normalise a clip and HLS renditions spread these. (The Timeline renderer in filtergraph.ts builds
 * the same flags from the Timeline's output settings.)
 */

export const DEFAULT_X264_PRESET = 'veryfast';
export const DEFAULT_CRF = 23;
export const DEFAULT_AUDIO_KBPS = 128;

/**
 * x264 flags for a web-ready H.264 stream. `ultrafast` is raised to `superfast` unless the profile is
 * baseline: ultrafast turns CABAC and 8x8 transforms off, so it cannot keep a High/Main promise.
 */
export function deliveryVideoArgs({
  preset = DEFAULT_X264_PRESET,
  crf = DEFAULT_CRF,
  profile = 'high',
  bitrateKbps,
}: {
  preset?: string;
  crf?: number;
  profile?: 'high' | 'main' | 'baseline';
  /** Average bitrate with a 2× buffer instead of CRF (HLS renditions, whose BANDWIDTH must hold). */
  bitrateKbps?: number;
} = {}): string[] {
  const rate = bitrateKbps
    ? [
        '-b:v',
        `${bitrateKbps}k`,
        '-maxrate',
        `${Math.round(bitrateKbps * 1.5)}k`,
        '-bufsize',
        `${bitrateKbps * 2}k`,
      ]
    : ['-crf', String(crf)];
  return [
    '-c:v',
    'libx264',
    '-preset',
    preset === 'ultrafast' && profile !== 'baseline' ? 'superfast' : preset,
    ...rate,
    '-profile:v',
    profile,
    '-pix_fmt',
    'yuv420p',
  ];
}

/** AAC-LC flags. */
export function deliveryAudioArgs({
  sampleRate = 48000,
  channels = 2,
  bitrateKbps = DEFAULT_AUDIO_KBPS,
}: { sampleRate?: number; channels?: number; bitrateKbps?: number } = {}): string[] {
  return ['-c:a', 'aac', '-b:a', `${bitrateKbps}k`, '-ar', String(sampleRate), '-ac', String(channels)];
}
