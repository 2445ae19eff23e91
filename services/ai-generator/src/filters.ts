/**
 * Quotes a file path for use as a filter option value inside a -filter_complex graph:
 * `\` and `:` are escaped for the option level, single quotes protect `,;[]` at the graph level.
 */
export function filterPath(path: string): string {
  if (path.includes("'"))
    throw new Error(`cannot use a path with a single quote in an ffmpeg filter: ${path}`);
  return `'${path.replace(/\\/g, '\\\\').replace(/:/g, '\\:')}'`;
}

/** Seconds as ffmpeg reads them: fixed decimals, no exponent. */
export function sec(value: number): string {
  return value.toFixed(3);
}

/** The output half of every clip command: exact length, H.264 High yuv420p, AAC-LC 48 kHz stereo, faststart. */
export function clipOutputArgs({
  durationSec,
  fps,
  outFile,
}: {
  durationSec: number;
  fps: number;
  outFile: string;
}): string[] {
  return [
    '-t',
    sec(durationSec),
    '-r',
    String(fps),
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-profile:v',
    'high',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-b:a',
    '128k',
    '-ar',
    '48000',
    '-ac',
    '2',
    '-movflags',
    '+faststart',
    outFile,
  ];
}
