// Test helpers for the encoder (not exported from the package barrel).
import { spawnSync } from 'node:child_process';
import type { TimelineInput } from '@reelbus/contracts';
import { recordingContext, type RecordingContext } from '@reelbus/kit/testing';

export type { PublishedRecord as Published } from '@reelbus/kit/testing';

/** A HandlerContext that records what a handler publishes (data validated like the real bus does). */
export const fakeHandlerContext = (): RecordingContext => recordingContext();

export { frameDifferences } from '@reelbus/kit/testing';

/** Mean volume (dBFS) of `file` between `start` and `start + duration` after the audio filter `af`. */
export function meanVolumeDb(opts: { file: string; start: number; duration: number; af?: string }): number {
  const { file, start, duration, af } = opts;
  const res = spawnSync(
    'ffmpeg',
    [
      '-hide_banner',
      '-nostats',
      '-ss',
      String(start),
      '-t',
      String(duration),
      '-i',
      file,
      '-vn',
      '-af',
      [af, 'volumedetect'].filter(Boolean).join(','),
      '-f',
      'null',
      '-',
    ],
    { encoding: 'utf8' },
  );
  const m = /mean_volume: (-?[\d.]+|-inf) dB/.exec(String(res.stderr));
  if (res.status !== 0 || !m)
    throw new Error(`volumedetect failed on ${file}: ${String(res.stderr).slice(-500)}`);
  return m[1] === '-inf' ? -Infinity : Number(m[1]);
}

/**
 * A story Timeline shaped like the compositor's: warm background, logo intro/outro, images with fades
 * (and Ken Burns when `motion`), the corner logo at 80 %, voice after the intro and music under it.
 */
export function storyTimelineInput(opts: {
  voiceKey: string;
  musicKey?: string;
  imageKeys: string[];
  logoKey: string;
  motion?: boolean;
  introSeconds?: number;
  storySeconds?: number;
  outroSeconds?: number;
  musicGainDb?: number;
  allowDegradation?: boolean;
}): TimelineInput {
  const {
    voiceKey,
    musicKey,
    imageKeys,
    logoKey,
    motion = false,
    introSeconds = 3,
    storySeconds = 6,
    outroSeconds = 2,
    musicGainDb = -25,
    allowDegradation = false,
  } = opts;
  const total = introSeconds + storySeconds + outroSeconds;
  const per = storySeconds / Math.max(1, imageKeys.length);
  const centred = { x: 660, y: 240, width: 600, height: 600 };
  return {
    version: 1,
    output: { width: 1920, height: 1080, fps: 30 },
    duration: total,
    background: '#000000',
    allowDegradation,
    tracks: [
      { name: 'background', clips: [{ type: 'color', color: '#f4e3c9', start: 0, duration: total }] },
      {
        name: 'images',
        clips: imageKeys.map((key, i) => ({
          type: 'image' as const,
          source: { key },
          start: introSeconds + i * per,
          duration: per + (i < imageKeys.length - 1 ? 0.5 : 0),
          fit: 'cover' as const,
          fadeIn: i === 0 ? 0 : 0.5,
          fadeOut: 0.5,
          ...(motion
            ? {
                motion: {
                  type: 'kenburns' as const,
                  from: { zoom: 1, x: 0.5, y: 0.5 },
                  to: { zoom: 1.2, x: i % 2 ? 0 : 1, y: 0.5 },
                },
              }
            : {}),
        })),
      },
      {
        name: 'brand',
        clips: [
          {
            type: 'image',
            source: { key: logoKey },
            start: 0,
            duration: introSeconds,
            position: centred,
            fadeOut: 0.3,
          },
          {
            type: 'image',
            source: { key: logoKey },
            start: introSeconds,
            duration: storySeconds,
            position: { x: 1700, y: 880, width: 180, height: 160 },
            opacity: 0.8,
          },
          {
            type: 'image',
            source: { key: logoKey },
            start: total - outroSeconds,
            duration: outroSeconds,
            position: centred,
            fadeIn: 0.3,
          },
        ],
      },
    ],
    audio: [
      { name: 'voice', source: { key: voiceKey }, start: introSeconds },
      ...(musicKey ? [{ name: 'music', source: { key: musicKey }, gainDb: musicGainDb }] : []),
    ],
  };
}
