import { join } from 'node:path';
import type { Logger } from 'pino';
import type { BlobStore } from '../blob/types.ts';
import { runFfmpeg } from '../ffmpeg/run.ts';
import { withTempDir } from '../ffmpeg/temp.ts';
import { MUSIC_PREFIX, musicVariantKey, type MusicMoodName } from './library.ts';

/**
 * A small sample music library, synthesised with ffmpeg so the embedded profile has music without
 * shipping any: soft chord pads, one progression per track, each chord melting into the next.
 * Each track is one base loop (the gcd of the variant lengths) repeated, joined without a click, so
 * the samples also loop cleanly when a story is longer than the longest variant.
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

/**
 * Amplitude of the pads, measured on the seeded files: about -18 LUFS, an RMS of about -17 dBFS,
 * the RMS of speech normalised to -16 LUFS (the audio-splitter's target; speech has pauses and more
 * high-frequency energy, which loudness weighting counts more, so at equal LUFS it measures ~2 dB
 * quieter than these pads). A story's `gainDb` then means "this far below the voice", as measured.
 */
export const SAMPLE_AMPLITUDE = 0.4;

const C4 = 261.6256;

/**
 * The aevalsrc expression of one track (pure). Each chord morphs into the next with equal-power
 * weights (cos/sin of the position in the chord), so the level stays even. Every frequency is rounded
 * to a whole number of cycles per base loop, and the progression fills the loop exactly, so the
 * loop's end joins its start without a click: longer variants are the loop repeated.
 */
export function sampleTrackExpression({
  spec,
  loopSec,
  amplitude = SAMPLE_AMPLITUDE,
}: {
  spec: SampleTrackSpec;
  loopSec: number;
  amplitude?: number;
}): string {
  const hz = (n: number) => Math.round(C4 * 2 ** (n / 12) * loopSec) / loopSec;
  const chord = (notes: number[]) => {
    const voices = [notes[0]! - 12, ...notes];
    const w = (1 / voices.length).toFixed(4);
    return voices.map((n) => `${w}*sin(2*PI*${hz(n).toFixed(6)}*t)`).join('+');
  };
  const n = spec.chords.length;
  const select = (reg: number) => {
    let body = `(${chord(spec.chords[n - 1]!)})`;
    for (let i = n - 2; i >= 0; i--) body = `if(eq(ld(${reg}),${i}),(${chord(spec.chords[i]!)}),${body})`;
    return body;
  };
  const P = loopSec / n;
  // Registers: 0 = this chord, 1 = position in it (0..1), 2 = the next chord. if() evaluates one branch.
  return (
    `st(0,mod(floor(t/${P}),${n}));st(1,mod(t,${P})/${P});st(2,mod(ld(0)+1,${n}));` +
    `${amplitude}*(cos(PI/2*ld(1))*${select(0)}+sin(PI/2*ld(1))*${select(2)})`
  );
}

/** Greatest common divisor of the variant lengths: the loop every variant is made of. */
export function baseLoopSeconds(variants: number[]): number {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  return variants.map((v) => Math.round(v)).reduce(gcd);
}

/**
 * ffmpeg arguments (pure) for one track: synthesise one base loop once (aevalsrc is the slow part),
 * then encode each variant from that loop repeated (`-stream_loop`): mono 44.1 kHz MP3 at 128 kb/s
 * (the pads are mono; the encoder mixes to stereo).
 */
export function sampleTrackArgs({
  spec,
  baseFile,
  outputs,
}: {
  spec: SampleTrackSpec;
  baseFile: string;
  outputs: Array<{ seconds: number; file: string }>;
}): { synth: string[]; encodes: string[][] } {
  const base = baseLoopSeconds(outputs.map((o) => o.seconds));
  const synth = [
    '-f',
    'lavfi',
    '-i',
    `aevalsrc='${sampleTrackExpression({ spec, loopSec: base })}':s=44100:c=mono:d=${base}`,
    '-c:a',
    'pcm_s16le',
    baseFile,
  ];
  const encodes = outputs.map((o) => [
    '-stream_loop',
    String(Math.round(o.seconds / base) - 1),
    '-i',
    baseFile,
    '-t',
    String(o.seconds),
    '-c:a',
    'libmp3lame',
    '-b:a',
    '128k',
    o.file,
  ]);
  return { synth, encodes };
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
}: {
  blobs: BlobStore;
  tracks?: SampleTrackSpec[];
  variants?: number[];
  tmpDir?: string;
  logger?: Logger;
  concurrency?: number;
  signal?: AbortSignal;
}): Promise<{ seeded: boolean; keys: string[] }> {
  if ((await blobs.list(MUSIC_PREFIX)).length > 0) return { seeded: false, keys: [] };
  const started = Date.now();
  const keys: string[] = [];
  await withTempDir(
    'reelbus-music',
    async (dir) => {
      const queue = [...tracks];
      const worker = async () => {
        for (let spec = queue.shift(); spec; spec = queue.shift()) {
          const outputs = variants.map((seconds) => ({
            seconds,
            file: join(dir, `${spec.name}-${seconds}s.mp3`),
            key: musicVariantKey({ mood: spec.mood, track: spec.name, seconds }),
          }));
          const baseFile = join(dir, `${spec.name}-base.wav`);
          const { synth, encodes } = sampleTrackArgs({ spec, baseFile, outputs });
          const run = (args: string[]) =>
            runFfmpeg({
              step: 'seed-music',
              args,
              ...(signal ? { signal } : {}),
              ...(logger ? { logger } : {}),
            });
          await run(synth);
          for (const args of encodes) await run(args);
          for (const o of outputs) {
            await blobs.putFile(o.key, o.file, { contentType: 'audio/mpeg' });
            keys.push(o.key);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
    },
    tmpDir ? { tmpDir } : {},
  );
  logger?.info(
    { tracks: tracks.length, files: keys.length, ms: Date.now() - started },
    'seeded the sample music library',
  );
  return { seeded: true, keys: keys.sort() };
}
