import { TransientError } from '../errors.ts';

/** ffmpeg exited non-zero (or was killed by a signal): carries the step, exit code, stderr tail and command line. */
export class FfmpegError extends Error {
  override name = 'FfmpegError';
  readonly step: string;
  /** null when ffmpeg was killed by a signal. */
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** The last ~20 lines of stderr: usually the reason. */
  readonly stderrTail: string;
  /** The command line, shell-quoted, to rerun by hand. */
  readonly command: string;
  constructor(opts: {
    step: string;
    exitCode: number | null;
    signal?: string | null;
    stderrTail: string;
    command: string;
  }) {
    const { step, exitCode, signal = null, stderrTail, command } = opts;
    const how = exitCode === null ? `was killed by ${signal ?? 'a signal'}` : `exited with code ${exitCode}`;
    const last = lastMeaningfulLine(stderrTail);
    super(
      `ffmpeg (step ${step}) ${how}${last ? `: ${last}` : ''}\n--- stderr (tail) ---\n${stderrTail}\n--- command ---\n${command}`,
    );
    this.step = step;
    this.exitCode = exitCode;
    this.signal = signal;
    this.stderrTail = stderrTail;
    this.command = command;
  }
}

/** ffmpeg produced no progress for `stallTimeoutMs` and was killed. Transient: a retry may get through. */
export class FfmpegStalledError extends TransientError {
  override name = 'FfmpegStalledError';
  readonly stallTimeoutMs: number;
  readonly command: string;
  readonly stderrTail: string;
  constructor(opts: { step: string; stallTimeoutMs: number; command: string; stderrTail: string }) {
    const { step, stallTimeoutMs, command, stderrTail } = opts;
    super(`ffmpeg (step ${step}) made no progress for ${stallTimeoutMs} ms and was killed`, { step });
    this.stallTimeoutMs = stallTimeoutMs;
    this.command = command;
    this.stderrTail = stderrTail;
  }
}

export function isFfmpegError(err: unknown): err is FfmpegError {
  return err instanceof Error && err.name === 'FfmpegError';
}

export function isFfmpegStalledError(err: unknown): err is FfmpegStalledError {
  return err instanceof Error && err.name === 'FfmpegStalledError';
}

/** The error a run rejects with when its AbortSignal fires (name `AbortError`, the signal's reason as cause). */
export function abortError(step: string, reason: unknown): Error {
  const err = new Error(`ffmpeg (step ${step}) was aborted`, { cause: reason });
  err.name = 'AbortError';
  return err;
}

function lastMeaningfulLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.at(-1) ?? '';
}
