import { FASTSTART_ARGS } from '@reelbus/kit';
import { deliveryAudioArgs, deliveryVideoArgs } from '../delivery.ts';
import type { AudioTarget, ClipPlan, VideoTarget } from './compare.ts';
import type { ClipProbe } from './probe.ts';

/*
 * Every ffmpeg command of a merge, as pure functions of the plan (tests assert the exact flags).
 */

/** Seconds as ffmpeg reads them: fixed, no exponent, trailing zeros trimmed. */
export function seconds(s: number): string {
  return s.toFixed(6).replace(/\.?0+$/, '') || '0';
}

/** One ffmpeg run that copies each input's first audio stream to an ADTS file (no decode). */
export function extractAudioArgs({
  inputs,
}: {
  inputs: ReadonlyArray<{ file: string; streamIndex: number; output: string }>;
}): string[] {
  return [
    ...inputs.flatMap((i) => ['-i', i.file]),
    ...inputs.flatMap((i, n) => ['-map', `${n}:${i.streamIndex}`, '-c', 'copy', '-f', 'adts', i.output]),
  ];
}

/** A short stretch of AAC-LC silence (ADTS) at the target format: its frames fill clips without sound. */
export function silenceArgs({ audio, output }: { audio: AudioTarget; output: string }): string[] {
  return [
    '-f',
    'lavfi',
    '-i',
    `anullsrc=r=${audio.sampleRate}:cl=${audio.channelLayout === 'mono' ? 'mono' : 'stereo'}`,
    '-t',
    '0.25',
    ...deliveryAudioArgs({ sampleRate: audio.sampleRate, channels: audio.channels }),
    '-f',
    'adts',
    output,
  ];
}

/** A concat demuxer list (`ffconcat`): each file with its exact picture duration, so joins land on frame times. */
export function concatList(
  entries: ReadonlyArray<{ file: string; durationSec: number; inpointSec?: number }>,
): string {
  const quote = (p: string) => `'${p.replace(/'/g, `'\\''`)}'`;
  return [
    'ffconcat version 1.0',
    ...entries.flatMap((e) => [
      `file ${quote(e.file)}`,
      ...(e.inpointSec ? [`inpoint ${seconds(e.inpointSec)}`] : []),
      `duration ${seconds(e.durationSec)}`,
    ]),
    '',
  ].join('\n');
}

/**
 * The join: the clips' pictures through the concat demuxer and the joined ADTS sound, both copied,
 * `moov` first. `-copyts` keeps the concat demuxer's timestamps (else ffmpeg shifts the whole input
 * by the first clip's audio priming, and the picture starts 21 ms late); the sound is offset by its
 * preroll so the output's edit list hides the first clip's priming.
 */
export function joinArgs({
  listFile,
  audioFile,
  prerollSec,
  output,
}: {
  listFile: string;
  audioFile: string;
  prerollSec: number;
  output: string;
}): string[] {
  return [
    '-copyts',
    '-f',
    'concat',
    '-safe',
    '0',
    '-i',
    listFile,
    ...(prerollSec > 0 ? ['-itsoffset', `-${seconds(prerollSec)}`] : []),
    '-f',
    'aac',
    '-i',
    audioFile,
    '-map',
    '0:v:0',
    '-map',
    '1:a:0',
    '-c',
    'copy',
    '-map_metadata',
    '-1',
    '-map_chapters',
    '-1',
    ...FASTSTART_ARGS,
    '-f',
    'mp4',
    output,
  ];
}

/** The filter chain that fits any picture into the target: square pixels, letterboxed, target rate and colour tags. */
export function fitVideoFilter(video: VideoTarget): string {
  const { width: w, height: h, frameRate, color } = video;
  return [
    "scale='trunc(iw*sar/2)*2':ih",
    'setsar=1',
    `scale=${w}:${h}:force_original_aspect_ratio=decrease:force_divisible_by=2`,
    `pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2:color=black`,
    `fps=${frameRate}`,
    'format=yuv420p',
    `setparams=color_primaries=${color.primaries}:color_trc=${color.transfer}:colorspace=${color.space}:range=${color.range}`,
  ].join(',');
}

function videoEncodeArgs({ video, preset }: { video: VideoTarget; preset: string | undefined }): string[] {
  return [
    ...deliveryVideoArgs({ profile: video.profile, ...(preset ? { preset } : {}) }),
    ...(video.timescale ? ['-video_track_timescale', String(video.timescale)] : []),
  ];
}

/**
 * Rewrites one clip as the plan says: its picture copied or re-encoded to the target, its sound
 * copied, re-encoded (padded with silence or cut to the picture's length) or left out.
 */
export function normaliseArgs({
  input,
  probe,
  plan,
  video,
  audio,
  preset,
  output,
}: {
  input: string;
  probe: ClipProbe;
  plan: ClipPlan;
  video: VideoTarget;
  audio: AudioTarget;
  preset?: string;
  output: string;
}): string[] {
  const v = probe.video;
  if (!v) throw new Error(`normaliseArgs: ${probe.label} has no video`);
  const a = probe.audio;
  const picture = v.durationSec;
  const sound =
    plan.audio === 'copy' && a
      ? ['-map', `0:${a.index}`, '-c:a', 'copy']
      : plan.audio === 'encode' && a
        ? [
            '-map',
            `0:${a.index}`,
            // Exactly the picture's length: silence after a short sound, a long one cut.
            '-af',
            `aresample=${audio.sampleRate},apad=whole_dur=${seconds(picture)},atrim=end=${seconds(picture)}`,
            ...deliveryAudioArgs({ sampleRate: audio.sampleRate, channels: audio.channels }),
          ]
        : ['-an'];
  const picturePart =
    plan.video === 'encode'
      ? ['-map', `0:${v.index}`, '-vf', fitVideoFilter(video), ...videoEncodeArgs({ video, preset })]
      : [
          '-map',
          `0:${v.index}`,
          '-c:v',
          'copy',
          ...(video.timescale ? ['-video_track_timescale', String(video.timescale)] : []),
        ];
  return ['-i', input, ...picturePart, ...sound, '-sn', '-dn', '-map_metadata', '-1', '-f', 'mp4', output];
}

/**
 * One black frame encoded exactly as a re-encoded clip would be: its extradata says whether
 * reelbus's encoder reproduces the majority's H.264 headers (then only the odd clips are re-encoded).
 */
export function reproductionArgs({
  video,
  preset,
  output,
}: {
  video: VideoTarget;
  preset?: string;
  output: string;
}): string[] {
  return [
    '-f',
    'lavfi',
    '-i',
    `color=black:s=${video.width}x${video.height}:r=${video.frameRate}`,
    '-frames:v',
    '1',
    '-vf',
    fitVideoFilter(video),
    ...videoEncodeArgs({ video, preset }),
    '-an',
    '-f',
    'mp4',
    output,
  ];
}
