import { execFile } from 'node:child_process';
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';

/*
 * Partly damaged inputs (issue 11 §3). A truncated MP3 (valid frames, then garbage or nothing)
 * decodes into less audio than its container declares, often with decoder errors on the way; left
 * alone it becomes a short video with no word about it. The decision is pure (`judgeDecodedAudio`);
 * the handlers feed it what the probe declared, what their own ffmpeg pass decoded (the decode-error
 * lines of its stderr) and where the errors sit (`locateDecodeErrors`, run only when there were some).
 */

/** Less than this much decoded audio from a damaged input is nothing a video can be made of. */
export const MIN_USABLE_SEC = 0.5;

/** Audio missing beyond this is damage: max(0.5 s, 2 % of what the container declares). */
export function lossToleranceSec(declaredSec: number): number {
  return Math.max(0.5, 0.02 * declaredSec);
}

/** What one decode of an input found, beside what its container declares. */
export interface DecodeReport {
  /** How the input is named to the user: `the recording recording.mp3`, `the story audio story-audio.mp3`. */
  input: string;
  /** Duration the container declares (ffprobe, or a WAV header's data size), s; undefined when unknown. */
  declaredSec: number | undefined;
  /** Duration that really decoded (the probed output of the pass), s. */
  decodedSec: number;
  /** Decode-error lines ffmpeg printed. */
  decodeErrors: number;
  /** The first error's reason as ffmpeg gave it (`Invalid data found when processing input`). */
  errorReason?: string;
  /** Where in the decoded audio the errors sit (holes, or its end), s; empty when not located. */
  errorAtSec?: number[];
}

export type DamageVerdict =
  | { verdict: 'ok' }
  | { verdict: 'warn'; message: string; lostSec: number }
  | { verdict: 'fail'; reason: string };

/**
 * ok | warn(message) | fail(reason) for one decoded input (pure). Damage is a decoded duration
 * short of the declared one by more than `lossToleranceSec`, or any decode error. A damaged input
 * with less than `MIN_USABLE_SEC` decoded fails; otherwise the job goes on with what decoded and
 * the message names the input, what was lost and where.
 */
export function judgeDecodedAudio(report: DecodeReport): DamageVerdict {
  const { input, declaredSec, decodedSec, decodeErrors, errorReason, errorAtSec = [] } = report;
  const lostSec =
    declaredSec !== undefined && declaredSec > decodedSec ? round2(declaredSec - decodedSec) : 0;
  const short = declaredSec !== undefined && lostSec > lossToleranceSec(declaredSec);
  if (!short && decodeErrors === 0) return { verdict: 'ok' };

  const ffmpegSays = errorReason ? ` (ffmpeg: ${errorReason})` : '';
  if (!(decodedSec >= MIN_USABLE_SEC)) {
    const of = declaredSec !== undefined ? ` of the ${secs(declaredSec)} it declares` : '';
    return {
      verdict: 'fail',
      reason:
        `${input} is damaged: ${decodedSec > 0 ? `only ${secs(decodedSec)}` : 'nothing'}${of} could be ` +
        `decoded${ffmpegSays}; nothing usable is left — upload the recording again or export it anew`,
    };
  }
  const parts: string[] = [];
  if (short) {
    parts.push(
      `${secs(lostSec)} of its ${secs(declaredSec)} could not be decoded (the audio that decoded ends at ${secs(decodedSec)})`,
    );
  }
  if (decodeErrors > 0) {
    const n = decodeErrors === 1 ? 'a decode error' : `${decodeErrors} decode errors`;
    parts.push(`${n}${placesOf(errorAtSec)}${ffmpegSays}`);
  }
  return {
    verdict: 'warn',
    lostSec,
    message: `${input} is damaged: ${parts.join('; ')}. The video uses the ${secs(decodedSec)} that decoded.`,
  };
}

/** ` at 3.32 s, 1:02.40 and 3 more places` (at most 5 named), or '' when none are known. */
function placesOf(atSec: number[]): string {
  if (atSec.length === 0) return '';
  const named = atSec.slice(0, 5).map(clock);
  const more = atSec.length - named.length;
  const list =
    more > 0
      ? `${named.join(', ')} and ${more} more place${more === 1 ? '' : 's'}`
      : named.length > 1
        ? `${named.slice(0, -1).join(', ')} and ${named.at(-1)}`
        : named[0]!;
  return ` at ${list}`;
}

const round2 = (n: number) => Math.round(n * 100) / 100;
/** `4.99 s`, `125.5 s`. */
const secs = (n: number) => `${round2(n)} s`;
/** A position: `3.32 s` under a minute, `m:ss.cc` from a minute on. */
function clock(sec: number): string {
  if (sec < 60) return secs(sec);
  const m = Math.floor(sec / 60);
  const s = (sec - m * 60).toFixed(2).padStart(5, '0');
  return `${m}:${s}`;
}

// ---- decode errors in ffmpeg's stderr ---------------------------------------------------------

/*
 * One line per failed packet or frame: ffmpeg 5.1 (Debian bookworm) prints `Error while decoding
 * stream #0:0: <reason>`; ffmpeg ≥ 6.1 prints `… Error submitting packet to decoder: <reason>` or
 * `… Decoding error: <reason>`. The decoder's own lines (`[mp3float @ 0x…] Header missing`) come
 * beside them and are not counted twice.
 */
const DECODE_ERROR_LINE =
  /(?:Error while decoding stream #\d+:\d+|Error submitting packet to decoder|Decoding error): (.+?)\s*$/;

/** The reason of a decode-error line of ffmpeg's stderr, or undefined for any other line (pure). */
export function decodeErrorReason(line: string): string | undefined {
  return DECODE_ERROR_LINE.exec(line)?.[1];
}

/** Counts decode-error lines as ffmpeg prints them (feed it `onStderrLine`). */
export class DecodeErrorTally {
  count = 0;
  firstReason: string | undefined;
  readonly line = (line: string): void => {
    const reason = decodeErrorReason(line);
    if (reason === undefined) return;
    this.count++;
    this.firstReason ??= reason;
  };
}

// ---- what a WAV header declares ----------------------------------------------------------------

/**
 * The duration a RIFF/WAVE header declares (its `data` chunk size over the `fmt ` byte rate), or
 * undefined when `header` is not a WAV header or declares no size (0 or 0xFFFFFFFF: streamed
 * writers). ffprobe does not say this: when the data chunk claims more than the file holds it
 * reports the duration of the bytes present, which hides exactly the truncation looked for here.
 */
export function wavDeclaredSec(header: Uint8Array): number | undefined {
  const buf = Buffer.from(header.buffer, header.byteOffset, header.byteLength);
  if (buf.length < 12 || buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WAVE')
    return undefined;
  let byteRate: number | undefined;
  for (let at = 12; at + 8 <= buf.length;) {
    const id = buf.toString('latin1', at, at + 4);
    const size = buf.readUInt32LE(at + 4);
    if (id === 'fmt ' && at + 20 <= buf.length) byteRate = buf.readUInt32LE(at + 16);
    if (id === 'data') {
      if (!byteRate || size === 0 || size === 0xffffffff) return undefined;
      return size / byteRate;
    }
    at += 8 + size + (size % 2); // chunks are word-aligned
  }
  return undefined;
}

/** Reads the first 64 KiB of `file` and returns what its WAV header declares (see `wavDeclaredSec`). */
export async function readWavDeclaredSec(file: string): Promise<number | undefined> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return wavDeclaredSec(buf.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

/** The declared duration: the probe's, or a WAV header's when that claims more (a truncated WAV). */
export async function declaredDurationSec(opts: {
  file: string;
  probedSec: number | undefined;
  formatName: string;
}): Promise<number | undefined> {
  const { file, probedSec, formatName } = opts;
  const fromHeader = formatName.split(',').includes('wav') ? await readWavDeclaredSec(file) : undefined;
  if (fromHeader === undefined) return probedSec;
  return probedSec === undefined ? fromHeader : Math.max(probedSec, fromHeader);
}

// ---- where the errors sit -----------------------------------------------------------------------

/**
 * Where decode errors sit in the decoded audio (which starts at the first decoded frame: an MP3's
 * encoder delay makes that later than 0), from the start times of the frames that did decode (pure).
 * A jump between two frames of more than 1.5 frame lengths is a hole (its start is reported).
 * Errors that left no hole sit at the end (truncation: the garbage follows the last good frame).
 */
export function findDecodeGaps(opts: { frameStartsSec: number[]; errors: number }): number[] {
  const { frameStartsSec: t, errors } = opts;
  if (errors === 0) return [];
  if (t.length === 0) return [0];
  const deltas = t.slice(1).map((v, i) => v - t[i]!);
  // the median step is the frame length (the first step can be short: the encoder delay skipped)
  const frame = median(deltas.filter((d) => d > 0)) ?? 0;
  const origin = t[0]!;
  const at: number[] = [];
  deltas.forEach((d, i) => {
    if (frame > 0 && d > 1.5 * frame) at.push(round2(t[i]! + frame - origin));
  });
  if (at.length === 0) at.push(round2(t.at(-1)! + frame - origin));
  return at;
}

function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const execFileAsync = promisify(execFile);

/**
 * Decodes `file`'s first audio stream once more with ffprobe and returns where its errors sit
 * (`findDecodeGaps`). Run only when a pass reported decode errors, so healthy inputs never pay for it.
 */
export async function locateDecodeErrors(opts: {
  file: string;
  errors: number;
  signal?: AbortSignal;
  ffprobePath?: string;
}): Promise<number[]> {
  const { file, errors, signal, ffprobePath = 'ffprobe' } = opts;
  const { stdout } = await execFileAsync(
    ffprobePath,
    [
      '-v',
      'quiet',
      '-select_streams',
      'a:0',
      '-show_entries',
      'frame=best_effort_timestamp_time',
      '-of',
      'csv=p=0',
      file,
    ],
    { maxBuffer: 512 * 1024 * 1024, ...(signal ? { signal } : {}) },
  );
  const frameStartsSec = stdout
    .split('\n')
    .map((l) => Number.parseFloat(l))
    .filter((n) => Number.isFinite(n));
  return findDecodeGaps({ frameStartsSec, errors });
}

/**
 * The verdict on one decoded input: what its container declares (`declaredDurationSec`), what the
 * pass decoded (`decodedSec`, `tally`), where its errors sit when it had some. Effects only to read
 * the WAV header and to locate errors; the decision is `judgeDecodedAudio`.
 */
export async function assessDecodedAudio(opts: {
  input: string;
  file: string;
  probedSec: number | undefined;
  formatName: string;
  decodedSec: number;
  tally: DecodeErrorTally;
  signal?: AbortSignal;
}): Promise<DamageVerdict> {
  const { input, file, probedSec, formatName, decodedSec, tally, signal } = opts;
  const declaredSec = await declaredDurationSec({ file, probedSec, formatName });
  const errorAtSec =
    tally.count > 0
      ? await locateDecodeErrors({ file, errors: tally.count, ...(signal ? { signal } : {}) })
      : [];
  return judgeDecodedAudio({
    input,
    declaredSec,
    decodedSec,
    decodeErrors: tally.count,
    ...(tally.firstReason !== undefined ? { errorReason: tally.firstReason } : {}),
    errorAtSec,
  });
}
