import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe } from '../ffmpeg/probe.ts';
import { makeImage, makeMono, makeSilence, makeStereoCall, makeTone } from './fixtures.ts';

const exec = promisify(execFile);
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelbus-fixtures-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Peak amplitude (0-1) of one channel (1-based) between two times, measured by sox. */
async function peak(file: string, channel: number, startSec: number, endSec: number): Promise<number> {
  const { stderr } = await exec('sox', [
    file,
    '-n',
    'remix',
    String(channel),
    'trim',
    String(startSec),
    `=${endSec}`,
    'stat',
  ]);
  const m = /Maximum amplitude:\s+([\d.]+)/.exec(stderr);
  if (!m) throw new Error(`no sox stat output: ${stderr}`);
  return Number(m[1]);
}

describe('fixtures', () => {
  it('makes a stereo call where each side speaks on its own channel while the other is silent', async () => {
    const call = await makeStereoCall({
      dir,
      left: 'I am the caller.',
      right: 'And I am the callee.',
      sampleRate: 8000,
    });
    const info = await probe(call.file);
    expect(info.audio).toMatchObject({ channels: 2, sampleRate: 8000, codec: 'pcm_s16le' });
    const { left, right } = call;
    if (!left || !right) throw new Error('both sides should speak');
    expect(await peak(call.file, 1, left.startSec, left.endSec)).toBeGreaterThan(0.1);
    expect(await peak(call.file, 2, left.startSec, left.endSec)).toBe(0);
    expect(await peak(call.file, 2, right.startSec, right.endSec)).toBeGreaterThan(0.1);
    expect(await peak(call.file, 1, right.startSec, right.endSec)).toBe(0);
  });

  it('pads a call to durationSec and leaves an unspoken side silent', async () => {
    const call = await makeStereoCall({
      dir,
      file: join(dir, 'one-sided.wav'),
      left: 'Hello?',
      durationSec: 3,
    });
    expect(Math.abs(call.durationSec - 3)).toBeLessThan(0.01);
    expect(await peak(call.file, 2, 0, 3)).toBe(0);
    expect(call.right).toBeUndefined();
  });

  it('makes tones, silence, mono speech and images that ffprobe reads', async () => {
    const tone = await probe(await makeTone({ file: join(dir, 't.wav'), seconds: 1.5, channels: 2 }));
    expect(tone.audio).toMatchObject({ channels: 2, sampleRate: 48000 });
    expect(tone.durationSec).toBeCloseTo(1.5, 2);
    const silence = join(dir, 's.wav');
    await makeSilence({ file: silence, seconds: 1 });
    expect(await peak(silence, 1, 0, 1)).toBe(0);
    const mono = await probe(await makeMono({ file: join(dir, 'm.wav') }));
    expect(mono.audio).toMatchObject({ channels: 1, sampleRate: 48000 });
    const img = await probe(await makeImage({ file: join(dir, 'i.png'), width: 200, height: 100 }));
    expect(img.video).toMatchObject({ codec: 'png', width: 200, height: 100 });
  });
});
