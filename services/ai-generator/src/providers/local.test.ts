import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probe, silentLogger } from '@reelbus/kit';
import { makeSpeech, probeFacts } from '@reelbus/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_FACES } from '../handle-clip-requested.ts';
import { frameDifference, greyFrame } from '../testing/fixtures.ts';
import { buildSpeakerCardArgs, createLocalProvider } from './local.ts';

describe('buildSpeakerCardArgs', () => {
  const base = {
    audioPath: '/in/caller.wav',
    labelFile: '/w/label.txt',
    outFile: '/w/out.mp4',
    durationSec: 12.345,
    width: 640,
    height: 720,
    role: 'caller' as const,
  };

  it('loops the face image at 25 fps and muxes the channel audio as AAC 48 kHz', () => {
    const args = buildSpeakerCardArgs({ ...base, imagePath: '/img/face.png' });
    expect(args.slice(0, 6)).toEqual(['-loop', '1', '-framerate', '25', '-i', '/img/face.png']);
    expect(args).toContain('/in/caller.wav');
    const pair = (flag: string) => args[args.indexOf(flag) + 1];
    expect(pair('-t')).toBe('12.345');
    expect(pair('-c:v')).toBe('libx264');
    expect(pair('-pix_fmt')).toBe('yuv420p');
    expect(pair('-c:a')).toBe('aac');
    expect(pair('-ar')).toBe('48000');
    expect(pair('-movflags')).toBe('+faststart');
    expect(args.filter((a, i) => args[i - 1] === '-map')).toEqual(['[v]', '1:a:0']);
    expect(args.at(-1)).toBe('/w/out.mp4');
  });

  it('draws a waveform of the speaker under the face and the label from a file', () => {
    const args = buildSpeakerCardArgs({ ...base, imagePath: '/img/face.png' });
    const graph = args[args.indexOf('-filter_complex') + 1] ?? '';
    expect(graph).toContain('[1:a]aformat=channel_layouts=mono,showwaves=s=640x158');
    expect(graph).toContain('scale=640:562:force_original_aspect_ratio=decrease');
    expect(graph).toContain('vstack=inputs=2');
    expect(graph).toContain("textfile='/w/label.txt'");
    expect(graph).toContain("fontfile='/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf'");
  });

  it('uses a colour card when there is no face image, and no waveform for placeholders', () => {
    const args = buildSpeakerCardArgs({ ...base, waveform: false, noteFile: '/w/note.txt' });
    expect(args.slice(0, 4)).toEqual(['-f', 'lavfi', '-i', 'color=c=0x1f3b5c:s=640x720:r=25']);
    const graph = args[args.indexOf('-filter_complex') + 1] ?? '';
    expect(graph).not.toContain('showwaves');
    expect(graph).toContain("textfile='/w/note.txt'");
  });

  it('escapes colons in file paths for the filter graph', () => {
    const args = buildSpeakerCardArgs({ ...base, labelFile: '/w/a:b/label.txt' });
    expect(args[args.indexOf('-filter_complex') + 1]).toContain("textfile='/w/a\\:b/label.txt'");
  });
});

describe('local provider', () => {
  let dir: string;
  let audio: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aigen-local-'));
    audio = await makeSpeech({
      text: 'Hello, this is the caller. I would like to talk about my order, it has not arrived yet.',
      file: join(dir, 'caller.wav'),
      sampleRate: 48_000,
    });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('renders an H.264 640x720 clip as long as the audio, whose waveform moves with the speaker', async () => {
    const provider = createLocalProvider({ width: 640, height: 720 });
    const audioDuration = (await probe(audio)).durationSec;
    const clip = await provider.generate({
      audioPath: audio,
      imagePath: BUNDLED_FACES.caller,
      durationSec: audioDuration,
      label: 'Caller',
      role: 'caller',
      outDir: dir,
      signal: new AbortController().signal,
      logger: silentLogger(),
    });
    const facts = probeFacts(clip.file);
    expect(facts.video).toMatchObject({ codec: 'h264', pixFmt: 'yuv420p', width: 640, height: 720, fps: 25 });
    expect(facts.audio).toMatchObject({ codec: 'aac', sampleRate: 48_000 });
    expect(Math.abs(facts.durationSec - audioDuration)).toBeLessThanOrEqual(0.04);

    const strip = { x: 0, y: 562, width: 640, height: 158 };
    const early = greyFrame({ file: clip.file, at: 0.8, crop: strip });
    const later = greyFrame({ file: clip.file, at: 2.6, crop: strip });
    expect(frameDifference(early, later)).toBeGreaterThan(0.5);
    // the face above the strip stays still: the motion is the speaker's waveform
    const face = { x: 0, y: 0, width: 640, height: 400 };
    expect(
      frameDifference(
        greyFrame({ file: clip.file, at: 0.8, crop: face }),
        greyFrame({ file: clip.file, at: 2.6, crop: face }),
      ),
    ).toBeLessThan(0.5);
  });
});
