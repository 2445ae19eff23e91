import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPermanent, isTransient, PermanentError, TransientError } from '../errors.ts';
import { makeStereoCall, makeVideo } from '../testing/fixtures.ts';
import {
  buildFfmpegArgs,
  parseBenchmarkLine,
  FfmpegError,
  FfmpegStalledError,
  parseProgressBlock,
  parseVolumeDetect,
  probe,
  runFfmpeg,
  withTempDir,
  type FfmpegProgress,
} from './index.ts';

const exec = promisify(execFile);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelbus-ffmpeg-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function soxDuration(file: string): Promise<number> {
  const { stdout } = await exec('soxi', ['-D', file]);
  return Number(stdout.trim());
}

describe('probe', () => {
  it('reads codec, channels, sample rate and the real duration of a stereo 8 kHz call recording', async () => {
    const call = await makeStereoCall({
      dir,
      left: 'Hello, this is the caller.',
      right: 'Hi, callee here.',
      sampleRate: 8000,
    });
    const info = await probe(call.file);
    expect(info.formatName).toBe('wav');
    expect(info.audio?.codec).toBe('pcm_s16le');
    expect(info.audio?.channels).toBe(2);
    expect(info.audio?.sampleRate).toBe(8000);
    expect(info.video).toBeUndefined();
    expect(Math.abs(info.durationSec - (await soxDuration(call.file)))).toBeLessThan(0.05);
    expect(info.durationSec).toBeGreaterThan(1);
  });

  it('reads the video and audio streams of an mp4', async () => {
    const file = await makeVideo({ file: join(dir, 'v.mp4'), seconds: 2, width: 320, height: 240, fps: 25 });
    const info = await probe(file);
    expect(info.video).toMatchObject({
      codec: 'h264',
      width: 320,
      height: 240,
      pixelFormat: 'yuv420p',
      fps: 25,
    });
    expect(info.audio).toMatchObject({ codec: 'aac', channels: 2, sampleRate: 48000 });
    expect(Math.abs(info.durationSec - 2)).toBeLessThan(0.05);
    expect(info.sizeBytes).toBeGreaterThan(0);
  });

  it('rejects a text file with a permanent error naming the file and carrying ffprobe’s message', async () => {
    const file = join(dir, 'notes.wav');
    await writeFile(file, 'this is not audio at all\n'.repeat(20));
    const err = await probe(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect(isPermanent(err)).toBe(true);
    expect((err as Error).message).toBe('not an audio or video file: notes.wav');
    expect(String(((err as Error).cause as Error).message)).toMatch(/Invalid data/);
  });
});

describe('runFfmpeg', () => {
  it('reports progress up to 100 % when the duration is known', async () => {
    const seen: FfmpegProgress[] = [];
    const res = await runFfmpeg({
      step: 'test',
      args: ['-f', 'lavfi', '-i', 'sine=d=3', '-f', 'wav', join(dir, 'sine.wav')],
      durationSec: 3,
      onProgress: (p) => seen.push(p),
    });
    expect(res.elapsedMs).toBeGreaterThan(0);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.at(-1)?.percent).toBe(100);
    expect(seen.at(-1)?.timeSec).toBeCloseTo(3, 1);
    const percents = seen.map((p) => p.percent ?? 0);
    expect([...percents].sort((a, b) => a - b)).toEqual(percents);
  });

  it('reports the CPU seconds ffmpeg used, from its own -benchmark line', async () => {
    // an x264 encode burns measurable CPU
    const res = await runFfmpeg({
      step: 'test',
      args: [
        '-f',
        'lavfi',
        '-i',
        'testsrc2=s=640x360:d=2',
        '-c:v',
        'libx264',
        '-preset',
        'medium',
        join(dir, 'cpu.mp4'),
      ],
    });
    expect(res.cpuSeconds).toBeGreaterThan(0.05);
    expect(parseBenchmarkLine('bench: utime=12.345s stime=0.655s rtime=6.100s')).toBe(13);
    expect(parseBenchmarkLine('bench: maxrss=49928kB')).toBeUndefined();
    expect(parseBenchmarkLine('frame=  10 fps=0.0')).toBeUndefined();
  });

  it('fails with FfmpegError carrying the step, exit code, stderr text and command line', async () => {
    const missing = join(dir, 'does-not-exist.wav');
    const err = await runFfmpeg({ step: 'split', args: ['-i', missing, '-f', 'null', '-'] }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FfmpegError);
    const fe = err as FfmpegError;
    expect(fe.step).toBe('split');
    expect(fe.exitCode).not.toBe(0);
    expect(fe.stderrTail).toContain('No such file or directory');
    expect(fe.command).toContain(missing);
    expect(fe.command.startsWith('ffmpeg ')).toBe(true);
    expect(fe.message).toContain('step split');
    expect(fe.message).toContain('No such file or directory');
  });

  it('kills ffmpeg and rejects with an AbortError when the signal aborts', async () => {
    const marker = join(dir, `abort-${Date.now()}.wav`);
    const ac = new AbortController();
    const run = runFfmpeg({
      step: 'encode',
      args: ['-re', '-f', 'lavfi', '-i', 'sine=d=600', marker],
      signal: ac.signal,
      onProgress: () => ac.abort(new Error('shutting down')),
    });
    const err = await run.catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    expect(((err as Error).cause as Error).message).toBe('shutting down');
    const { stdout } = await exec('ps', ['-eo', 'args']);
    expect(stdout).not.toContain(marker);
  });

  it('kills a stalled ffmpeg (input from a FIFO nobody writes) and fails with a transient FfmpegStalledError', async () => {
    const fifo = join(dir, 'never.fifo');
    await exec('mkfifo', [fifo]);
    const started = Date.now();
    const err = await runFfmpeg({
      step: 'normalize',
      args: ['-f', 's16le', '-ar', '8000', '-ac', '1', '-i', fifo, '-f', 'null', '-'],
      stallTimeoutMs: 500,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FfmpegStalledError);
    expect(err).toBeInstanceOf(TransientError);
    expect(isTransient(err)).toBe(true);
    expect((err as FfmpegStalledError).step).toBe('normalize');
    expect((err as Error).message).toContain('normalize');
    expect(Date.now() - started).toBeLessThan(10_000);
    const { stdout } = await exec('ps', ['-eo', 'args']);
    expect(stdout).not.toContain(fifo);
  });

  it('builds the full argument list with progress on stdout and no stdin', () => {
    expect(buildFfmpegArgs({ args: ['-i', 'a.wav', 'b.wav'] })).toEqual([
      '-hide_banner',
      '-nostdin',
      '-y',
      '-benchmark',
      '-progress',
      'pipe:1',
      '-nostats',
      '-i',
      'a.wav',
      'b.wav',
    ]);
  });

  it('parses a progress block into time, speed, frames and percent', () => {
    expect(
      parseProgressBlock({
        fields: { out_time_us: '1500000', speed: '2.5x', frame: '37', progress: 'continue' },
        durationSec: 6,
      }),
    ).toEqual({ timeSec: 1.5, speed: 2.5, frames: 37, percent: 25 });
    expect(
      parseProgressBlock({ fields: { out_time_us: 'N/A', speed: 'N/A', progress: 'continue' } }),
    ).toEqual({ timeSec: 0 });
  });
});

describe('volume detection', () => {
  it('measures each labelled output in one pass', async () => {
    const lines: string[] = [];
    await runFfmpeg({
      step: 'test',
      args: [
        '-f',
        'lavfi',
        '-i',
        'sine=d=1:sample_rate=48000',
        '-f',
        'lavfi',
        '-i',
        'anullsrc=r=48000:cl=mono:d=1',
        '-filter_complex',
        '[0:a]volumedetect@loud[a];[1:a]volumedetect@quiet[b]',
        '-map',
        '[a]',
        '-f',
        'null',
        '-',
        '-map',
        '[b]',
        '-f',
        'null',
        '-',
      ],
      onStderrLine: (l) => lines.push(l),
    });
    const v = parseVolumeDetect(lines.join('\n'));
    expect(v.loud?.maxDb).toBeGreaterThan(-30);
    expect(v.quiet?.maxDb).toBeLessThan(-80);
    expect(v.loud?.samples).toBe(48000);
  });
});

describe('withTempDir', () => {
  it('removes the directory when the function throws', async () => {
    let seen = '';
    await expect(
      withTempDir(
        'reelbus-test',
        async (d) => {
          seen = d;
          await writeFile(join(d, 'partial.wav'), 'x');
          throw new Error('boom');
        },
        { tmpDir: dir },
      ),
    ).rejects.toThrow('boom');
    expect(seen).not.toBe('');
    expect(existsSync(seen)).toBe(false);
  });

  it('returns the function’s result and removes the directory', async () => {
    let seen = '';
    const res = await withTempDir('reelbus-test', async (d) => {
      seen = d;
      return existsSync(d);
    });
    expect(res).toBe(true);
    expect(existsSync(seen)).toBe(false);
  });
});
