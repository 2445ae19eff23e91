import type { Timeline } from '@reelbus/contracts';

/** The deterministic key of a job's poster frame: a redelivered render overwrites it. */
export function posterKey(jobId: string): string {
  return `jobs/${jobId}/poster.jpg`;
}

/**
 * When the poster frame is taken, in seconds, or undefined when the Timeline asks for none:
 * `poster: true` → 1 s in (the middle of a shorter video), `{ at }` → that time, kept inside the video.
 */
export function posterTime({
  timeline,
  durationSec,
}: {
  timeline: Timeline;
  durationSec: number;
}): number | undefined {
  const p = timeline.output.poster;
  if (p === false) return undefined;
  const lastFrame = Math.max(0, durationSec - 1 / timeline.output.fps);
  const at = p === true ? Math.min(1, durationSec / 2) : p.at;
  return Math.min(Math.max(0, at), lastFrame);
}

/**
 * ffmpeg arguments that take one frame of the finished video at `atSec` as a JPEG (quality 2 of
 * 2-31). Read from the final MP4, so a chunked render and a single pass get their poster alike.
 */
export function buildPosterArgs({
  input,
  atSec,
  output,
}: {
  input: string;
  atSec: number;
  output: string;
}): string[] {
  return [
    '-ss',
    atSec.toFixed(3),
    '-i',
    input,
    '-map',
    '0:v:0',
    '-frames:v',
    '1',
    '-q:v',
    '2',
    '-f',
    'image2',
    '-c:v',
    'mjpeg',
    output,
  ];
}
