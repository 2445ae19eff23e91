// Assertions on produced media, as a user would check them: ffprobe facts, atom order, motion.
import { execFileSync, spawnSync } from 'node:child_process';
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';

export interface ProbeFacts {
  durationSec: number;
  formatName: string;
  video?: { codec: string; profile: string; pixFmt: string; width: number; height: number; fps: number };
  audio?: { codec: string; profile: string; sampleRate: number; channels: number };
}

/** ffprobe's view of a file, reduced to what a web player cares about. */
export function probeFacts(file: string): ProbeFacts {
  const out = execFileSync(
    'ffprobe',
    ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file],
    {
      encoding: 'utf8',
    },
  );
  const j = JSON.parse(out) as {
    format: { duration: string; format_name: string };
    streams: Array<Record<string, string | number>>;
  };
  const v = j.streams.find((s) => s.codec_type === 'video');
  const a = j.streams.find((s) => s.codec_type === 'audio');
  const rate = (r: string) => {
    const [n, d] = r.split('/').map(Number);
    return d ? n! / d : Number(n);
  };
  return {
    durationSec: Number(j.format.duration),
    formatName: j.format.format_name,
    video: v && {
      codec: String(v.codec_name),
      profile: String(v.profile),
      pixFmt: String(v.pix_fmt),
      width: Number(v.width),
      height: Number(v.height),
      fps: rate(String(v.avg_frame_rate)),
    },
    audio: a && {
      codec: String(a.codec_name),
      profile: String(a.profile),
      sampleRate: Number(a.sample_rate),
      channels: Number(a.channels),
    },
  };
}

/** Top-level MP4 boxes in file order, e.g. ['ftyp', 'moov', 'free', 'mdat']. */
export function topLevelBoxes(file: string): string[] {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const boxes: string[] = [];
    const head = Buffer.alloc(16);
    let pos = 0;
    while (pos + 8 <= size && boxes.length < 64) {
      readSync(fd, head, 0, 16, pos);
      let len = head.readUInt32BE(0);
      const type = head.toString('latin1', 4, 8);
      if (len === 1) len = Number(head.readBigUInt64BE(8));
      else if (len === 0) len = size - pos;
      if (len < 8) break;
      boxes.push(type);
      pos += len;
    }
    return boxes;
  } finally {
    closeSync(fd);
  }
}

/** True when `moov` comes before `mdat` (faststart: playback starts before the download ends). */
export function isFaststart(file: string): boolean {
  const boxes = topLevelBoxes(file);
  return boxes.includes('moov') && boxes.indexOf('moov') < boxes.indexOf('mdat');
}

/**
 * Per-frame mean luma change (0-255) inside `rect` between consecutive frames, from `start` for
 * `duration`. Frames are decoded to raw grey pixels and compared here, so the figures depend on
 * nothing but the pixels.
 */
export function frameDifferences(opts: {
  file: string;
  rect: { x: number; y: number; width: number; height: number };
  start: number;
  duration: number;
}): number[] {
  const { file, rect, start, duration } = opts;
  const raw = execFileSync(
    'ffmpeg',
    [
      '-v',
      'error',
      '-ss',
      String(start),
      '-t',
      String(duration),
      '-i',
      file,
      '-an',
      '-vf',
      `crop=${rect.width}:${rect.height}:${rect.x}:${rect.y},format=gray`,
      '-f',
      'rawvideo',
      '-',
    ],
    { maxBuffer: 1024 * 1024 * 1024 },
  );
  const size = rect.width * rect.height;
  const frames = Math.floor(raw.length / size);
  const diffs: number[] = [];
  for (let f = 1; f < frames; f++) {
    const a = (f - 1) * size;
    const b = f * size;
    let sum = 0;
    for (let i = 0; i < size; i++) sum += Math.abs(raw[b + i]! - raw[a + i]!);
    diffs.push(sum / size);
  }
  return diffs;
}

/** Mean frame-to-frame change (0-255 luma) inside `rect`: how much that part of the picture moves. */
export function motionEnergy(opts: Parameters<typeof frameDifferences>[0]): number {
  const diffs = frameDifferences(opts);
  if (diffs.length === 0) throw new Error(`fewer than 2 frames in ${opts.file} at ${opts.start}s`);
  return diffs.reduce((a, b) => a + b, 0) / diffs.length;
}

/** Mean luma (0-255) of `rect` in the frame at `at` seconds. */
export function meanLuma(opts: {
  file: string;
  rect: { x: number; y: number; width: number; height: number };
  at: number;
}): number {
  const { file, rect, at } = opts;
  const out = execFileSync(
    'ffmpeg',
    [
      '-v',
      'error',
      '-ss',
      String(at),
      '-i',
      file,
      '-frames:v',
      '1',
      '-vf',
      `crop=${rect.width}:${rect.height}:${rect.x}:${rect.y},signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-`,
      '-f',
      'null',
      '-',
    ],
    { encoding: 'utf8' },
  );
  const m = /YAVG=([\d.]+)/.exec(out);
  if (!m) throw new Error(`no frame at ${at}s in ${file}`);
  return Number(m[1]);
}

/** Mean and max volume (dBFS) of the audio between `start` and `start + duration`. */
export function volumeStats(opts: { file: string; start?: number; duration?: number; channel?: 0 | 1 }): {
  meanDb: number;
  maxDb: number;
} {
  const { file, start = 0, duration, channel } = opts;
  const af = [channel === undefined ? '' : `pan=mono|c0=c${channel}`, 'volumedetect']
    .filter(Boolean)
    .join(',');
  const args = [
    '-hide_banner',
    '-nostats',
    '-ss',
    String(start),
    ...(duration ? ['-t', String(duration)] : []),
    '-i',
    file,
    '-vn',
    '-af',
    af,
    '-f',
    'null',
    '-',
  ];
  const res = spawnSync('ffmpeg', args, { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`volumedetect failed on ${file}: ${String(res.stderr).slice(-500)}`);
  const err = String(res.stderr);
  const mean = /mean_volume: (-?[\d.]+|-inf) dB/.exec(err);
  const max = /max_volume: (-?[\d.]+|-inf) dB/.exec(err);
  const num = (s: string | undefined) => (s === undefined || s === '-inf' ? -Infinity : Number(s));
  return { meanDb: num(mean?.[1]), maxDb: num(max?.[1]) };
}
