import { execFileSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { runFfmpeg } from '@reelbus/kit';
import { makeSpeech } from '@reelbus/kit/testing';

/** A mono 48 kHz channel: two or more espeak-ng phrases separated by `pauseSec` of digital silence. */
export async function makeChannel(opts: {
  file: string;
  phrases: string[];
  pauseSec?: number;
}): Promise<string> {
  const { file, phrases, pauseSec = 1 } = opts;
  if (phrases.length < 2) throw new Error('makeChannel needs at least two phrases');
  const parts = await Promise.all(
    phrases.map((text, i) => makeSpeech({ text, file: `${file}.part${i}.wav`, sampleRate: 48_000 })),
  );
  try {
    const n = parts.length;
    const gaps = Array.from({ length: n - 1 }, (_, i) => `[s${i}]`);
    const graph = [
      `anullsrc=r=48000:cl=mono,atrim=duration=${pauseSec},asplit=${n - 1}${gaps.join('')}`,
      ...parts.map((_, i) => `[${i}:a]aformat=sample_rates=48000:channel_layouts=mono[p${i}]`),
      `${parts.map((_, i) => (i < n - 1 ? `[p${i}][s${i}]` : `[p${i}]`)).join('')}concat=n=${2 * n - 1}:v=0:a=1[out]`,
    ].join(';');
    await runFfmpeg({
      step: 'fixture-channel',
      args: [
        ...parts.flatMap((p) => ['-i', p]),
        '-filter_complex',
        graph,
        '-map',
        '[out]',
        '-c:a',
        'pcm_s16le',
        file,
      ],
    });
  } finally {
    await Promise.all(parts.map((p) => rm(p, { force: true })));
  }
  return file;
}

/** The frame at `at` seconds as raw 8-bit grey pixels (optionally a crop), to compare two moments of a video. */
export function greyFrame(opts: {
  file: string;
  at: number;
  crop?: { x: number; y: number; width: number; height: number };
}): Buffer {
  const { file, at, crop } = opts;
  const vf = [crop ? `crop=${crop.width}:${crop.height}:${crop.x}:${crop.y}` : '', 'format=gray']
    .filter(Boolean)
    .join(',');
  return execFileSync(
    'ffmpeg',
    ['-v', 'error', '-ss', String(at), '-i', file, '-frames:v', '1', '-vf', vf, '-f', 'rawvideo', '-'],
    {
      maxBuffer: 64 * 1024 * 1024,
    },
  );
}

/** Mean absolute difference (0-255) of two equally sized grey frames. */
export function frameDifference(a: Buffer, b: Buffer): number {
  if (a.length !== b.length || a.length === 0)
    throw new Error(`frames differ in size (${a.length} vs ${b.length})`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] as number) - (b[i] as number));
  return sum / a.length;
}
