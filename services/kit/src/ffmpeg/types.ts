import type { Logger } from 'pino';

export interface StreamInfo {
  index: number;
  type: 'audio' | 'video' | 'subtitle' | 'data' | 'attachment' | 'unknown';
  codec: string;
  profile?: string;
  // video
  width?: number;
  height?: number;
  pixelFormat?: string;
  fps?: number;
  // audio
  channels?: number;
  channelLayout?: string;
  sampleRate?: number;
  durationSec?: number;
}

export interface MediaInfo {
  file: string;
  formatName: string;
  durationSec: number;
  sizeBytes: number;
  bitRate?: number;
  streams: StreamInfo[];
  /** The first audio / video stream, when present. */
  audio?: StreamInfo;
  video?: StreamInfo;
}

export interface FfmpegProgress {
  /** Output time reached, seconds. */
  timeSec: number;
  /** 0-100 when the expected duration is known. */
  percent?: number;
  /** Encoding speed as a multiple of real time. */
  speed?: number;
  frames?: number;
}

export interface RunFfmpegOptions {
  /** Pipeline step, named in errors and logs (`split`, `encode`, …). */
  step: string;
  /** Everything after `ffmpeg` (the helper adds `-hide_banner -nostdin -y` and progress reporting). */
  args: string[];
  /** Expected output duration, to turn output time into a percentage. */
  durationSec?: number;
  onProgress?: (p: FfmpegProgress) => void;
  /** Aborting kills ffmpeg (SIGKILL after a short SIGTERM grace) and rejects with an AbortError. */
  signal?: AbortSignal;
  /** Kill and fail (transient) when ffmpeg makes no progress for this long. Default 120 s. */
  stallTimeoutMs?: number;
  logger?: Logger;
  /** ffmpeg binary; `ffmpeg` on PATH by default. */
  ffmpegPath?: string;
  /** Every stderr line as it arrives (e.g. to collect `volumedetect` results, which the tail may not hold). */
  onStderrLine?: (line: string) => void;
}

export interface FfmpegRunResult {
  elapsedMs: number;
  /** User + system CPU seconds ffmpeg used, every thread (its own `-benchmark` report), when it printed one. */
  cpuSeconds?: number;
  /** Last lines of stderr (for logs). */
  stderrTail: string;
}
