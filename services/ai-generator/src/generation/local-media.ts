import { createHash } from 'node:crypto';
import { aacAudioArgs, FASTSTART_ARGS, filterPath } from '@reelbus/kit';
import { clipOutputArgs, sec } from '../filters.ts';
import { DEFAULT_FONT } from '../providers/local.ts';

/*
 * The local provider's media, as pure ffmpeg / espeak-ng argument builders (unit-tested without running
 * them). Everything is a function of the params, so the same params give the same file.
 */

/** 32 bytes derived from `text`: the seed of everything a prompt draws. */
export function promptDigest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** A 32-bit seed from the prompt (or the given seed). */
export function promptSeed(opts: { prompt: string; seed?: number | undefined }): number {
  return opts.seed ?? promptDigest(opts.prompt).readUInt32BE(0);
}

const hex = (b: Buffer, i: number) =>
  `0x${[0, 1, 2].map((k) => (b[(i + k) % b.length] ?? 0).toString(16).padStart(2, '0')).join('')}`;

/** Bytes from a seed (so an explicit seed changes the picture as a new prompt would). */
function seedBytes(opts: { prompt: string; seed?: number | undefined }): Buffer {
  return opts.seed === undefined
    ? promptDigest(opts.prompt)
    : promptDigest(`${opts.prompt}\u0000${opts.seed}`);
}

/**
 * ffmpeg arguments for an image drawn from a prompt: a gradient between colours taken from the prompt's
 * hash, three translucent boxes placed by it, and the prompt as a caption (read from `captionFile`, so no
 * escaping). One PNG frame of `width`×`height`.
 */
export function buildPromptImageArgs(opts: {
  prompt: string;
  seed?: number | undefined;
  width: number;
  height: number;
  captionFile: string;
  outFile: string;
  fontFile?: string;
}): string[] {
  const { prompt, seed, width, height, captionFile, outFile, fontFile = DEFAULT_FONT } = opts;
  const b = seedBytes({ prompt, seed });
  const at = (i: number, span: number) => Math.floor(((b[i] ?? 0) / 255) * span);
  const gradient =
    `gradients=s=${width}x${height}:n=3:c0=${hex(b, 0)}:c1=${hex(b, 3)}:c2=${hex(b, 6)}` +
    `:x0=${at(9, width)}:y0=${at(10, height)}:x1=${at(11, width)}:y1=${at(12, height)}` +
    `:seed=${promptSeed({ prompt, seed })}:d=1:r=1`;
  const boxes = [0, 1, 2].map((k) => {
    const w = Math.max(8, Math.round(width * (0.15 + ((b[13 + k] ?? 0) / 255) * 0.35)));
    const h = Math.max(8, Math.round(height * (0.15 + ((b[16 + k] ?? 0) / 255) * 0.35)));
    const x = at(19 + k, width - w);
    const y = at(22 + k, height - h);
    return `drawbox=x=${x}:y=${y}:w=${w}:h=${h}:color=${hex(b, 25 + k)}@0.45:t=fill`;
  });
  const size = Math.max(12, Math.round(Math.min(width, height) / 28));
  const caption =
    `drawtext=fontfile=${filterPath(fontFile)}:textfile=${filterPath(captionFile)}:fontsize=${size}:` +
    `fontcolor=white:x=(w-text_w)/2:y=h-text_h-${size}:box=1:boxcolor=black@0.5:boxborderw=${Math.round(size / 2)}`;
  return [
    '-f',
    'lavfi',
    '-i',
    gradient,
    '-vf',
    [...boxes, caption, 'format=rgb24'].join(','),
    '-frames:v',
    '1',
    '-bitexact',
    outFile,
  ];
}

/** The caption drawn on a prompt image: the prompt cut to fit, on lines of about `perLine` characters. */
export function captionLines(opts: { prompt: string; perLine: number; maxLines?: number }): string {
  const { prompt, perLine, maxLines = 3 } = opts;
  const words = prompt.replace(/\s+/g, ' ').trim().split(' ');
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    if (cur && (cur + ' ' + w).length > perLine) {
      lines.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(cur);
  if (lines.length > maxLines) {
    const kept = lines.slice(0, maxLines);
    kept[maxLines - 1] = `${kept[maxLines - 1]!.slice(0, Math.max(0, perLine - 1))}…`;
    return kept.join('\n');
  }
  return lines.join('\n');
}

/**
 * ffmpeg arguments for a short video from a still: the image fills the frame (cover) and the camera pushes
 * in slowly (zoompan, 1.0 → 1.12 over the clip, frame-exact), with a silent stereo track so the clip
 * merges with others by stream copy. H.264 High + AAC 48 kHz, `+faststart`, exactly `durationSec`.
 */
export function buildStillVideoArgs(opts: {
  imageFile: string;
  durationSec: number;
  width: number;
  height: number;
  fps: number;
  outFile: string;
}): string[] {
  const { imageFile, durationSec, width, height, fps, outFile } = opts;
  const frames = Math.max(1, Math.round(durationSec * fps));
  // zoompan works on the input's pixels: upscale first so the push-in does not go soft
  const cover =
    `scale=${width * 2}:${height * 2}:force_original_aspect_ratio=increase,` +
    `crop=${width * 2}:${height * 2},setsar=1`;
  const zoom =
    `zoompan=z='1+0.12*on/${Math.max(1, frames - 1)}':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)'` +
    `:d=${frames}:s=${width}x${height}:fps=${fps}`;
  return [
    '-loop',
    '1',
    '-framerate',
    String(fps),
    '-t',
    sec(durationSec),
    '-i',
    imageFile,
    '-f',
    'lavfi',
    '-t',
    sec(durationSec),
    '-i',
    'anullsrc=channel_layout=stereo:sample_rate=48000',
    '-filter_complex',
    `[0:v]${cover},trim=end_frame=1,${zoom},format=yuv420p[v]`,
    '-map',
    '[v]',
    '-map',
    '1:a:0',
    '-frames:v',
    String(frames),
    ...clipOutputArgs({ durationSec, fps, outFile }),
  ];
}

export const MOODS = ['adventurous', 'family', 'nostalgic', 'reflective', 'calm', 'upbeat'] as const;
export type Mood = (typeof MOODS)[number];

// Equal-tempered frequencies of the notes the progressions use (octave 3-4).
const NOTE: Record<string, number> = {
  C3: 130.81,
  D3: 146.83,
  E3: 164.81,
  F3: 174.61,
  G3: 196.0,
  A3: 220.0,
  Bb3: 233.08,
  B3: 246.94,
  C4: 261.63,
  D4: 293.66,
  E4: 329.63,
  F4: 349.23,
  G4: 392.0,
  A4: 440.0,
};

/** Four chords (three notes each) per mood, one bar each. */
export const PROGRESSIONS: Record<Mood, string[][]> = {
  calm: [
    ['C3', 'E3', 'G3'],
    ['A3', 'C4', 'E4'],
    ['F3', 'A3', 'C4'],
    ['G3', 'B3', 'D4'],
  ],
  upbeat: [
    ['C4', 'E4', 'G4'],
    ['G3', 'B3', 'D4'],
    ['A3', 'C4', 'E4'],
    ['F3', 'A3', 'C4'],
  ],
  nostalgic: [
    ['A3', 'C4', 'E4'],
    ['F3', 'A3', 'C4'],
    ['C3', 'E3', 'G3'],
    ['G3', 'B3', 'D4'],
  ],
  reflective: [
    ['D3', 'F3', 'A3'],
    ['A3', 'C4', 'E4'],
    ['Bb3', 'D4', 'F4'],
    ['F3', 'A3', 'C4'],
  ],
  adventurous: [
    ['D3', 'F3', 'A3'],
    ['C3', 'E3', 'G3'],
    ['Bb3', 'D4', 'F4'],
    ['C4', 'E4', 'G4'],
  ],
  family: [
    ['F3', 'A3', 'C4'],
    ['C3', 'E3', 'G3'],
    ['D3', 'F3', 'A3'],
    ['Bb3', 'D4', 'F4'],
  ],
};

/**
 * ffmpeg arguments for music: the mood's four-chord progression, one bar (4 beats at `tempo`) per chord,
 * three sine voices with a soft pulse on every beat (stronger for upbeat/adventurous), synthesised by
 * `aevalsrc`, faded in and out, AAC 48 kHz stereo in M4A, exactly `durationSec` long.
 */
export function buildMusicArgs(opts: {
  mood: Mood;
  tempo: number;
  durationSec: number;
  outFile: string;
}): string[] {
  const { mood, tempo, durationSec, outFile } = opts;
  const beat = 60 / tempo;
  const bar = beat * 4;
  const chords = PROGRESSIONS[mood];
  // the frequency of voice v in the chord of the current bar: nested ifs over the bar index mod 4
  const freq = (v: number) =>
    chords
      .slice(0, -1)
      .reduceRight(
        (acc, chord, i) => `if(eq(mod(floor(t/${bar.toFixed(6)}),4),${i}),${NOTE[chord[v]!]},${acc})`,
        String(NOTE[chords.at(-1)![v]!]),
      );
  const pulse = mood === 'upbeat' || mood === 'adventurous' ? 0.55 : 0.3;
  const env = `(${(1 - pulse).toFixed(2)}+${pulse.toFixed(2)}*exp(-5*mod(t,${beat.toFixed(6)})))`;
  const voices = [0, 1, 2].map((v) => `sin(2*PI*t*${freq(v)})`);
  // a touch of stereo: the top voice a little right, the root a little left
  const left = `0.12*${env}*(1.2*${voices[0]}+${voices[1]}+0.8*${voices[2]})`;
  const right = `0.12*${env}*(0.8*${voices[0]}+${voices[1]}+1.2*${voices[2]})`;
  const fade = Math.min(2, durationSec / 4);
  return [
    '-f',
    'lavfi',
    '-i',
    `aevalsrc=exprs='${left}|${right}':s=48000:d=${sec(durationSec)}`,
    '-af',
    `afade=t=in:d=${sec(fade)},afade=t=out:st=${sec(durationSec - fade)}:d=${sec(fade)}`,
    '-t',
    sec(durationSec),
    ...aacAudioArgs({ bitrateKbps: 160 }),
    ...FASTSTART_ARGS,
    outFile,
  ];
}

/** espeak-ng arguments for speech: the text from `textFile`, `voice`, `wordsPerMinute`, a WAV file. */
export function buildSpeechArgs(opts: {
  textFile: string;
  voice: string;
  wordsPerMinute: number;
  outFile: string;
}): string[] {
  const { textFile, voice, wordsPerMinute, outFile } = opts;
  return ['-v', voice, '-s', String(wordsPerMinute), '-f', textFile, '-w', outFile];
}
