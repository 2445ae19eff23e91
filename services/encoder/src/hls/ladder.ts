import { deliveryVideoArgs } from '../delivery.ts';

/*
 * HLS beside the MP4 (issue 10 §4), as pure functions: which renditions, the one ffmpeg command that
 * writes them (fMP4 segments, keyframes on the same frame numbers in every rendition), and the
 * master playlist (BANDWIDTH, AVERAGE-BANDWIDTH, RESOLUTION, CODECS, FRAME-RATE).
 */

export interface Rung {
  height: number;
  /** Video bitrate of a 30 fps rendition at this height. */
  videoKbps: number;
}

/** Heights and bitrates in the range Apple's HLS authoring guide recommends for H.264. */
export const DEFAULT_LADDER: readonly Rung[] = [
  { height: 1080, videoKbps: 5000 },
  { height: 720, videoKbps: 2800 },
  { height: 480, videoKbps: 1200 },
  { height: 360, videoKbps: 700 },
  { height: 240, videoKbps: 400 },
];

export interface Rendition {
  /** Directory and name, e.g. `720p`. */
  name: string;
  width: number;
  height: number;
  videoKbps: number;
}

const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);

/**
 * The renditions of a `width`×`height` video: the rungs at or below its height (at most `max`, from
 * the top), each keeping the aspect ratio. A video smaller than every rung gets one rendition at its
 * own size.
 */
export function hlsLadder({
  width,
  height,
  rungs = DEFAULT_LADDER,
  max = 3,
}: {
  width: number;
  height: number;
  rungs?: readonly Rung[];
  max?: number;
}): Rendition[] {
  const fit = [...rungs].sort((a, b) => b.height - a.height).filter((r) => r.height <= height);
  const chosen = fit.length
    ? fit.slice(0, max)
    : [{ height, videoKbps: [...rungs].sort((a, b) => a.height - b.height)[0]?.videoKbps ?? 400 }];
  return chosen.map((r) => ({
    name: `${r.height}p`,
    width: even((width * r.height) / height),
    height: r.height,
    videoKbps: r.videoKbps,
  }));
}

/** `avc1.PPCCLL` from an avcC box (H.264 extradata in MP4) given as hex: profile, constraints, level. */
export function avc1Codec(avcC: string): string {
  if (avcC.length < 8 || !avcC.startsWith('01')) throw new Error('avc1Codec: not an avcC record');
  return `avc1.${avcC.slice(2, 8)}`;
}

/** `mp4a.40.<object type>` (2 = AAC-LC). */
export function mp4aCodec(objectType = 2): string {
  return `mp4a.40.${objectType}`;
}

export interface HlsOptions {
  input: string;
  renditions: readonly Rendition[];
  /** Output directory: `<dir>/<rendition>/index.m3u8`, `init.mp4`, `seg_000.m4s`… */
  dir: string;
  /** Frames per second of the input: keyframes every `segmentSec × fps` frames, in every rendition. */
  fps: number;
  segmentSec?: number;
  preset?: string;
  /** Whether the input has sound (copied into every rendition). */
  audio: boolean;
}

/**
 * One ffmpeg run writing every rendition: the picture decoded once, scaled per rendition, encoded
 * with a fixed GOP of `segmentSec` seconds and no scene-cut keyframes (so segment boundaries fall on
 * the same frames everywhere); the sound copied; fMP4 segments, VOD playlists.
 */
export function buildHlsArgs({
  input,
  renditions,
  dir,
  fps,
  segmentSec = 4,
  preset,
  audio,
}: HlsOptions): string[] {
  const gop = String(Math.max(1, Math.round(fps * segmentSec)));
  const split = `[0:v]split=${renditions.length}${renditions.map((_, i) => `[s${i}]`).join('')}`;
  const scales = renditions.map((r, i) => `[s${i}]scale=${r.width}:${r.height},setsar=1[v${i}]`);
  return [
    '-i',
    input,
    '-filter_complex',
    [split, ...scales].join(';'),
    ...renditions.flatMap((r, i) => [
      '-map',
      `[v${i}]`,
      ...(audio ? ['-map', '0:a:0', '-c:a', 'copy'] : []),
      ...deliveryVideoArgs({ bitrateKbps: r.videoKbps, ...(preset ? { preset } : {}) }),
      '-g',
      gop,
      '-keyint_min',
      gop,
      '-sc_threshold',
      '0',
      '-f',
      'hls',
      '-hls_time',
      String(segmentSec),
      '-hls_playlist_type',
      'vod',
      '-hls_segment_type',
      'fmp4',
      '-hls_fmp4_init_filename',
      'init.mp4',
      '-hls_segment_filename',
      `${dir}/${r.name}/seg_%03d.m4s`,
      '-hls_flags',
      'independent_segments',
      `${dir}/${r.name}/index.m3u8`,
    ]),
  ];
}

export interface VariantInfo {
  uri: string;
  /** Peak segment bitrate, bits/s. */
  bandwidth: number;
  averageBandwidth: number;
  width: number;
  height: number;
  codecs: string;
  frameRate: number;
}

/** The master playlist, highest rendition first. */
export function masterPlaylist(variants: readonly VariantInfo[]): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const v of [...variants].sort((a, b) => b.bandwidth - a.bandwidth)) {
    lines.push(
      `#EXT-X-STREAM-INF:BANDWIDTH=${Math.ceil(v.bandwidth)},AVERAGE-BANDWIDTH=${Math.ceil(v.averageBandwidth)},RESOLUTION=${v.width}x${v.height},CODECS="${v.codecs}",FRAME-RATE=${v.frameRate.toFixed(3)}`,
      v.uri,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** `#EXTINF` durations and segment URIs of a media playlist (what the bandwidth figures are measured from). */
export function mediaSegments(playlist: string): Array<{ uri: string; durationSec: number }> {
  const out: Array<{ uri: string; durationSec: number }> = [];
  let pending: number | undefined;
  for (const raw of playlist.split('\n')) {
    const line = raw.trim();
    const m = /^#EXTINF:([\d.]+)/.exec(line);
    if (m) pending = Number(m[1]);
    else if (line && !line.startsWith('#') && pending !== undefined) {
      out.push({ uri: line, durationSec: pending });
      pending = undefined;
    }
  }
  return out;
}

/**
 * The media playlist with `#EXT-X-TARGETDURATION` raised to the longest `#EXTINF` rounded to the
 * nearest integer (RFC 8216 §4.3.3.1). ffmpeg's hls muxer rounds the duration it measured, which
 * can sit just under the `x.5` it prints: a 3.5 s segment came out with TARGETDURATION 3, which
 * strict players and validators refuse.
 */
export function fixTargetDuration(playlist: string): string {
  const longest = Math.max(0, ...mediaSegments(playlist).map((s) => Math.round(s.durationSec)));
  return playlist.replace(/^#EXT-X-TARGETDURATION:(\d+)/m, (line, n: string) =>
    Number(n) >= longest ? line : `#EXT-X-TARGETDURATION:${longest}`,
  );
}
