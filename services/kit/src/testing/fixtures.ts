import { execFile } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { probe } from '../ffmpeg/probe.ts';
import { runFfmpeg } from '../ffmpeg/run.ts';

/*
 * Real media fixtures for tests, made on the spot with espeak-ng, sox and ffmpeg (lavfi).
 * Every function writes one file and resolves to its path.
 */

const exec = promisify(execFile);

// sox calls pass -D: no dither, so silence stays digital zero
async function tool(bin: string, args: string[]): Promise<void> {
  try {
    await exec(bin, args, { maxBuffer: 8 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`fixture: ${bin} ${args.join(' ')} failed: ${e.stderr || e.message}`, { cause: err });
  }
}

async function ffmpeg(step: string, args: string[]): Promise<void> {
  await runFfmpeg({ step: `fixture-${step}`, args, stallTimeoutMs: 30_000 });
}

async function parent(file: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
}

/** Speech with espeak-ng (mono 16-bit, 22.05 kHz unless `sampleRate`). `rate` is words per minute. */
export async function makeSpeech(opts: {
  text: string;
  file: string;
  voice?: string;
  rate?: number;
  sampleRate?: number;
}): Promise<string> {
  const { text, file, voice = 'en', rate = 175, sampleRate } = opts;
  await parent(file);
  if (!sampleRate) {
    await tool('espeak-ng', ['-v', voice, '-s', String(rate), '-w', file, text]);
    return file;
  }
  const raw = `${file}.espeak.wav`;
  try {
    await tool('espeak-ng', ['-v', voice, '-s', String(rate), '-w', raw, text]);
    await tool('sox', ['-D', raw, '-r', String(sampleRate), '-b', '16', '-c', '1', file]);
  } finally {
    await rm(raw, { force: true });
  }
  return file;
}

export interface StereoCallFixture {
  file: string;
  sampleRate: number;
  durationSec: number;
  /** Where each side speaks, seconds from the start (undefined: that channel is silent throughout). */
  left?: { startSec: number; endSec: number };
  right?: { startSec: number; endSec: number };
}

/**
 * A dual-channel call like Twilio records it: left = caller, right = callee, 16-bit PCM WAV
 * (Twilio's is 8 kHz; 48 kHz by default here). The caller speaks `left` first while the right channel
 * is silent, then the callee speaks `right` while the left is silent. Leave a side out for a channel
 * that is silent throughout. `durationSec` pads (or trims) the whole call to that length.
 */
export async function makeStereoCall(opts: {
  dir: string;
  left?: string;
  right?: string;
  file?: string;
  sampleRate?: number;
  durationSec?: number;
  voice?: { left?: string; right?: string };
}): Promise<StereoCallFixture> {
  const {
    dir,
    left,
    right,
    file = join(dir, 'call.wav'),
    sampleRate = 48_000,
    durationSec,
    voice = {},
  } = opts;
  if (!left && !right && !durationSec) throw new Error('makeStereoCall: give left, right or durationSec');
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.call-${process.pid}-${Date.now()}`);
  await mkdir(tmp, { recursive: true });
  try {
    const rateArgs = ['-r', String(sampleRate), '-b', '16', '-c', '1'];
    const l = left
      ? await makeSpeech({ text: left, file: join(tmp, 'l.wav'), voice: voice.left ?? 'en', sampleRate })
      : undefined;
    const r = right
      ? await makeSpeech({ text: right, file: join(tmp, 'r.wav'), voice: voice.right ?? 'en+f3', sampleRate })
      : undefined;
    const lDur = l ? (await probe(l)).durationSec : 0;
    const rDur = r ? (await probe(r)).durationSec : 0;
    const gap = l && r ? 0.3 : 0;
    const total = durationSec ?? lDur + gap + rDur;
    const leftTrack = join(tmp, 'left.wav');
    const rightTrack = join(tmp, 'right.wav');
    // each channel: its speech at its turn, digital silence elsewhere, both exactly `total` long
    await channel({ speech: l, startSec: 0, speechSec: lDur, total, out: leftTrack, rateArgs });
    await channel({ speech: r, startSec: lDur + gap, speechSec: rDur, total, out: rightTrack, rateArgs });
    await parent(file);
    await tool('sox', ['-D', '-M', leftTrack, rightTrack, '-b', '16', file]);
    const info = await probe(file);
    const res: StereoCallFixture = { file, sampleRate, durationSec: info.durationSec };
    if (l) res.left = { startSec: 0, endSec: Math.min(lDur, total) };
    if (r) res.right = { startSec: lDur + gap, endSec: Math.min(lDur + gap + rDur, total) };
    return res;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function channel(opts: {
  speech: string | undefined;
  startSec: number;
  speechSec: number;
  total: number;
  out: string;
  rateArgs: string[];
}): Promise<void> {
  const { speech, startSec, speechSec, total, out, rateArgs } = opts;
  if (!speech) {
    await tool('sox', ['-D', '-n', ...rateArgs, out, 'trim', '0', total.toFixed(6)]);
    return;
  }
  const after = Math.max(0, total - startSec - speechSec);
  await tool('sox', [
    '-D',
    speech,
    ...rateArgs,
    out,
    'pad',
    startSec.toFixed(6),
    after.toFixed(6),
    'trim',
    '0',
    total.toFixed(6),
  ]);
}

/** A sine tone (mono unless `channels`), 16-bit PCM WAV unless the extension says otherwise. */
export async function makeTone(opts: {
  file: string;
  seconds: number;
  frequency?: number;
  sampleRate?: number;
  channels?: number;
  /** Amplitude 0-1. */
  volume?: number;
}): Promise<string> {
  const { file, seconds, frequency = 440, sampleRate = 48_000, channels = 1, volume = 0.5 } = opts;
  await parent(file);
  await ffmpeg('tone', [
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=${frequency}:sample_rate=${sampleRate}:duration=${seconds}`,
    '-af',
    `volume=${volume},aformat=channel_layouts=${layout(channels)}`,
    '-ar',
    String(sampleRate),
    ...pcmArgs(file),
    file,
  ]);
  return file;
}

/** Digital silence. */
export async function makeSilence(opts: {
  file: string;
  seconds: number;
  sampleRate?: number;
  channels?: number;
}): Promise<string> {
  const { file, seconds, sampleRate = 48_000, channels = 1 } = opts;
  await parent(file);
  await ffmpeg('silence', [
    '-f',
    'lavfi',
    '-i',
    `anullsrc=r=${sampleRate}:cl=${layout(channels)}`,
    '-t',
    String(seconds),
    ...pcmArgs(file),
    file,
  ]);
  return file;
}

/** A one-speaker mono recording (speech), e.g. for the mono-input policy. */
export async function makeMono(opts: {
  file: string;
  text?: string;
  sampleRate?: number;
  voice?: string;
}): Promise<string> {
  const {
    file,
    text = 'This is a recording with a single speaker on one channel.',
    sampleRate = 48_000,
    voice,
  } = opts;
  return makeSpeech({ text, file, sampleRate, ...(voice ? { voice } : {}) });
}

/** A test video: lavfi testsrc2 picture and a sine tone, H.264 yuv420p + AAC, `+faststart`. */
export async function makeVideo(opts: {
  file: string;
  seconds: number;
  width?: number;
  height?: number;
  fps?: number;
  /** false: no audio stream. */
  audio?: boolean;
  frequency?: number;
}): Promise<string> {
  const { file, seconds, width = 320, height = 240, fps = 25, audio = true, frequency = 440 } = opts;
  await parent(file);
  await ffmpeg('video', [
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${width}x${height}:rate=${fps}:duration=${seconds}`,
    ...(audio
      ? ['-f', 'lavfi', '-i', `sine=frequency=${frequency}:sample_rate=48000:duration=${seconds}`]
      : []),
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    ...(audio ? ['-c:a', 'aac', '-b:a', '96k', '-ac', '2'] : []),
    '-t',
    String(seconds),
    '-movflags',
    '+faststart',
    file,
  ]);
  return file;
}

/** A still image (JPEG/PNG/WebP by extension) from testsrc2, or a flat `color`. */
export async function makeImage(opts: {
  file: string;
  width?: number;
  height?: number;
  color?: string;
}): Promise<string> {
  const { file, width = 640, height = 480, color } = opts;
  await parent(file);
  const src = color ? `color=c=${color}:size=${width}x${height}` : `testsrc2=size=${width}x${height}`;
  await ffmpeg('image', ['-f', 'lavfi', '-i', src, '-frames:v', '1', file]);
  return file;
}

function layout(channels: number): string {
  return channels === 1 ? 'mono' : channels === 2 ? 'stereo' : `${channels}c`;
}

function pcmArgs(file: string): string[] {
  return file.endsWith('.wav') ? ['-c:a', 'pcm_s16le'] : [];
}
