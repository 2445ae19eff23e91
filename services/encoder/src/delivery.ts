import {
  aacAudioArgs,
  DEFAULT_AAC_KBPS,
  h264VideoArgs,
  type H264Profile,
  type X264Preset,
} from '@reelbus/kit';

/*
 * The encoder's side of the kit's one delivery preset (`@reelbus/kit` ffmpeg/preset.ts, PeerTube's
 * `presetVOD`): merges that normalise a clip and HLS renditions spread these; the Timeline renderer
 * (filtergraph.ts) calls the kit with the Timeline's output settings. No flag is written here.
 */

export { DEFAULT_CRF, DEFAULT_X264_PRESET } from '@reelbus/kit';
export const DEFAULT_AUDIO_KBPS = DEFAULT_AAC_KBPS;

/**
 * x264 flags for a web-ready H.264 stream at the input's frame rate. `ultrafast` is raised to
 * `superfast` unless the profile is baseline (the kit's `x264Preset`). With `bitrateKbps` (HLS
 * renditions, whose BANDWIDTH must hold): that average, peaks to 1.5×, a 2× buffer.
 */
export function deliveryVideoArgs({
  preset,
  crf,
  profile = 'high',
  bitrateKbps,
}: {
  /** An x264 preset name (the kit checks it). */
  preset?: string | undefined;
  crf?: number;
  profile?: H264Profile;
  bitrateKbps?: number;
} = {}): string[] {
  return h264VideoArgs({
    profile,
    ...(preset ? { preset: preset as X264Preset } : {}),
    ...(crf !== undefined ? { crf } : {}),
    ...(bitrateKbps ? { bitrateKbps, maxrateFactor: 1.5 } : {}),
  });
}

/** AAC-LC flags (48 kHz stereo unless a merge keeps its clips' format). */
export function deliveryAudioArgs({
  sampleRate,
  channels,
  bitrateKbps,
}: { sampleRate?: number; channels?: number; bitrateKbps?: number } = {}): string[] {
  return aacAudioArgs({
    ...(sampleRate !== undefined ? { sampleRate } : {}),
    ...(channels !== undefined ? { channels } : {}),
    ...(bitrateKbps !== undefined ? { bitrateKbps } : {}),
  });
}
