import type { SpeakerRole } from '@reelbus/contracts';
import {
  parseVolumeDetect,
  runFfmpeg,
  isVolumeDetectLine,
  type FfmpegProgress,
  type Logger,
} from '@reelbus/kit';

/** Left = caller, right = callee (Twilio's dual-channel convention). */
export const ROLES_BY_CHANNEL: readonly SpeakerRole[] = ['caller', 'callee'];

export interface ChannelOutput {
  role: SpeakerRole;
  /** 0-based channel of the source. */
  channel: number;
  file: string;
}

/** Split outputs are mono 48 kHz 16-bit PCM WAV, whatever the source rate (Twilio's is 8 kHz). */
export const OUTPUT_SAMPLE_RATE = 48_000;

/**
 * The filter graph that splits the first audio stream into one mono chain per output and measures
 * each chain's volume on the way (volumedetect passes audio through, so no extra null output is needed).
 * `pan` rather than `channelsplit`: it picks channels by index, so it works on inputs with an unknown
 * or unusual layout and on more than two channels (we take the first two).
 */
export function buildSplitFilter(opts: { outputs: Pick<ChannelOutput, 'role' | 'channel'>[] }): string {
  const { outputs } = opts;
  if (outputs.length === 0) throw new Error('buildSplitFilter: no outputs');
  const chain = (o: Pick<ChannelOutput, 'role' | 'channel'>, from: string) =>
    `${from}pan=mono|c0=c${o.channel},volumedetect@${o.role}[${o.role}]`;
  if (outputs.length === 1) return chain(outputs[0]!, '[0:a:0]');
  const taps = outputs.map((_, i) => `[s${i}]`).join('');
  return [`[0:a:0]asplit=${outputs.length}${taps}`, ...outputs.map((o, i) => chain(o, `[s${i}]`))].join(';');
}

/** The whole ffmpeg argument list of the one-pass split (after `ffmpeg`; runFfmpeg adds the globals). */
export function buildSplitArgs(opts: { input: string; outputs: ChannelOutput[] }): string[] {
  const { input, outputs } = opts;
  return [
    '-i',
    input,
    '-filter_complex',
    buildSplitFilter({ outputs }),
    ...outputs.flatMap((o) => [
      '-map',
      `[${o.role}]`,
      '-ac',
      '1',
      '-ar',
      String(OUTPUT_SAMPLE_RATE),
      '-c:a',
      'pcm_s16le',
      '-map_metadata',
      '-1',
      '-f',
      'wav',
      o.file,
    ]),
  ];
}

export interface SplitChannelResult extends ChannelOutput {
  meanVolumeDb: number | undefined;
  maxVolumeDb: number | undefined;
}

/** Runs the split in one ffmpeg pass and returns each output with the volume measured on its channel. */
export async function splitChannels(opts: {
  input: string;
  outputs: ChannelOutput[];
  durationSec?: number;
  onProgress?: (p: FfmpegProgress) => void;
  signal?: AbortSignal;
  stallTimeoutMs?: number;
  logger?: Logger;
  /** Every stderr line as well (e.g. a DecodeErrorTally's). */
  onStderrLine?: (line: string) => void;
}): Promise<SplitChannelResult[]> {
  const { input, outputs, durationSec, onProgress, signal, stallTimeoutMs, logger, onStderrLine } = opts;
  const volumeLines: string[] = [];
  await runFfmpeg({
    step: 'split',
    args: buildSplitArgs({ input, outputs }),
    ...(durationSec !== undefined ? { durationSec } : {}),
    ...(onProgress ? { onProgress } : {}),
    ...(signal ? { signal } : {}),
    ...(stallTimeoutMs !== undefined ? { stallTimeoutMs } : {}),
    ...(logger ? { logger } : {}),
    onStderrLine: (line) => {
      if (isVolumeDetectLine(line)) volumeLines.push(line);
      onStderrLine?.(line);
    },
  });
  const volumes = parseVolumeDetect(volumeLines.join('\n'));
  return outputs.map((o) => ({
    ...o,
    meanVolumeDb: volumes[o.role]?.meanDb,
    maxVolumeDb: volumes[o.role]?.maxDb,
  }));
}
