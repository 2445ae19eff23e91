import { deliveryOutputArgs } from '@reelbus/kit';

/** Seconds as ffmpeg reads them: fixed decimals, no exponent. */
export function sec(value: number): string {
  return value.toFixed(3);
}

/**
 * The output half of every clip command: exact length, then the kit's delivery preset (H.264 High
 * yuv420p veryfast CRF 23 at `fps`, AAC-LC 128k 48 kHz stereo, faststart).
 */
export function clipOutputArgs({
  durationSec,
  fps,
  outFile,
}: {
  durationSec: number;
  fps: number;
  outFile: string;
}): string[] {
  return ['-t', sec(durationSec), ...deliveryOutputArgs({ video: { fps } }), outFile];
}
