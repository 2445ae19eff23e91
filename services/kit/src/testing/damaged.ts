import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { probe } from '../ffmpeg/probe.ts';
import { runFfmpeg } from '../ffmpeg/run.ts';

/*
 * Partly damaged media for tests (issue 11 §3): what a user uploads after a broken transfer or a
 * recorder that crashed. Made from a good file on the spot; the garbage is deterministic.
 */

/** `n` bytes of deterministic noise (xorshift32), like a transfer that went wrong. */
export function garbageBytes(n: number, seed = 0x9e3779b9): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export interface DamagedFixture {
  file: string;
  /** What the file declares (its Xing/Info header, or its WAV header). */
  declaredSec: number;
  /** Bytes of the good file kept at its start. */
  keptBytes: number;
}

/**
 * An MP3 of `source` encoded by LAME (ffmpeg's libmp3lame, CBR `bitrateKbps`, with the Xing/Info
 * header that declares the whole length), of which only the first `keepFraction` of the bytes
 * survive: the rest is replaced by as many bytes of garbage, or dropped when `garbage` is false.
 */
export async function makeDamagedMp3(opts: {
  source: string;
  file: string;
  keepFraction: number;
  garbage?: boolean;
  bitrateKbps?: number;
}): Promise<DamagedFixture> {
  const { source, file, keepFraction, garbage = true, bitrateKbps = 64 } = opts;
  await mkdir(dirname(file), { recursive: true });
  const whole = `${file}.whole.mp3`;
  try {
    await runFfmpeg({
      step: 'fixture-mp3',
      args: ['-i', source, '-c:a', 'libmp3lame', '-b:a', `${bitrateKbps}k`, whole],
      stallTimeoutMs: 30_000,
    });
    const declaredSec = (await probe(whole)).durationSec;
    const bytes = await readFile(whole);
    const keptBytes = Math.floor(bytes.length * keepFraction);
    const rest = garbage ? garbageBytes(bytes.length - keptBytes) : Buffer.alloc(0);
    await writeFile(file, Buffer.concat([bytes.subarray(0, keptBytes), rest]));
    return { file, declaredSec, keptBytes };
  } finally {
    await rm(whole, { force: true });
  }
}

/**
 * A copy of the PCM WAV `source` whose header still declares the whole recording while only the
 * first `keepFraction` of its sample data is there (a recorder that died before the end; the cut
 * falls on a whole sample frame, so every byte present decodes).
 */
export async function truncateWav(opts: {
  source: string;
  file: string;
  keepFraction: number;
}): Promise<DamagedFixture> {
  const { source, file, keepFraction } = opts;
  const bytes = await readFile(source);
  const dataAt = bytes.indexOf('data', 12, 'latin1');
  if (bytes.toString('latin1', 0, 4) !== 'RIFF' || dataAt < 0)
    throw new Error(`truncateWav: ${source} is not a RIFF/WAVE file`);
  const fmtAt = bytes.indexOf('fmt ', 12, 'latin1');
  const byteRate = bytes.readUInt32LE(fmtAt + 16);
  const blockAlign = bytes.readUInt16LE(fmtAt + 20);
  const dataBytes = bytes.readUInt32LE(dataAt + 4);
  const start = dataAt + 8;
  const kept = Math.floor((dataBytes * keepFraction) / blockAlign) * blockAlign;
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, bytes.subarray(0, start + kept));
  return { file, declaredSec: dataBytes / byteRate, keptBytes: start + kept };
}
