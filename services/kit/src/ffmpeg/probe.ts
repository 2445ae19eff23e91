import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import ffmpeg from 'fluent-ffmpeg';
import type { FfprobeData, FfprobeStream } from 'fluent-ffmpeg';
import { PermanentError } from '../errors.ts';
import type { MediaInfo, StreamInfo } from './types.ts';

/**
 * Probes a media file with ffprobe (through fluent-ffmpeg). Durations are the real ones from the
 * container, falling back to the longest stream. A file ffprobe cannot read → PermanentError
 * `not an audio or video file: <name>` with ffprobe's own message as cause. A missing file throws ENOENT.
 */
export async function probe(file: string, opts: { ffprobePath?: string } = {}): Promise<MediaInfo> {
  const { ffprobePath } = opts;
  const st = await stat(file); // ENOENT is a different problem from "not media"
  const data = await new Promise<FfprobeData>((resolve, reject) => {
    const cmd = ffmpeg();
    if (ffprobePath) cmd.setFfprobePath(ffprobePath);
    cmd.input(file).ffprobe((err: Error | null, d: FfprobeData) => (err ? reject(err) : resolve(d)));
  }).catch((err: unknown) => {
    const ffprobeMessage = lastLine(err instanceof Error ? err.message : String(err));
    throw new PermanentError(`not an audio or video file: ${basename(file)}`, {
      cause: new Error(ffprobeMessage.replace(`${file}: `, '')),
    });
  });
  const streams = data.streams.map(toStreamInfo);
  const durations = streams.map((s) => s.durationSec ?? 0);
  const formatDuration = num(data.format.duration);
  const durationSec = formatDuration ?? (durations.length ? Math.max(...durations) : 0);
  const bitRate = num(data.format.bit_rate);
  const audio = streams.find((s) => s.type === 'audio');
  const video = streams.find((s) => s.type === 'video' && !isAttachedPicture(data.streams[s.index]));
  return {
    file,
    formatName: String(data.format.format_name ?? 'unknown'),
    durationSec,
    sizeBytes: num(data.format.size) ?? st.size,
    ...(bitRate !== undefined ? { bitRate } : {}),
    streams,
    ...(audio ? { audio } : {}),
    ...(video ? { video } : {}),
  };
}

function toStreamInfo(s: FfprobeStream): StreamInfo {
  const type =
    (['audio', 'video', 'subtitle', 'data', 'attachment'] as const).find((t) => t === s.codec_type) ??
    'unknown';
  const info: StreamInfo = { index: s.index, type, codec: String(s.codec_name ?? 'unknown') };
  const profile = str(s.profile);
  if (profile) info.profile = profile;
  const durationSec = num(s.duration);
  if (durationSec !== undefined) info.durationSec = durationSec;
  if (type === 'video') {
    const width = num(s.width);
    const height = num(s.height);
    const fps = rate(s.avg_frame_rate) ?? rate(s.r_frame_rate);
    const pixelFormat = str(s.pix_fmt);
    if (width !== undefined) info.width = width;
    if (height !== undefined) info.height = height;
    if (fps !== undefined) info.fps = fps;
    if (pixelFormat) info.pixelFormat = pixelFormat;
  }
  if (type === 'audio') {
    const channels = num(s.channels);
    const sampleRate = num(s.sample_rate);
    const channelLayout = str(s.channel_layout);
    if (channels !== undefined) info.channels = channels;
    if (sampleRate !== undefined) info.sampleRate = sampleRate;
    if (channelLayout) info.channelLayout = channelLayout;
  }
  return info;
}

function isAttachedPicture(s: FfprobeStream | undefined): boolean {
  return Number((s?.disposition as Record<string, unknown> | undefined)?.attached_pic ?? 0) === 1;
}

/** fluent-ffmpeg leaves `N/A` and some numbers as strings. */
function num(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '' || v === 'N/A') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' && v !== 'unknown' && v !== 'N/A' ? v : undefined;
}

function rate(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const [a, b] = v.split('/').map(Number);
  return a && b ? a / b : undefined;
}

function lastLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .at(-1) ?? text
  );
}
