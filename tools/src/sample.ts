// Makes the bundled demo's sample: a two-sided phone call, caller on the left channel and callee on the
// right, each speaking in turn (espeak-ng voices, joined with sox), 8 kHz 16-bit like Twilio's
// dual-channel WAV.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SAMPLE_DIALOG: Array<{ side: 'caller' | 'callee'; text: string }> = [
  { side: 'caller', text: 'Hello, this is Sam from reelbus. Do you have a minute to talk about your order?' },
  { side: 'callee', text: 'Sure. I was wondering when it will arrive.' },
  { side: 'caller', text: 'It left our warehouse this morning, so you should have it on Thursday.' },
  { side: 'callee', text: 'That is great news. Thank you for calling!' },
];

const seconds = (file: string) => Number(execFileSync('soxi', ['-D', file], { encoding: 'utf8' }).trim());

export interface SampleCall {
  file: string;
  durationSec: number;
  /** When each side speaks, in seconds from the start. */
  turns: Array<{ side: 'caller' | 'callee'; start: number; end: number }>;
}

/** Writes the sample call to `file` (once; reused when present, with its turns in `<file>.json`). */
export function makeSampleCall(opts: {
  file: string;
  sampleRate?: number;
  dialog?: Array<{ side: 'caller' | 'callee'; text: string }>;
}): SampleCall {
  const { file, sampleRate = 8000, dialog = SAMPLE_DIALOG } = opts;
  const meta = `${file}.json`;
  if (existsSync(file) && existsSync(meta)) return JSON.parse(readFileSync(meta, 'utf8')) as SampleCall;
  mkdirSync(join(file, '..'), { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), 'reelbus-sample-'));
  try {
    const parts: Record<'caller' | 'callee', string[]> = { caller: [], callee: [] };
    const turns: SampleCall['turns'] = [];
    let t = 0;
    dialog.forEach((line, i) => {
      const raw = join(tmp, `line${i}.wav`);
      const voice = line.side === 'caller' ? 'en-us+m3' : 'en-gb+f3';
      execFileSync('espeak-ng', ['-v', voice, '-s', '150', '-w', raw, line.text]);
      const speech = join(tmp, `speech${i}.wav`);
      execFileSync('sox', [raw, '-r', String(sampleRate), '-c', '1', '-b', '16', speech, 'pad', '0', '0.4']);
      const length = seconds(speech);
      turns.push({ side: line.side, start: t, end: t + length - 0.4 });
      t += length;
      const gap = join(tmp, `gap${i}.wav`);
      execFileSync('sox', [
        '-n',
        '-r',
        String(sampleRate),
        '-c',
        '1',
        '-b',
        '16',
        gap,
        'trim',
        '0',
        String(seconds(speech)),
      ]);
      parts[line.side].push(speech);
      parts[line.side === 'caller' ? 'callee' : 'caller'].push(gap);
    });
    const left = join(tmp, 'left.wav');
    const right = join(tmp, 'right.wav');
    execFileSync('sox', [...parts.caller, left]);
    execFileSync('sox', [...parts.callee, right]);
    execFileSync('sox', ['-M', left, right, file]);
    const result: SampleCall = { file, durationSec: seconds(file), turns };
    writeFileSync(meta, JSON.stringify(result, null, 2));
    return result;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** A light picture with a busy middle (circles): Ken Burns shows as motion; the bottom-right corner stays light. */
export async function makePicture({
  file,
  width,
  height,
  hue,
}: {
  file: string;
  width: number;
  height: number;
  hue: number;
}): Promise<string> {
  const { default: sharp } = await import('sharp');
  const circles = Array.from({ length: 40 }, (_, i) => {
    const cx = Math.round(width * (0.22 + (0.56 * ((i * 37) % 100)) / 100));
    const cy = Math.round(height * (0.22 + (0.45 * ((i * 61) % 100)) / 100));
    return `<circle cx="${cx}" cy="${cy}" r="${Math.round(width / 30)}" fill="hsl(${(hue + i * 9) % 360},70%,${30 + (i % 3) * 15}%)"/>`;
  }).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#f4f4f4"/>${circles}</svg>`;
  await sharp(Buffer.from(svg)).toFile(file);
  return file;
}

export const SAMPLE_STORY_TEXT =
  'When I was nine, we drove to the sea every summer. My father sang the whole way, and my mother laughed at every wrong note.';

/** The demo story: a spoken recording (espeak-ng), a user photo and two "generated" images. */
export async function makeSampleStory(opts: {
  dir: string;
}): Promise<{ audio: string; userPhoto: string; images: string[] }> {
  const { dir } = opts;
  mkdirSync(dir, { recursive: true });
  const audio = join(dir, 'story.wav');
  if (!existsSync(audio))
    execFileSync('espeak-ng', ['-v', 'en-gb+f3', '-s', '160', '-w', audio, SAMPLE_STORY_TEXT]);
  const userPhoto = await makePicture({ file: join(dir, 'me.jpg'), width: 1200, height: 900, hue: 10 });
  const images = [
    await makePicture({ file: join(dir, 'ai-1.png'), width: 1344, height: 768, hue: 140 }),
    await makePicture({ file: join(dir, 'ai-2.png'), width: 1344, height: 768, hue: 260 }),
  ];
  return { audio, userPhoto, images };
}
