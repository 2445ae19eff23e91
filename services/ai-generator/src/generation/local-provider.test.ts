import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@reelbus/kit';
import { makeSpeech, motionEnergy, probeFacts } from '@reelbus/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelRegistry } from '../models/registry.ts';
import { createLocalGenerationProvider } from './local-provider.ts';
import type { RunRequest } from './types.ts';

const registry = loadModelRegistry();
const local = createLocalGenerationProvider();
let dir: string;
let n = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aigen-local-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs `model` with `params` (validated by the registry, so defaults apply) in a fresh directory. */
async function run(model: string, params: Record<string, unknown>, mediaFiles: Record<string, string> = {}) {
  const checked = registry.validateParams(model, params);
  if (!checked.ok) throw new Error(checked.message);
  const outDir = join(dir, `run-${++n}`);
  await mkdir(outDir, { recursive: true });
  const req: RunRequest = {
    jobId: `job-${n}`,
    model: registry.get(model),
    params: checked.params,
    mediaFiles,
    mediaUrls: {},
    outDir,
    signal: new AbortController().signal,
    logger: silentLogger(),
  };
  return local.run(req);
}

const sha = async (file: string) =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');

describe('the local provider, checked with ffprobe', () => {
  it('draws an image of the asked size, the same picture for the same prompt and another for another', async () => {
    const a = await run('local-image', { prompt: 'a lighthouse at dusk', width: 640, height: 360 });
    const b = await run('local-image', { prompt: 'a lighthouse at dusk', width: 640, height: 360 });
    const c = await run('local-image', { prompt: 'a field of sunflowers', width: 640, height: 360 });
    const file = a.files[0]!.path;
    expect(a.files[0]?.role).toBe('image');
    expect(probeFacts(file).video).toMatchObject({ codec: 'png', width: 640, height: 360 });
    expect(await sha(b.files[0]!.path)).toBe(await sha(file));
    expect(await sha(c.files[0]!.path)).not.toBe(await sha(file));
  });

  it('makes a video of the asked duration from a prompt: H.264 High, AAC 48 kHz stereo, the camera moving', async () => {
    const r = await run('local-video', {
      prompt: 'waves on a beach',
      duration: 2.4,
      width: 320,
      height: 180,
    });
    const facts = probeFacts(r.files[0]!.path);
    expect(facts.video).toMatchObject({ codec: 'h264', width: 320, height: 180, fps: 25 });
    expect(facts.audio).toMatchObject({ codec: 'aac', sampleRate: 48000, channels: 2 });
    expect(Math.abs(facts.durationSec - 2.4)).toBeLessThanOrEqual(0.05);
    // the push-in moves every frame a little
    const motion = motionEnergy({
      file: r.files[0]!.path,
      rect: { x: 0, y: 0, width: 320, height: 180 },
      start: 0,
      duration: 2,
    });
    expect(motion).toBeGreaterThan(0.05);
  });

  it('makes a video from a given image', async () => {
    const image = await run('local-image', { prompt: 'a red barn', width: 400, height: 400 });
    const r = await run(
      'local-video',
      { image: 'ignored-key', duration: 1 },
      { image: image.files[0]!.path },
    );
    const facts = probeFacts(r.files[0]!.path);
    expect(facts.video).toMatchObject({ codec: 'h264', width: 1280, height: 720 });
    expect(Math.abs(facts.durationSec - 1)).toBeLessThanOrEqual(0.05);
  });

  it('synthesises music at the asked length, louder than silence, and different per mood', async () => {
    const calm = await run('local-music', { mood: 'calm', tempo: 90, duration: 5 });
    const upbeat = await run('local-music', { mood: 'upbeat', tempo: 140, duration: 5 });
    const facts = probeFacts(calm.files[0]!.path);
    expect(facts.audio).toMatchObject({ codec: 'aac', sampleRate: 48000, channels: 2 });
    expect(Math.abs(facts.durationSec - 5)).toBeLessThanOrEqual(0.05);
    expect(await sha(upbeat.files[0]!.path)).not.toBe(await sha(calm.files[0]!.path));
  });

  it('speaks text whose duration grows with it, about 150 words a minute (± 40 %)', async () => {
    const sentence = 'The quick brown fox jumps over the lazy dog near the quiet river bank.';
    const short = await run('local-speech', { text: sentence });
    const long = await run('local-speech', { text: Array.from({ length: 4 }, () => sentence).join(' ') });
    const shortSec = probeFacts(short.files[0]!.path).durationSec;
    const longSec = probeFacts(long.files[0]!.path).durationSec;
    expect(longSec).toBeGreaterThan(shortSec * 3);
    const words = 4 * sentence.split(' ').length;
    const wpm = words / (longSec / 60);
    expect(wpm).toBeGreaterThan(150 * 0.6);
    expect(wpm).toBeLessThan(150 * 1.4);
    expect(long.facts.characters).toBe(4 * sentence.length + 3);
  });

  it('fails with a clear reason when espeak-ng has no such voice', async () => {
    await expect(run('local-speech', { text: 'hello', voice: 'zz-nope' })).rejects.toThrow(
      /no voice "zz-nope"/,
    );
  });

  it('makes an avatar clip as long as its audio', async () => {
    const audio = await makeSpeech({ text: 'Hello there, I am the avatar.', file: join(dir, 'avatar.wav') });
    const r = await run('local-avatar', { audio: 'k', label: 'Host' }, { audio });
    const facts = probeFacts(r.files[0]!.path);
    expect(facts.video).toMatchObject({ codec: 'h264', width: 640, height: 720 });
    expect(Math.abs(facts.durationSec - probeFacts(audio).durationSec)).toBeLessThanOrEqual(0.05);
  });
});
