import { runFfmpeg, type FfmpegProgress, type Logger } from '@reelbus/kit';

/**
 * EBU R128 loudness target for story speech. -16 LUFS integrated is the common web/podcast level
 * (Apple and most podcast hosts ask for -16, broadcast R128 uses -23: too quiet next to music and
 * other web media); true peak -1.5 dBTP leaves room for the AAC encoder's overshoot; LRA 11 LU keeps
 * a storyteller's natural dynamics. The music bed is mixed relative to this level (gainDb).
 */
export interface LoudnessTarget {
  integratedLufs: number;
  truePeakDb: number;
  lra: number;
}
export const DEFAULT_LOUDNESS_TARGET: LoudnessTarget = { integratedLufs: -16, truePeakDb: -1.5, lra: 11 };

/** The working audio's sample rate (the encoder's AAC output rate: one resample, here). */
export const VOICE_SAMPLE_RATE = 48_000;

/** What loudnorm measured in its first pass (its `print_format=json` block). */
export interface LoudnessMeasurement {
  inputI: number;
  inputTp: number;
  inputLra: number;
  inputThresh: number;
  targetOffset: number;
  /** Loudness of loudnorm's own output (second pass): what the normalised audio measures. */
  outputI?: number;
  normalizationType?: string;
}

function target(t: LoudnessTarget): string {
  return `I=${t.integratedLufs}:TP=${t.truePeakDb}:LRA=${t.lra}`;
}

/** Pure: pass 1, measure the input's loudness (no output file). */
export function buildMeasureArgs(opts: { input: string; loudness?: LoudnessTarget }): string[] {
  const { input, loudness = DEFAULT_LOUDNESS_TARGET } = opts;
  return [
    '-i',
    input,
    '-map',
    '0:a:0',
    '-af',
    `loudnorm=${target(loudness)}:print_format=json`,
    '-f',
    'null',
    '-',
  ];
}

/**
 * Pure: pass 2, apply the target with the measured values (linear gain when the true peak allows it,
 * loudnorm's dynamic mode otherwise) into lossless FLAC at 48 kHz (24-bit), mono kept mono, more
 * than two channels folded to stereo. loudnorm works at 192 kHz internally: `aresample` brings it back.
 */
export function buildApplyArgs(opts: {
  input: string;
  output: string;
  measured: LoudnessMeasurement;
  channels: number;
  loudness?: LoudnessTarget;
}): string[] {
  const { input, output, measured, channels, loudness = DEFAULT_LOUDNESS_TARGET } = opts;
  const m = measured;
  const filter =
    `loudnorm=${target(loudness)}` +
    `:measured_I=${m.inputI}:measured_TP=${m.inputTp}:measured_LRA=${m.inputLra}` +
    `:measured_thresh=${m.inputThresh}:offset=${m.targetOffset}:linear=true:print_format=json` +
    `,aresample=${VOICE_SAMPLE_RATE}`;
  return [
    '-i',
    input,
    '-map',
    '0:a:0',
    '-af',
    filter,
    '-ar',
    String(VOICE_SAMPLE_RATE),
    '-ac',
    String(Math.min(2, Math.max(1, channels))),
    '-c:a',
    'flac',
    '-sample_fmt',
    's32',
    output,
  ];
}

/**
 * Pure: the last loudnorm JSON block in ffmpeg's stderr lines. Values are strings in ffmpeg's
 * output ("-23.51", "-inf"); `-inf` (silence) comes back as -Infinity.
 */
export function parseLoudnormJson(opts: { lines: string[] }): LoudnessMeasurement | undefined {
  const { lines } = opts;
  const start = lines.map((l) => l.trim()).lastIndexOf('{');
  if (start < 0) return undefined;
  const end = lines.findIndex((l, i) => i > start && l.trim() === '}');
  if (end < 0) return undefined;
  let raw: Record<string, string>;
  try {
    raw = JSON.parse(lines.slice(start, end + 1).join('\n')) as Record<string, string>;
  } catch {
    return undefined;
  }
  const num = (v: string | undefined) =>
    v === undefined ? NaN : v.trim() === '-inf' ? -Infinity : v.trim() === 'inf' ? Infinity : Number(v);
  const m: LoudnessMeasurement = {
    inputI: num(raw.input_i),
    inputTp: num(raw.input_tp),
    inputLra: num(raw.input_lra),
    inputThresh: num(raw.input_thresh),
    targetOffset: num(raw.target_offset),
  };
  const outputI = num(raw.output_i);
  if (Number.isFinite(outputI)) m.outputI = outputI;
  if (raw.normalization_type) m.normalizationType = raw.normalization_type;
  return m;
}

/** Runs one loudnorm pass and returns its JSON report. */
export async function runLoudnormPass(opts: {
  step: string;
  args: string[];
  durationSec: number;
  onProgress?: (p: FfmpegProgress) => void;
  signal?: AbortSignal;
  logger?: Logger;
  stallTimeoutMs?: number;
  /** Every stderr line as well (e.g. a DecodeErrorTally's). */
  onStderrLine?: (line: string) => void;
}): Promise<LoudnessMeasurement | undefined> {
  const { step, args, durationSec, onProgress, signal, logger, stallTimeoutMs, onStderrLine } = opts;
  const lines: string[] = [];
  await runFfmpeg({
    step,
    args,
    durationSec,
    onStderrLine: (line) => {
      lines.push(line);
      onStderrLine?.(line);
    },
    ...(onProgress ? { onProgress } : {}),
    ...(signal ? { signal } : {}),
    ...(logger ? { logger } : {}),
    ...(stallTimeoutMs !== undefined ? { stallTimeoutMs } : {}),
  });
  return parseLoudnormJson({ lines });
}
