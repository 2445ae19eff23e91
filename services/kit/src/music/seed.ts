import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { BlobStore } from '../blob/types.ts';
import { runFfmpeg } from '../ffmpeg/run.ts';
import { withTempDir } from '../ffmpeg/temp.ts';
import { MUSIC_PREFIX, musicVariantKey, type MusicMoodName } from './library.ts';

/**
 * A small sample music library, synthesised so the embedded profile has music without shipping any:
 * soft chord pads, one progression per track, each chord melting into the next. Each track is one
 * base loop (the gcd of the variant lengths) repeated, joined without a click, so the samples also
 * loop cleanly when a story is longer than the longest variant.
 *
 * Speed matters: the first story on a fresh install waits for this. The loop is computed here (a
 * table reads per sample: a few ms a track, where ffmpeg's `aevalsrc` expression interpreter took ~1 s),
 * at 22.05 kHz (the pads are pure sines under 700 Hz), and one ffmpeg run per core encodes every
 * variant of its share of the tracks, with libmp3lame's fastest algorithm.
 */

export interface SampleTrackSpec {
  mood: MusicMoodName;
  name: string;
  /** Chords as semitones above middle C (C4 = 0); the first note is also played an octave down. The progression fills the base loop once. */
  chords: number[][];
}

export const SAMPLE_TRACKS: SampleTrackSpec[] = [
  {
    mood: 'adventurous',
    name: 'Easy-Day',
    chords: [
      [2, 6, 9],
      [9, 13, 16],
      [-1, 2, 6],
      [7, 11, 14],
      [2, 6, 9],
      [9, 13, 16],
      [7, 11, 14],
      [9, 13, 16],
    ],
  },
  {
    mood: 'adventurous',
    name: 'Open-Road',
    chords: [
      [4, 8, 11],
      [-1, 3, 6],
      [1, 4, 8],
      [-3, 1, 4],
      [4, 8, 11],
      [-1, 3, 6],
      [-3, 1, 4],
      [-1, 3, 6],
    ],
  },
  {
    mood: 'family',
    name: 'Sunday-Table',
    chords: [
      [0, 4, 7],
      [-3, 0, 4],
      [-7, -3, 0],
      [-5, -1, 2],
    ],
  },
  {
    mood: 'family',
    name: 'Porch-Light',
    chords: [
      [-5, -1, 2],
      [0, 4, 7],
      [2, 6, 9],
      [-5, -1, 2],
    ],
  },
  {
    mood: 'nostalgic',
    name: 'Old-Photographs',
    chords: [
      [-3, 0, 4],
      [-7, -3, 0],
      [0, 4, 7],
      [-5, -1, 2],
    ],
  },
  {
    mood: 'nostalgic',
    name: 'Yard-Sale',
    chords: [
      [4, 7, 11],
      [0, 4, 7],
      [-5, -1, 2],
      [2, 6, 9],
    ],
  },
  {
    mood: 'reflective',
    name: 'Still-Water',
    chords: [
      [2, 5, 9],
      [-2, 2, 5],
      [5, 9, 12],
    ],
  },
  {
    mood: 'reflective',
    name: 'Evening-Walk',
    chords: [
      [0, 3, 7],
      [-4, 0, 3],
      [3, 7, 10],
    ],
  },
];

export const SAMPLE_VARIANTS_SEC = [30, 60, 240] as const;

/** The pads are sines under 700 Hz: 22.05 kHz holds them exactly and halves the encoding work of 44.1 kHz. */
export const SAMPLE_RATE = 22_050;

/** Bit rate of the sample MP3s (mono). */
export const SAMPLE_BITRATE = '64k';

/**
 * Amplitude of the pads, measured on the seeded files: about -18 LUFS, an RMS of about -17 dBFS,
 * the RMS of speech normalised to -16 LUFS (the audio-splitter's target; speech has pauses and more
 * high-frequency energy, which loudness weighting counts more, so at equal LUFS it measures ~2 dB
 * quieter than these pads). A story's `gainDb` then means "this far below the voice", as measured.
 */
export const SAMPLE_AMPLITUDE = 0.4;

const C4 = 261.6256;

/** A note's frequency (semitones above C4), rounded to whole cycles per loop so the loop joins its start. */
export function loopFrequency({ semitones, loopSec }: { semitones: number; loopSec: number }): number {
  return Math.round(C4 * 2 ** (semitones / 12) * loopSec) / loopSec;
}

/**
 * One base loop of a track as 16-bit mono samples (pure). Each chord morphs into the next with
 * equal-power weights (cos/sin of the position in the chord), so the level stays even; the first note
 * of each chord is doubled an octave down. Every frequency is a whole number of cycles per loop and
 * the progression fills the loop exactly, so the loop's end joins its start without a click: longer
 * variants are the loop repeated. Whole cycles per loop also make every voice a walk through one sine
 * table of the loop's length, so a sample costs table reads, not sine calls.
 */
export function renderSampleLoop({
  spec,
  loopSec,
  sampleRate = SAMPLE_RATE,
  amplitude = SAMPLE_AMPLITUDE,
}: {
  spec: SampleTrackSpec;
  loopSec: number;
  sampleRate?: number;
  amplitude?: number;
}): Int16Array {
  const total = Math.round(loopSec * sampleRate);
  const table = new Float64Array(total);
  for (let j = 0; j < total; j++) table[j] = Math.sin((2 * Math.PI * j) / total);
  const chords = spec.chords.map((notes) => {
    const voices = [notes[0]! - 12, ...notes];
    // Cycles per loop = table steps per sample.
    return {
      w: 1 / voices.length,
      steps: voices.map((n) => Math.round(loopFrequency({ semitones: n, loopSec }) * loopSec)),
    };
  });
  const n = chords.length;
  const chordSamples = total / n;
  const value = (c: (typeof chords)[number], i: number) => {
    let v = 0;
    for (const k of c.steps) v += table[(k * i) % total]!;
    return v * c.w;
  };
  const out = new Int16Array(total);
  for (let i = 0; i < total; i++) {
    const k = Math.min(n - 1, Math.floor(i / chordSamples));
    const x = (i - k * chordSamples) / chordSamples; // position in the chord, 0..1
    const v =
      amplitude *
      (Math.cos((Math.PI / 2) * x) * value(chords[k]!, i) +
        Math.sin((Math.PI / 2) * x) * value(chords[(k + 1) % n]!, i));
    out[i] = Math.max(-32768, Math.min(32767, Math.round(v * 32767)));
  }
  return out;
}

/** A canonical 44-byte-header PCM WAV file of 16-bit mono samples (pure). */
export function wavFile({ samples, sampleRate }: { samples: Int16Array; sampleRate: number }): Buffer {
  const data = samples.length * 2;
  const b = Buffer.alloc(44 + data);
  b.write('RIFF', 0, 'ascii');
  b.writeUInt32LE(36 + data, 4);
  b.write('WAVE', 8, 'ascii');
  b.write('fmt ', 12, 'ascii');
  b.writeUInt32LE(16, 16); // fmt chunk size
  b.writeUInt16LE(1, 20); // PCM
  b.writeUInt16LE(1, 22); // mono
  b.writeUInt32LE(sampleRate, 24);
  b.writeUInt32LE(sampleRate * 2, 28); // byte rate
  b.writeUInt16LE(2, 32); // block align
  b.writeUInt16LE(16, 34); // bits per sample
  b.write('data', 36, 'ascii');
  b.writeUInt32LE(data, 40);
  Buffer.from(samples.buffer, samples.byteOffset, data).copy(b, 44);
  return b;
}

/** Greatest common divisor of the variant lengths: the loop every variant is made of. */
export function baseLoopSeconds(variants: number[]): number {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  return variants.map((v) => Math.round(v)).reduce(gcd);
}

/**
 * ffmpeg arguments (pure) that encode every variant of several tracks in one run (one process start
 * instead of one per file: ffmpeg's start-up costs as much CPU as encoding a minute here). Each track's
 * base loop is an input, repeated (`-stream_loop`) as long as its longest variant; each output is cut
 * at its length. Mono MP3 at `SAMPLE_BITRATE`, libmp3lame's fastest algorithm (`-compression_level 9`:
 * these are sines).
 */
export function sampleLibraryArgs({
  tracks,
}: {
  tracks: Array<{ baseFile: string; outputs: Array<{ seconds: number; file: string }> }>;
}): string[] {
  const inputs = tracks.flatMap(({ baseFile, outputs }) => {
    const base = baseLoopSeconds(outputs.map((o) => o.seconds));
    const longest = Math.max(...outputs.map((o) => o.seconds));
    return ['-stream_loop', String(Math.round(longest / base) - 1), '-i', baseFile];
  });
  const outputs = tracks.flatMap(({ outputs: outs }, t) =>
    outs.flatMap((o) => [
      '-map',
      `${t}:a`,
      '-t',
      String(o.seconds),
      '-c:a',
      'libmp3lame',
      '-b:a',
      SAMPLE_BITRATE,
      '-compression_level',
      '9',
      o.file,
    ]),
  );
  return [...inputs, ...outputs];
}

/**
 * Generates the sample library into `music/` — only when `music/` is empty, so a real library (or a
 * second replica that got there first) is never touched. Returns what it wrote.
 */
export async function seedSampleLibrary({
  blobs,
  tracks = SAMPLE_TRACKS,
  variants = [...SAMPLE_VARIANTS_SEC],
  tmpDir,
  logger,
  concurrency = 2,
  signal,
  onStart,
}: {
  blobs: BlobStore;
  tracks?: SampleTrackSpec[];
  variants?: number[];
  tmpDir?: string;
  logger?: Logger;
  /** ffmpeg runs at once (the tracks are shared among them). */
  concurrency?: number;
  signal?: AbortSignal;
  /** Called once it has decided to generate (`music/` is empty), before it starts. */
  onStart?: () => void;
}): Promise<{ seeded: boolean; keys: string[]; ms?: number }> {
  if ((await blobs.list(MUSIC_PREFIX)).length > 0) return { seeded: false, keys: [] };
  onStart?.();
  logger?.info({ tracks: tracks.length }, 'generating the sample music library');
  const started = Date.now();
  const keys: string[] = [];
  const loopSec = baseLoopSeconds(variants);
  await withTempDir(
    'reelbus-music',
    async (dir) => {
      // One ffmpeg run per worker, the tracks dealt round-robin: both cores busy, two process starts.
      const groups = Array.from({ length: Math.max(1, Math.min(concurrency, tracks.length)) }, (_, g) =>
        tracks.filter((_t, i) => i % Math.max(1, Math.min(concurrency, tracks.length)) === g),
      );
      await Promise.all(
        groups.map(async (group) => {
          const planned = [];
          for (const spec of group) {
            signal?.throwIfAborted();
            const baseFile = join(dir, `${spec.name}-base.wav`);
            await writeFile(
              baseFile,
              wavFile({ samples: renderSampleLoop({ spec, loopSec }), sampleRate: SAMPLE_RATE }),
            );
            const outputs = variants.map((seconds) => ({
              seconds,
              file: join(dir, `${spec.name}-${seconds}s.mp3`),
              key: musicVariantKey({ mood: spec.mood, track: spec.name, seconds }),
            }));
            planned.push({ baseFile, outputs });
          }
          if (planned.length === 0) return;
          await runFfmpeg({
            step: 'seed-music',
            args: sampleLibraryArgs({ tracks: planned }),
            ...(signal ? { signal } : {}),
            ...(logger ? { logger } : {}),
          });
          for (const o of planned.flatMap((p) => p.outputs)) {
            await blobs.putFile(o.key, o.file, { contentType: 'audio/mpeg' });
            keys.push(o.key);
          }
        }),
      );
    },
    tmpDir ? { tmpDir } : {},
  );
  const ms = Date.now() - started;
  logger?.info({ tracks: tracks.length, files: keys.length, ms }, 'seeded the sample music library');
  return { seeded: true, keys: keys.sort(), ms };
}
