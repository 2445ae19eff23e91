import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { probe, runFfmpeg, type Logger } from '@reelbus/kit';
import { clipOutputArgs, sec } from './filters.ts';
import type { AvatarProvider, GenerateRequest, GeneratedClip } from './providers/types.ts';

export interface Silence {
  startSec: number;
  endSec: number;
}

export interface Segment {
  index: number;
  startSec: number;
  endSec: number;
}

/** ffmpeg arguments that log the silences of `audioPath` (silencedetect) and write no output. */
export function buildSilenceDetectArgs(opts: {
  audioPath: string;
  noiseDb?: number;
  minSilenceSec?: number;
}): string[] {
  const { audioPath, noiseDb = -35, minSilenceSec = 0.3 } = opts;
  return [
    '-i',
    audioPath,
    '-vn',
    '-af',
    `silencedetect=noise=${noiseDb}dB:duration=${minSilenceSec}`,
    '-f',
    'null',
    '-',
  ];
}

/** Silences from silencedetect's log lines (`silence_start: 1.2`, `silence_end: 2.5 | …`); an open one ends at `durationSec`. */
export function parseSilences(opts: { lines: string[]; durationSec: number }): Silence[] {
  const { lines, durationSec } = opts;
  const silences: Silence[] = [];
  let start: number | undefined;
  for (const line of lines) {
    const s = /silence_start:\s*(-?[\d.]+)/.exec(line);
    if (s?.[1] !== undefined) start = Math.max(0, Number(s[1]));
    const e = /silence_end:\s*([\d.]+)/.exec(line);
    if (e?.[1] !== undefined && start !== undefined) {
      silences.push({ startSec: start, endSec: Number(e[1]) });
      start = undefined;
    }
  }
  if (start !== undefined && start < durationSec) silences.push({ startSec: start, endSec: durationSec });
  return silences;
}

/**
 * Cuts `durationSec` into segments no longer than `maxSegmentSec`, at silences where possible.
 * Each cut goes in the middle of the latest silence that keeps the segment within the limit and at least
 * `minFill` of it long; with no such silence it falls at the limit. Cuts sit on frame boundaries (1/fps)
 * so the segments' frame counts add up to the whole clip's.
 */
export function planSegments(opts: {
  durationSec: number;
  maxSegmentSec: number;
  silences: Silence[];
  fps?: number;
  /** A silence cut is taken only if the segment is at least this share of the limit. Default 0.5. */
  minFill?: number;
}): Segment[] {
  const { durationSec, maxSegmentSec, silences, fps = 25, minFill = 0.5 } = opts;
  if (!(maxSegmentSec > 0)) throw new Error(`maxSegmentSec must be positive (got ${maxSegmentSec})`);
  const frame = 1 / fps;
  const toFrame = (t: number) => Math.floor(t * fps + 1e-6) / fps;
  const maxLen = toFrame(maxSegmentSec);
  if (maxLen < frame)
    throw new Error(`maxSegmentSec ${maxSegmentSec} is shorter than one frame at ${fps} fps`);

  const segments: Segment[] = [];
  let pos = 0;
  while (durationSec - pos > maxLen + 1e-9) {
    const latest = pos + maxLen;
    const earliest = pos + Math.max(frame, maxLen * minFill);
    let cut: number | undefined;
    for (const s of silences) {
      const mid = toFrame((Math.max(s.startSec, pos) + Math.min(s.endSec, latest)) / 2);
      if (s.endSec <= pos || s.startSec >= latest) continue;
      if (mid >= earliest - 1e-9 && mid <= latest + 1e-9 && (cut === undefined || mid > cut)) cut = mid;
    }
    const end = cut ?? latest;
    segments.push({ index: segments.length, startSec: round(pos), endSec: round(end) });
    pos = end;
  }
  segments.push({ index: segments.length, startSec: round(pos), endSec: durationSec });
  return segments;
}

/** One ffmpeg run that writes each segment of `audioPath` to its own WAV file (sample-accurate cuts). */
export function buildSplitAudioArgs(opts: {
  audioPath: string;
  segments: Segment[];
  outFiles: string[];
}): string[] {
  const { audioPath, segments, outFiles } = opts;
  const args = ['-i', audioPath];
  segments.forEach((s, i) => {
    args.push(
      '-map',
      '0:a:0',
      '-ss',
      sec(s.startSec),
      '-t',
      sec(s.endSec - s.startSec),
      '-c:a',
      'pcm_s16le',
      outFiles[i] ?? '',
    );
  });
  return args;
}

/**
 * One encode that joins segment videos without drift: each is brought to `fps` and the clip size (letterboxed),
 * padded with its last frame or trimmed to exactly its audio segment's frame count, then concatenated; the audio is
 * the whole channel, re-muxed, so the clip lasts exactly as long as the channel.
 */
export function buildJoinArgs(opts: {
  videos: string[];
  /** Frames each segment must have (its audio duration × fps). */
  frames: number[];
  channelAudio: string;
  durationSec: number;
  width: number;
  height: number;
  fps?: number;
  outFile: string;
}): string[] {
  const { videos, frames, channelAudio, durationSec, width, height, fps = 25, outFile } = opts;
  const inputs = videos.flatMap((v) => ['-i', v]);
  const parts = videos.map(
    (_, i) =>
      `[${i}:v]fps=${fps},scale=${width}:${height}:force_original_aspect_ratio=decrease,` +
      `pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,` +
      `tpad=stop=-1:stop_mode=clone,trim=end_frame=${frames[i]},setpts=PTS-STARTPTS[v${i}]`,
  );
  const concat = `${videos.map((_, i) => `[v${i}]`).join('')}concat=n=${videos.length}:v=1:a=0,format=yuv420p[v]`;
  return [
    ...inputs,
    '-i',
    channelAudio,
    '-filter_complex',
    [...parts, concat].join(';'),
    '-map',
    '[v]',
    '-map',
    `${videos.length}:a:0`,
    ...clipOutputArgs({ durationSec, fps, outFile }),
  ];
}

/** Frame counts per segment, from frame-aligned cuts, adding up to the whole clip's frame count. */
export function segmentFrames(opts: { segments: Segment[]; fps?: number }): number[] {
  const { segments, fps = 25 } = opts;
  return segments.map((s) => Math.round(s.endSec * fps) - Math.round(s.startSec * fps));
}

/** Runs `fn` over `items`, at most `limit` at once; rejects with the first error. */
export async function mapLimit<T, R>(opts: {
  items: T[];
  limit: number;
  fn: (item: T, index: number) => Promise<R>;
}): Promise<R[]> {
  const { items, limit, fn } = opts;
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T, i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Runs silencedetect over the channel and returns its silences. */
export async function detectSilences(opts: {
  audioPath: string;
  durationSec: number;
  signal?: AbortSignal;
  logger?: Logger;
  stallTimeoutMs?: number;
}): Promise<Silence[]> {
  const { audioPath, durationSec, signal, logger, stallTimeoutMs } = opts;
  const lines: string[] = [];
  await runFfmpeg({
    step: 'generate',
    args: buildSilenceDetectArgs({ audioPath }),
    onStderrLine: (line) => {
      if (line.includes('silence_')) lines.push(line);
    },
    ...(signal ? { signal } : {}),
    ...(logger ? { logger } : {}),
    ...(stallTimeoutMs ? { stallTimeoutMs } : {}),
  });
  return parseSilences({ lines, durationSec });
}

export interface GenerateClipOptions extends Omit<GenerateRequest, 'outDir'> {
  provider: AvatarProvider;
  /** The model's input limit (registry), possibly lowered by config. */
  maxSegmentSec: number;
  /** Scratch directory (removed by the caller). */
  workDir: string;
  width: number;
  height: number;
  concurrency: number;
  fps?: number;
  stallTimeoutMs?: number;
}

export interface ClipResult extends GeneratedClip {
  segments: number;
}

/**
 * Makes one speaker's clip with `provider`: in one go when the channel fits the model's limit, else cut at silences
 * into segments generated in parallel and joined against the channel audio. Remote outputs are normalised (size,
 * fps, exact frame count, channel audio) so the clip lasts exactly as long as the channel.
 */
export async function generateClip(opts: GenerateClipOptions): Promise<ClipResult> {
  const {
    provider,
    maxSegmentSec,
    workDir,
    width,
    height,
    concurrency,
    fps = 25,
    stallTimeoutMs,
    ...req
  } = opts;
  const { audioPath, durationSec, signal, logger } = req;
  const common = { signal, logger, ...(stallTimeoutMs ? { stallTimeoutMs } : {}) };

  let segments: Segment[] = [{ index: 0, startSec: 0, endSec: durationSec }];
  if (durationSec > maxSegmentSec) {
    const silences = await detectSilences({ audioPath, durationSec, ...common });
    segments = planSegments({ durationSec, maxSegmentSec, silences, fps });
    logger.info(
      { segments: segments.length, silences: silences.length, maxSegmentSec },
      'channel cut into segments',
    );
  }

  if (segments.length === 1 && provider.exactOutput) {
    const clip = await provider.generate({ ...req, outDir: workDir });
    return { ...clip, segments: 1 };
  }

  let segmentAudio = [audioPath];
  if (segments.length > 1) {
    segmentAudio = segments.map((s) => join(workDir, `segment-${String(s.index).padStart(3, '0')}.wav`));
    await runFfmpeg({
      step: 'generate',
      args: buildSplitAudioArgs({ audioPath, segments, outFiles: segmentAudio }),
      ...common,
    });
  }

  const done = new Array<number>(segments.length).fill(0);
  const report = () => req.onProgress?.((done.reduce((a, b) => a + b, 0) / segments.length) * 0.95);
  const videos = await mapLimit({
    items: segments,
    limit: concurrency,
    fn: async (s, i) => {
      const outDir = join(workDir, `segment-${String(i).padStart(3, '0')}`);
      await mkdir(outDir, { recursive: true });
      const clip = await provider.generate({
        ...req,
        audioPath: segmentAudio[i] as string,
        durationSec: s.endSec - s.startSec,
        outDir,
        onProgress: (pct) => {
          done[i] = pct / 100;
          report();
        },
        logger: logger.child({ segment: i }),
      });
      done[i] = 1;
      report();
      return clip.file;
    },
  });

  const outFile = join(workDir, 'joined.mp4');
  await runFfmpeg({
    step: 'generate',
    args: buildJoinArgs({
      videos,
      frames: segmentFrames({ segments, fps }),
      channelAudio: audioPath,
      durationSec,
      width,
      height,
      fps,
      outFile,
    }),
    durationSec,
    ...common,
  });
  const info = await probe(outFile);
  req.onProgress?.(100);
  return {
    file: outFile,
    durationSec: info.durationSec,
    width: info.video?.width ?? width,
    height: info.video?.height ?? height,
    segments: segments.length,
  };
}

function round(t: number): number {
  return Math.round(t * 1e6) / 1e6;
}
