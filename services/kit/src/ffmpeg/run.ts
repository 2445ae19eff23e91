import { spawn, type ChildProcess } from 'node:child_process';
import { METRIC, METRIC_HELP, metrics, REAL_TIME_FACTOR_BUCKETS } from '../health/metrics.ts';
import { withSpan, type SpanAttributes } from '../telemetry/spans.ts';
import { abortError, FfmpegError, FfmpegStalledError } from './errors.ts';
import type { FfmpegProgress, FfmpegRunResult, RunFfmpegOptions } from './types.ts';

/*
 * Why we spawn ffmpeg here instead of going through fluent-ffmpeg: our callers build complete
 * argument lists in pure functions (`-filter_complex` with several labelled outputs, each with its own
 * `-map` and options). fluent-ffmpeg models one command as inputs + one output chain and re-orders
 * options around that model, so a raw list only fits through `outputOptions()` contortions, and its
 * progress comes from scraping the stats line of stderr. Spawning directly with `-progress pipe:1
 * -nostats` gives a machine-readable progress stream on stdout, keeps stderr for the error tail, and
 * lets us own the kill/stall logic. (`probe` does use fluent-ffmpeg's ffprobe wrapper.)
 */

export const DEFAULT_STALL_TIMEOUT_MS = 120_000;
/** SIGTERM lets ffmpeg finish its trailer; SIGKILL follows when it does not exit within this. */
export const KILL_GRACE_MS = 2_000;
const STDERR_TAIL_LINES = 20;

// ffmpeg children still running when this process exits (e.g. an uncaught error) are killed,
// so a crashed worker leaves no encoder behind. (A SIGKILLed worker cannot do this.)
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  live.add(child);
  child.once('close', () => live.delete(child));
}

/** The flags that make ffmpeg report machine-readable progress on stdout and keep stderr for messages. */
export function buildProgressArgs(): string[] {
  return ['-progress', 'pipe:1', '-nostats'];
}

/** The whole argument list `runFfmpeg` passes to ffmpeg for `args`. */
export function buildFfmpegArgs(opts: { args: string[] }): string[] {
  const { args } = opts;
  // -benchmark: ffmpeg prints its own user and system CPU time at the end (FfmpegRunResult.cpuSeconds).
  return ['-hide_banner', '-nostdin', '-y', '-benchmark', ...buildProgressArgs(), ...args];
}

/**
 * CPU seconds from ffmpeg's `-benchmark` line (`bench: utime=12.345s stime=0.678s rtime=6.1s`): the
 * whole process, every thread; undefined for any other line.
 */
export function parseBenchmarkLine(line: string): number | undefined {
  const m = /^bench: utime=([\d.]+)s stime=([\d.]+)s/.exec(line.trim());
  if (!m) return undefined;
  return Math.round((Number(m[1]) + Number(m[2])) * 1000) / 1000;
}

/** A shell-quoted command line, for errors and logs (copy-paste to rerun). */
export function formatCommand(opts: { bin: string; args: string[] }): string {
  const { bin, args } = opts;
  return [bin, ...args]
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

/**
 * Turns one `-progress` block (key=value lines up to `progress=…`) into FfmpegProgress.
 * `out_time_us` is N/A until the first output; `speed` looks like `1.5x`.
 */
export function parseProgressBlock(opts: {
  fields: Record<string, string>;
  durationSec?: number;
}): FfmpegProgress {
  const { fields, durationSec } = opts;
  const us = Number(fields.out_time_us ?? fields.out_time_ms); // out_time_ms is microseconds too (ffmpeg quirk)
  const timeSec = Number.isFinite(us) && us > 0 ? us / 1e6 : 0;
  const p: FfmpegProgress = { timeSec };
  const speed = Number.parseFloat(fields.speed ?? '');
  if (Number.isFinite(speed)) p.speed = speed;
  const frames = Number(fields.frame);
  if (fields.frame !== undefined && Number.isFinite(frames)) p.frames = frames;
  if (durationSec && durationSec > 0) {
    p.percent = fields.progress === 'end' ? 100 : Math.min(100, Math.max(0, (timeSec / durationSec) * 100));
  }
  return p;
}

/** Options whose value says what a run does (codec, preset, size…), for its span; never the whole command. */
const KEY_OPTIONS: Record<string, string> = {
  '-c:v': 'video.codec',
  '-vcodec': 'video.codec',
  '-c:a': 'audio.codec',
  '-acodec': 'audio.codec',
  '-preset': 'preset',
  '-crf': 'crf',
  '-profile:v': 'video.profile',
  '-pix_fmt': 'pix_fmt',
  '-s': 'size',
  '-r': 'fps',
  '-b:v': 'video.bitrate',
  '-b:a': 'audio.bitrate',
  '-ar': 'audio.sample_rate',
  '-ac': 'audio.channels',
  '-f': 'format',
  '-t': 'duration',
};

/** Span attributes of one ffmpeg run: its key options, input count and output file type (pure). */
export function ffmpegSpanAttributes(opts: { step: string; args: string[] }): SpanAttributes {
  const { step, args } = opts;
  const attrs: SpanAttributes = { 'reelbus.step': step, 'process.executable.name': 'ffmpeg' };
  let inputs = 0;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-i') inputs++;
    const name = KEY_OPTIONS[a];
    const v = args[i + 1];
    if (name && v !== undefined && attrs[`ffmpeg.${name}`] === undefined) attrs[`ffmpeg.${name}`] = v;
  }
  attrs['ffmpeg.inputs'] = inputs;
  const out = args[args.length - 1];
  const ext = out && !out.startsWith('-') ? /\.([a-z0-9]{1,5})$/i.exec(out)?.[1] : undefined;
  if (ext) attrs['ffmpeg.output.format'] = ext.toLowerCase();
  if (args.includes('-filter_complex')) attrs['ffmpeg.filter_complex'] = true;
  return attrs;
}

/**
 * The one place reelbus runs ffmpeg. Reports progress, kills on abort (AbortError) or when no progress
 * arrives for `stallTimeoutMs` (FfmpegStalledError, transient), and turns a non-zero exit into
 * FfmpegError with the step, exit code, stderr tail and command line. Each run is one span
 * (`ffmpeg <step>`: key options, duration, exit status, real-time factor) and feeds the
 * `reelbus_ffmpeg_*` metrics.
 */
export async function runFfmpeg(opts: RunFfmpegOptions): Promise<FfmpegRunResult> {
  const { step, args, onProgress } = opts;
  let mediaSec = 0;
  const started = Date.now();
  const observe = (status: string) => {
    const wallSec = (Date.now() - started) / 1000;
    metrics.observe(METRIC.ffmpegSeconds, { step, status }, wallSec, {
      help: METRIC_HELP[METRIC.ffmpegSeconds],
    });
    if (status !== 'ok' || mediaSec <= 0 || wallSec <= 0) return undefined;
    const rtf = mediaSec / wallSec;
    metrics.observe(METRIC.ffmpegRealTimeFactor, { step }, rtf, {
      buckets: REAL_TIME_FACTOR_BUCKETS,
      help: METRIC_HELP[METRIC.ffmpegRealTimeFactor],
    });
    return rtf;
  };
  return withSpan(`ffmpeg ${step}`, ffmpegSpanAttributes({ step, args }), async (span) => {
    try {
      const result = await runFfmpegProcess({
        ...opts,
        onProgress: (p) => {
          mediaSec = Math.max(mediaSec, p.timeSec);
          onProgress?.(p);
        },
      });
      const rtf = observe('ok');
      span.setAttributes({
        'process.exit.code': 0,
        'reelbus.ffmpeg.elapsed_ms': result.elapsedMs,
        'reelbus.ffmpeg.media_seconds': mediaSec,
        ...(rtf !== undefined ? { 'reelbus.ffmpeg.real_time_factor': rtf } : {}),
      });
      return result;
    } catch (err) {
      const status =
        err instanceof FfmpegStalledError ? 'stalled' : err instanceof FfmpegError ? 'failed' : 'aborted';
      observe(status);
      span.setAttribute('reelbus.ffmpeg.status', status);
      if (err instanceof FfmpegError && err.exitCode !== null && err.exitCode !== undefined)
        span.setAttribute('process.exit.code', err.exitCode);
      throw err;
    }
  });
}

async function runFfmpegProcess(opts: RunFfmpegOptions): Promise<FfmpegRunResult> {
  const {
    step,
    args,
    durationSec,
    onProgress,
    signal,
    stallTimeoutMs = DEFAULT_STALL_TIMEOUT_MS,
    logger,
    ffmpegPath = 'ffmpeg',
    onStderrLine,
  } = opts;
  const fullArgs = buildFfmpegArgs({ args });
  const command = formatCommand({ bin: ffmpegPath, args: fullArgs });
  if (signal?.aborted) throw abortError(step, signal.reason);

  const started = Date.now();
  logger?.debug({ step, command }, 'ffmpeg starting');
  const child = spawn(ffmpegPath, fullArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);

  const tail: string[] = [];
  const stderrTail = () => tail.join('\n');
  let stopReason: 'abort' | 'stall' | undefined;
  let killTimer: NodeJS.Timeout | undefined;

  const kill = (why: 'abort' | 'stall') => {
    if (stopReason || child.exitCode !== null || child.signalCode !== null) return;
    stopReason = why;
    child.kill('SIGTERM');
    killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
  };

  const stallTimer = setTimeout(() => kill('stall'), stallTimeoutMs);
  const onAbort = () => kill('abort');
  signal?.addEventListener('abort', onAbort, { once: true });

  let fields: Record<string, string> = {};
  forEachLine(child.stdout, (line) => {
    const eq = line.indexOf('=');
    if (eq <= 0) return;
    const key = line.slice(0, eq).trim();
    fields[key] = line.slice(eq + 1).trim();
    if (key !== 'progress') return;
    stallTimer.refresh();
    const p = parseProgressBlock({ fields, ...(durationSec !== undefined ? { durationSec } : {}) });
    fields = {};
    try {
      onProgress?.(p);
    } catch (err) {
      logger?.warn({ err, step }, 'ffmpeg progress callback threw');
    }
  });
  let cpuSeconds: number | undefined;
  forEachLine(child.stderr, (line) => {
    if (!line.trim()) return;
    cpuSeconds = parseBenchmarkLine(line) ?? cpuSeconds;
    tail.push(line);
    if (tail.length > STDERR_TAIL_LINES) tail.shift();
    onStderrLine?.(line);
  });

  try {
    const { code, sig } = await new Promise<{ code: number | null; sig: NodeJS.Signals | null }>(
      (resolve, reject) => {
        child.once('error', (err) =>
          reject(
            new Error(`cannot run ffmpeg (${ffmpegPath}) for step ${step}: ${err.message}`, { cause: err }),
          ),
        );
        // 'close' (not 'exit'): stdio is drained, so the stderr tail is complete
        child.once('close', (c, s) => resolve({ code: c, sig: s }));
      },
    );
    const elapsedMs = Date.now() - started;
    if (stopReason === 'abort') throw abortError(step, signal?.reason);
    if (stopReason === 'stall')
      throw new FfmpegStalledError({ step, stallTimeoutMs, command, stderrTail: stderrTail() });
    if (code !== 0)
      throw new FfmpegError({ step, exitCode: code, signal: sig, stderrTail: stderrTail(), command });
    logger?.debug({ step, elapsedMs }, 'ffmpeg finished');
    // cpuSeconds from ffmpeg's own -benchmark report (Node exposes no rusage of one child).
    return { elapsedMs, stderrTail: stderrTail(), ...(cpuSeconds !== undefined ? { cpuSeconds } : {}) };
  } finally {
    clearTimeout(stallTimer);
    clearTimeout(killTimer);
    signal?.removeEventListener('abort', onAbort);
  }
}

function forEachLine(stream: NodeJS.ReadableStream | null, fn: (line: string) => void): void {
  if (!stream) return;
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    const lines = buf.split(/\r?\n|\r/);
    buf = lines.pop() ?? '';
    for (const l of lines) fn(l);
  });
  stream.on('end', () => {
    if (buf) fn(buf);
    buf = '';
  });
}
