// Test support (not used by the service): a HandlerContext that records what a handler does,
// validating published events against the contracts like the real Bus does; story fixtures.
import type { EventOf, EventType } from '@reelbus/contracts';
import type { HandlerContext } from '@reelbus/kit';
import { recordingContext as kitRecordingContext, testEvent } from '@reelbus/kit/testing';
import sharp from 'sharp';

export interface RecordedContext {
  ctx: HandlerContext;
  /** The envelopes the handler published. */
  published: EventOf<EventType>[];
  warnings: { step: string; message: string }[];
}

export function recordingContext(): RecordedContext {
  const ctx = kitRecordingContext();
  return { ctx, published: ctx.events, warnings: ctx.warnings };
}

/** A validated story.received event. */
export function storyReceived(opts: { jobId: string; data: unknown }): EventOf<'story.received'> {
  return testEvent('story.received', opts.jobId, opts.data);
}

/**
 * A landscape JPEG stored sideways: blue, with a red square in its stored top-left corner, and EXIF
 * orientation 6 ("rotate 90° clockwise to display"). Shown upright it is portrait, red at top-right.
 */
export async function makeSidewaysJpeg(opts: {
  file: string;
  width?: number;
  height?: number;
}): Promise<string> {
  const { file, width = 640, height = 480 } = opts;
  await sharp({ create: { width, height, channels: 3, background: '#2040ff' } })
    .composite([
      { input: { create: { width: 100, height: 100, channels: 3, background: '#ff0000' } }, left: 0, top: 0 },
    ])
    .jpeg()
    .withMetadata({ orientation: 6 })
    .toFile(file);
  return file;
}

/** A PNG whose left half is fully transparent and right half opaque green. */
export async function makeHalfTransparentPng(opts: {
  file: string;
  width?: number;
  height?: number;
}): Promise<string> {
  const { file, width = 400, height = 300 } = opts;
  await sharp({ create: { width, height, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
    .composite([
      {
        input: {
          create: { width: width / 2, height, channels: 4, background: { r: 0, g: 200, b: 0, alpha: 1 } },
        },
        left: width / 2,
        top: 0,
      },
    ])
    .png()
    .toFile(file);
  return file;
}

/** RGB of the pixel at (x, y) of an image file. */
export async function pixelAt(opts: {
  file: string;
  x: number;
  y: number;
}): Promise<[number, number, number]> {
  const { file, x, y } = opts;
  const { data } = await sharp(file)
    .extract({ left: x, top: y, width: 1, height: 1 })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return [data[0]!, data[1]!, data[2]!];
}

/** True when two colours are within `tolerance` per channel (JPEG is lossy). */
export function near(a: readonly number[], b: readonly number[], tolerance = 24): boolean {
  return a.every((v, i) => Math.abs(v - b[i]!) <= tolerance);
}
