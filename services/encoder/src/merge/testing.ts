// Fixtures and checks for the merge tests (real ffmpeg, small frames).
import { execFileSync, spawnSync } from 'node:child_process';

/** A 2 s (by default) test clip: testsrc2 picture, a 440 Hz tone, x264 veryfast + AAC, with extra flags. */
export function makeClip(opts: {
  file: string;
  seconds?: number;
  width?: number;
  height?: number;
  fps?: number;
  sampleRate?: number;
  /** Picture encoder flags (default x264 veryfast crf 23 yuv420p). */
  video?: string[];
  /** Sound encoder flags (default AAC stereo); null: no sound. */
  audio?: string[] | null;
  /** Sound source (lavfi), default a tone as long as the picture. */
  audioSource?: string;
  /** Output flags (maps, -vf, …). */
  extra?: string[];
}): string {
  const { file, seconds = 2, width = 320, height = 240, fps = 25, sampleRate = 48000, extra = [] } = opts;
  const video = opts.video ?? ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p'];
  const audio = opts.audio === null ? null : (opts.audio ?? ['-c:a', 'aac', '-ac', '2']);
  const source = opts.audioSource ?? `sine=frequency=440:sample_rate=${sampleRate}:duration=${seconds}`;
  execFileSync('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${width}x${height}:rate=${fps}:duration=${seconds}`,
    ...(audio ? ['-f', 'lavfi', '-i', source] : []),
    ...video,
    ...(audio ?? ['-an']),
    ...extra,
    file,
  ]);
  return file;
}

/** ffmpeg's own `-f concat -c copy` join, as the reference merger ran it. */
export function naiveJoin({
  files,
  list,
  output,
}: {
  files: string[];
  list: string;
  output: string;
}): string {
  execFileSync('bash', ['-c', `printf "%s\\n" ${files.map((f) => `"file '${f}'"`).join(' ')} > '${list}'`]);
  execFileSync('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-f',
    'concat',
    '-safe',
    '0',
    '-i',
    list,
    '-c',
    'copy',
    output,
  ]);
  return output;
}

/** Lines ffmpeg prints at `-v error` while decoding the whole file (0 for a clean file). */
export function decodeErrors(file: string, map = '0'): number {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-map', map, '-f', 'null', '-'], {
    encoding: 'utf8',
  });
  return (
    String(r.stderr)
      .split('\n')
      .filter((l) => l.trim()).length + (r.status === 0 ? 0 : 1)
  );
}

/** md5 of every decoded picture, in order. */
export function frameHashes(file: string): string[] {
  const out = execFileSync('ffmpeg', ['-v', 'quiet', '-i', file, '-map', '0:v:0', '-f', 'framemd5', '-'], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return out
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(',').at(-1)!.trim());
}

/** The picture with in-band SPS/PPS removed: what a player that follows `avc1` (parameter sets only in the sample entry) decodes. */
export function stripInBandParameterSets({ file, output }: { file: string; output: string }): string {
  execFileSync('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-i',
    file,
    '-map',
    '0:v:0',
    '-c',
    'copy',
    '-bsf:v',
    'filter_units=remove_types=7|8',
    output,
  ]);
  return output;
}

/** Distinct values of per-frame fields of a stream (`-show_frames`), e.g. ['320x240', '640x480']. */
export function frameValues({
  file,
  stream,
  entries,
}: {
  file: string;
  stream: 'v' | 'a';
  entries: string;
}): string[] {
  const out = execFileSync(
    'ffprobe',
    [
      '-v',
      'error',
      '-select_streams',
      `${stream}:0`,
      '-show_entries',
      `frame=${entries}`,
      '-of',
      'csv=p=0',
      file,
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  return [
    ...new Set(
      out
        .split('\n')
        .map((l) => l.split(',side_data')[0]!.replace(/,+$/, '').trim())
        .filter(Boolean),
    ),
  ];
}

/** Stream durations (video, audio) and the container's, from ffprobe. */
export function durations(file: string): { format: number; video?: number; audio?: number } {
  const j = JSON.parse(
    execFileSync(
      'ffprobe',
      ['-v', 'error', '-of', 'json', '-show_entries', 'format=duration:stream=codec_type,duration', file],
      {
        encoding: 'utf8',
      },
    ),
  ) as { format: { duration: string }; streams: Array<{ codec_type: string; duration?: string }> };
  const d = (t: string) => {
    const s = j.streams.find((x) => x.codec_type === t)?.duration;
    return s === undefined ? undefined : Number(s);
  };
  const out: { format: number; video?: number; audio?: number } = { format: Number(j.format.duration) };
  const v = d('video');
  const a = d('audio');
  if (v !== undefined) out.video = v;
  if (a !== undefined) out.audio = a;
  return out;
}

/** Seconds of decoded sound (samples actually played), mono-mixed at 48 kHz. */
export function decodedAudioSeconds(file: string): number {
  const out = execFileSync(
    'ffmpeg',
    ['-v', 'error', '-i', file, '-map', '0:a:0', '-ac', '1', '-ar', '48000', '-f', 's16le', '-'],
    {
      maxBuffer: 512 * 1024 * 1024,
    },
  );
  return out.length / 2 / 48000;
}

/** Times (s) where a loud click starts after at least `gapSec` of quiet, in the decoded sound. */
export function clickOnsets(file: string, { threshold = 0.3, gapSec = 0.2 } = {}): number[] {
  const pcm = execFileSync(
    'ffmpeg',
    ['-v', 'error', '-i', file, '-map', '0:a:0', '-ac', '1', '-ar', '48000', '-f', 's16le', '-'],
    {
      maxBuffer: 512 * 1024 * 1024,
    },
  );
  const onsets: number[] = [];
  let lastLoud = -Infinity;
  for (let i = 0; i < pcm.length / 2; i++) {
    const x = Math.abs(pcm.readInt16LE(i * 2)) / 32768;
    if (x >= threshold) {
      if (i - lastLoud > gapSec * 48000) onsets.push(i / 48000);
      lastLoud = i;
    }
  }
  return onsets;
}
