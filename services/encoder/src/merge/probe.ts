import { execFile } from 'node:child_process';
import { PermanentError } from '@reelbus/kit';

/*
 * What a merge needs to know about each input, from one ffprobe run: every stream's parameters that a
 * stream-copy join depends on (including the codec extradata: H.264 SPS/PPS, AAC AudioSpecificConfig),
 * and the first audio packets (where the audio starts relative to the picture, and how many samples
 * of encoder priming it carries). `parseClipProbe` is pure; `probeClip` runs ffprobe.
 */

export interface VideoParams {
  /** Index of the stream in the file. */
  index: number;
  codec: string;
  profile?: string;
  level?: number;
  width: number;
  height: number;
  pixFmt?: string;
  /** Sample (pixel) aspect ratio, reduced, e.g. `1:1`; unknown counts as `1:1`. */
  sar: string;
  /** Nominal frame rate, e.g. `30/1`, `30000/1001`. */
  frameRate: string;
  /** The stream's time base (the MP4 track timescale), e.g. `1/15360`. */
  timeBase: string;
  /** Codec extradata as lower-case hex (avcC for H.264 in MP4: SPS + PPS); '' when none. */
  extradata: string;
  /** Seconds of picture (the stream's own duration). */
  durationSec: number;
  /** Presentation time of the first frame, seconds (0 for almost every file). */
  startSec: number;
  frames?: number;
  /** Colour tags as ffprobe names them (`bt709`, `tv`, `unknown`): re-encoded clips get the same. */
  color: { primaries: string; transfer: string; space: string; range: string };
}

/** The essentials of an AAC AudioSpecificConfig (ISO 14496-3 1.6.2.1): what a decoder is set up from. */
export interface AacConfig {
  objectType: number;
  sampleRate: number;
  channelConfig: number;
}

export interface AudioParams {
  index: number;
  codec: string;
  profile?: string;
  sampleRate: number;
  channels: number;
  channelLayout?: string;
  timeBase: string;
  extradata: string;
  /** Parsed from the extradata of an AAC stream. */
  aac?: AacConfig;
  durationSec: number;
  /** Encoder priming (samples before the first real one, dropped by the edit list): 1024 for ffmpeg's AAC, 2112 for Apple's. */
  primingSamples: number;
  /** Samples between the picture's start and the first real audio sample (audio that starts late). */
  leadSamples: number;
  /** Samples per packet (1024 for AAC-LC), when known. */
  frameSamples?: number;
  /** Byte position and size of every packet in the file (MP4 and MOV), in order: lets the join read the frames itself. */
  packets?: Array<{ pos: number; size: number }>;
}

export interface ClipProbe {
  /** Position in the merge request. */
  index: number;
  /** How users name it: `clips[3]`. */
  label: string;
  formatName: string;
  durationSec: number;
  sizeBytes?: number;
  /** Stream types in file order, e.g. ['video', 'audio']. */
  streams: string[];
  video?: VideoParams;
  audio?: AudioParams;
}

interface RawStream {
  index?: number;
  codec_type?: string;
  codec_name?: string;
  profile?: string;
  level?: number;
  width?: number;
  height?: number;
  pix_fmt?: string;
  sample_aspect_ratio?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  time_base?: string;
  sample_rate?: string;
  channels?: number;
  channel_layout?: string;
  duration?: string;
  duration_ts?: number;
  start_time?: string;
  start_pts?: number;
  nb_frames?: string;
  extradata?: string;
  color_range?: string;
  color_space?: string;
  color_transfer?: string;
  color_primaries?: string;
  disposition?: { attached_pic?: number };
}

interface RawPacket {
  stream_index?: number;
  pts?: number;
  dts?: number;
  duration?: number;
  pos?: string | number;
  size?: string | number;
}

export interface RawProbe {
  format?: { format_name?: string; duration?: string; size?: string };
  streams?: RawStream[];
  packets?: RawPacket[];
}

/**
 * The ffprobe arguments `probeClip` runs: streams with extradata, the format, and every packet's
 * timing, position and size (demuxed, not decoded): the first audio packets say where the sound starts,
 * all of them where its frames are in the file.
 */
export function clipProbeArgs(file: string): string[] {
  return [
    '-v',
    'error',
    '-print_format',
    'json',
    '-show_data',
    '-show_entries',
    [
      'format=format_name,duration,size',
      'stream=index,codec_type,codec_name,profile,level,width,height,pix_fmt,sample_aspect_ratio,r_frame_rate,avg_frame_rate,time_base,sample_rate,channels,channel_layout,duration,duration_ts,start_time,start_pts,nb_frames,extradata,color_range,color_space,color_transfer,color_primaries,disposition',
      'packet=stream_index,pts,dts,duration,pos,size',
    ].join(':'),
    file,
  ];
}

/** ffprobe's hex dump (`00000000: 0164 001f …  .d..`) → plain lower-case hex. */
export function hexFromDump(dump: string | undefined): string {
  if (!dump) return '';
  let hex = '';
  for (const line of dump.split('\n')) {
    const m = /^[0-9a-f]{8}:\s((?:[0-9a-f]{2,4}\s?)+)/i.exec(line.trim());
    if (m?.[1]) hex += m[1].replace(/\s+/g, '');
  }
  return hex.toLowerCase();
}

const AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/** The essentials of an AAC AudioSpecificConfig given as hex, or undefined when it does not parse. */
export function parseAacConfig(hex: string): AacConfig | undefined {
  if (hex.length < 4) return undefined;
  const bytes = Buffer.from(hex, 'hex');
  let bit = 0;
  const read = (n: number) => {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = bytes[(bit >> 3) as number];
      if (byte === undefined) throw new Error('short');
      v = (v << 1) | ((byte >> (7 - (bit & 7))) & 1);
      bit++;
    }
    return v;
  };
  try {
    let objectType = read(5);
    if (objectType === 31) objectType = 32 + read(6);
    const freqIndex = read(4);
    const sampleRate = freqIndex === 15 ? read(24) : AAC_RATES[freqIndex];
    const channelConfig = read(4);
    if (sampleRate === undefined) return undefined;
    return { objectType, sampleRate, channelConfig };
  } catch {
    return undefined;
  }
}

function reduce(ratio: string | undefined, sep: ':' | '/'): string | undefined {
  if (!ratio) return undefined;
  const [a, b] = ratio.split(sep).map(Number);
  if (!a || !b || !Number.isFinite(a) || !Number.isFinite(b)) return undefined;
  const gcd = (x: number, y: number): number => (y === 0 ? x : gcd(y, x % y));
  const g = gcd(a, b);
  return `${a / g}${sep}${b / g}`;
}

function num(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '' || v === 'N/A') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** `1/15360` → 1/15360 as a number. */
export function rational(r: string): number {
  const [a, b] = r.split('/').map(Number);
  return a !== undefined && b ? a / b : Number.NaN;
}

/** Pure: ffprobe's JSON (from `clipProbeArgs`) → what the merge compares. */
export function parseClipProbe({
  raw,
  index,
  label = `clips[${index}]`,
}: {
  raw: RawProbe;
  index: number;
  label?: string;
}): ClipProbe {
  const streams = (raw.streams ?? []).filter(
    (s) => !(s.codec_type === 'video' && s.disposition?.attached_pic),
  );
  const v = streams.find((s) => s.codec_type === 'video');
  const a = streams.find((s) => s.codec_type === 'audio');
  const packets = raw.packets ?? [];
  const probe: ClipProbe = {
    index,
    label,
    formatName: raw.format?.format_name ?? 'unknown',
    durationSec: num(raw.format?.duration) ?? 0,
    streams: (raw.streams ?? []).map((s) => s.codec_type ?? 'unknown'),
  };
  const size = num(raw.format?.size);
  if (size !== undefined) probe.sizeBytes = size;
  let videoStart = 0;
  if (v) {
    const tb = v.time_base ?? '1/1';
    const duration = num(v.duration) ?? (num(v.duration_ts) ?? 0) * rational(tb);
    videoStart = num(v.start_time) ?? 0;
    const video: VideoParams = {
      index: v.index ?? 0,
      codec: v.codec_name ?? 'unknown',
      width: v.width ?? 0,
      height: v.height ?? 0,
      sar: reduce(v.sample_aspect_ratio, ':') ?? '1:1',
      frameRate: reduce(v.r_frame_rate, '/') ?? reduce(v.avg_frame_rate, '/') ?? '0/1',
      timeBase: reduce(tb, '/') ?? tb,
      extradata: hexFromDump(v.extradata),
      durationSec: Number.isFinite(duration) ? duration : probe.durationSec,
      startSec: videoStart,
      color: {
        primaries: v.color_primaries ?? 'unknown',
        transfer: v.color_transfer ?? 'unknown',
        space: v.color_space ?? 'unknown',
        range: v.color_range ?? 'unknown',
      },
    };
    if (v.profile) video.profile = v.profile;
    if (v.level !== undefined && v.level >= 0) video.level = v.level;
    if (v.pix_fmt) video.pixFmt = v.pix_fmt;
    const frames = num(v.nb_frames);
    if (frames !== undefined) video.frames = frames;
    probe.video = video;
  }
  if (a) {
    const tb = a.time_base ?? '1/1';
    const rate = num(a.sample_rate) ?? 0;
    const duration = num(a.duration) ?? (num(a.duration_ts) ?? 0) * rational(tb);
    const first = packets.find((p) => p.stream_index === a.index && p.pts !== undefined);
    const firstSec = first?.pts !== undefined ? first.pts * rational(tb) : (num(a.start_time) ?? 0);
    const offsetSamples = Math.round((firstSec - videoStart) * rate);
    const extradata = hexFromDump(a.extradata);
    const audio: AudioParams = {
      index: a.index ?? 0,
      codec: a.codec_name ?? 'unknown',
      sampleRate: rate,
      channels: a.channels ?? 0,
      timeBase: reduce(tb, '/') ?? tb,
      extradata,
      durationSec: Number.isFinite(duration) ? duration : 0,
      primingSamples: Math.max(0, -offsetSamples),
      leadSamples: Math.max(0, offsetSamples),
    };
    if (a.profile) audio.profile = a.profile;
    if (a.channel_layout) audio.channelLayout = a.channel_layout;
    if (audio.codec === 'aac') {
      const cfg = parseAacConfig(extradata);
      if (cfg) audio.aac = cfg;
    }
    if (first?.duration) audio.frameSamples = Math.round(first.duration * rational(tb) * rate);
    const own = packets.filter((p) => p.stream_index === a.index);
    const located = own.map((p) => ({ pos: Number(p.pos), size: Number(p.size) }));
    if (
      own.length > 0 &&
      /(^|,)mp4(,|$)|(^|,)mov(,|$)/.test(probe.formatName) &&
      located.every((p) => Number.isInteger(p.pos) && p.pos >= 0 && Number.isInteger(p.size) && p.size > 0)
    )
      audio.packets = located;
    probe.audio = audio;
  }
  return probe;
}

/**
 * Probes one merge input. A file ffprobe cannot read → PermanentError naming `label` (`clips[3]`) and
 * `shown` (its key or URL); a missing file throws ENOENT.
 */
export async function probeClip({
  file,
  index,
  label = `clips[${index}]`,
  shown,
  ffprobePath = 'ffprobe',
  signal,
}: {
  file: string;
  index: number;
  label?: string;
  /** How the input is named in errors (its key or URL). */
  shown: string;
  ffprobePath?: string;
  signal?: AbortSignal;
}): Promise<ClipProbe> {
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      ffprobePath,
      clipProbeArgs(file),
      { maxBuffer: 64 * 1024 * 1024, ...(signal ? { signal } : {}) },
      (err, out, stderr) => {
        if (err) {
          const why = String(stderr).trim().split('\n').at(-1)?.replace(`${file}: `, '') || err.message;
          if ((err as { code?: unknown }).code === 'ENOENT' && !String(stderr)) return reject(err);
          return reject(
            new PermanentError(`${label}: "${shown}" is not a readable media file (${why})`, {
              step: 'merge',
              cause: err,
            }),
          );
        }
        resolve(out);
      },
    );
  });
  return parseClipProbe({ raw: JSON.parse(stdout) as RawProbe, index, label });
}
