import { FASTSTART_ARGS } from '@reelbus/kit';

/**
 * Joining chunks: the concat demuxer's list file and the stream-copy join that muxes the audio
 * rendered once for the whole Timeline. Pure; the chunked-render orchestration runs them.
 */

/** The concat demuxer's list: one `file '<path>'` line per chunk, in order, quotes escaped. */
export function concatList(files: readonly string[]): string {
  return files.map((f) => `file '${f.replace(/'/g, `'\\''`)}'\n`).join('');
}

/**
 * ffmpeg arguments that join video-only chunks (listed in `list`, a `concatList` file) with the
 * whole Timeline's audio by stream copy — no decode, no second encode — and move `moov` first.
 * Chunks must come from the same encoder settings (the concat demuxer trusts that they match).
 */
export function buildChunkJoinArgs({
  list,
  audio,
  output,
}: {
  list: string;
  /** The audio-only render (`streams: 'audio'`), or none for a silent join. */
  audio?: string;
  output: string;
}): string[] {
  return [
    '-f',
    'concat',
    '-safe',
    '0',
    '-i',
    list,
    ...(audio ? ['-i', audio] : []),
    '-map',
    '0:v:0',
    ...(audio ? ['-map', '1:a:0'] : []),
    '-c',
    'copy',
    ...FASTSTART_ARGS,
    output,
  ];
}
