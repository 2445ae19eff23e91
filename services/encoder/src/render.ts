import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { applyOutputPreset, type Timeline } from '@reelbus/contracts';
import { PermanentError, describeError, isPermanent } from '@reelbus/kit';
import { isBlobNotFound, type BlobStore } from '@reelbus/kit';
import { probe, runFfmpeg, withTempDir, type MediaInfo } from '@reelbus/kit';
import type { Logger, X264Preset } from '@reelbus/kit';
import { measureChildrenCpu } from './child-cpu.ts';
import { buildRenderArgs, UnsupportedTimelineError } from './filtergraph.ts';
import { buildPosterArgs, posterKey, posterTime } from './poster.ts';

export interface RenderRequest {
  jobId: string;
  timeline: Timeline;
  /** Aborting stops the encode (shutdown past its grace period). */
  signal?: AbortSignal;
  logger?: Logger;
  /** Encode progress, 0-100, with the frames written so far and the seconds left when ffmpeg says. */
  onProgress?: (percent: number, detail?: { frames?: number; etaSec?: number }) => void;
  /** Something the user should know (a feature dropped under `allowDegradation`). */
  onWarning?: (message: string) => Promise<void> | void;
}

export interface RenderResult {
  /** Where the video was stored: `jobs/<jobId>/final.mp4`. */
  key: string;
  /** The stored video, probed. */
  media: MediaInfo;
  encodeSeconds: number;
  /** CPU seconds of the local encode (ffmpeg). */
  cpuSeconds?: number;
  /** Estimated price of a paid service's render (MediaConvert). */
  costUsd?: number;
  /** The poster frame, when the Timeline asks for one (`output.poster`): `jobs/<jobId>/poster.jpg`. */
  poster?: { key: string; sizeBytes: number; width?: number; height?: number; atSec: number };
}

/** A way to render a Timeline: local ffmpeg (`FfmpegBackend`) or AWS MediaConvert (`MediaConvertBackend`). */
export interface EncoderBackend {
  readonly name: string;
  render(req: RenderRequest): Promise<RenderResult>;
}

/** The deterministic key of a job's final video: a redelivered render overwrites it. */
export function finalVideoKey(jobId: string): string {
  return `jobs/${jobId}/final.mp4`;
}

export interface FfmpegBackendOptions {
  blobs: BlobStore;
  /** Parent of the per-render temp dirs (downloads from S3, the output before upload). */
  tmpDir: string;
  /** Overrides the Timeline's x264 preset. */
  preset?: X264Preset;
  stallTimeoutMs?: number;
  fontFile?: string;
}

/** A blob the Timeline reads, and the first field that names it (for error messages). */
export interface InputRef {
  key: string;
  field: string;
  /** What the field needs from the file. */
  needs: 'video' | 'audio';
}

/** Renders a Timeline with one local ffmpeg run. */
export class FfmpegBackend implements EncoderBackend {
  readonly name = 'ffmpeg';
  readonly #opts: FfmpegBackendOptions;

  constructor(opts: FfmpegBackendOptions) {
    this.#opts = opts;
  }

  async render({ jobId, timeline, signal, logger, onProgress }: RenderRequest): Promise<RenderResult> {
    const { blobs, tmpDir, preset, stallTimeoutMs, fontFile } = this.#opts;
    await mkdir(tmpDir, { recursive: true });
    return withTempDir(
      `reelbus-encode-${jobId}`,
      async (dir) => {
        const local = await localInputs({ blobs, refs: inputRefs(timeline), dir });
        let built;
        try {
          built = buildRenderArgs({
            timeline,
            inputs: (key) => local.get(key)?.path ?? missing(key),
            sources: (key) => {
              const info = local.get(key)?.info;
              return info ? { hasAudio: info.audio !== undefined, durationSec: info.durationSec } : undefined;
            },
            output: join(dir, 'final.mp4'),
            ...(preset ? { preset } : {}),
            ...(fontFile ? { fontFile } : {}),
          });
        } catch (err) {
          if (err instanceof UnsupportedTimelineError) {
            throw new PermanentError(`the ffmpeg encoder cannot render this timeline: ${err.message}`, {
              step: 'encode',
              cause: err,
            });
          }
          throw err;
        }
        const out = join(dir, 'final.mp4');
        const { result: run, cpuSeconds } = await measureChildrenCpu(() =>
          runFfmpeg({
            step: 'encode',
            args: built.args,
            durationSec: built.durationSec,
            ...(onProgress
              ? {
                  onProgress: (p) => {
                    if (p.percent === undefined) return;
                    const etaSec =
                      p.speed && p.speed > 0
                        ? Math.max(0, Math.round((built.durationSec - p.timeSec) / p.speed))
                        : undefined;
                    onProgress(p.percent, {
                      ...(p.frames !== undefined ? { frames: p.frames } : {}),
                      ...(etaSec !== undefined ? { etaSec } : {}),
                    });
                  },
                }
              : {}),
            ...(signal ? { signal } : {}),
            ...(stallTimeoutMs ? { stallTimeoutMs } : {}),
            ...(logger ? { logger } : {}),
          }),
        );
        // Probe before storing: the fs store moves the file.
        const media = await probe(out);
        const atSec = posterTime({ timeline: applyOutputPreset(timeline), durationSec: media.durationSec });
        let poster: RenderResult['poster'];
        if (atSec !== undefined) {
          const file = join(dir, 'poster.jpg');
          await runFfmpeg({
            step: 'poster',
            args: buildPosterArgs({ input: out, atSec, output: file }),
            ...(signal ? { signal } : {}),
            ...(logger ? { logger } : {}),
          });
          const info = await probe(file);
          poster = {
            key: posterKey(jobId),
            sizeBytes: info.sizeBytes,
            atSec,
            ...(info.video?.width ? { width: info.video.width } : {}),
            ...(info.video?.height ? { height: info.video.height } : {}),
          };
          await blobs.putFile(poster.key, file, { contentType: 'image/jpeg', retention: 'output' });
        }
        const key = finalVideoKey(jobId);
        await blobs.putFile(key, out, { contentType: 'video/mp4', retention: 'output' });
        return {
          key,
          media: { ...media, file: key },
          ...(poster ? { poster } : {}),
          encodeSeconds: run.elapsedMs / 1000,
          ...((run.cpuSeconds ?? cpuSeconds) !== undefined
            ? { cpuSeconds: run.cpuSeconds ?? cpuSeconds }
            : {}),
        };
      },
      { tmpDir },
    );
  }
}

function missing(key: string): never {
  throw new Error(`internal: input "${key}" was not resolved`);
}

/** Every blob a Timeline reads, once per key, with the first field naming it. */
export function inputRefs(timeline: Timeline): InputRef[] {
  const refs = new Map<string, InputRef>();
  timeline.tracks.forEach((track, ti) =>
    track.clips.forEach((clip, ci) => {
      if ((clip.type === 'video' || clip.type === 'image') && !refs.has(clip.source.key)) {
        refs.set(clip.source.key, {
          key: clip.source.key,
          field: `tracks[${ti}].clips[${ci}].source.key`,
          needs: 'video',
        });
      }
      if (clip.type === 'waveform' && clip.source && !refs.has(clip.source.key)) {
        refs.set(clip.source.key, {
          key: clip.source.key,
          field: `tracks[${ti}].clips[${ci}].source.key`,
          needs: 'audio',
        });
      }
    }),
  );
  timeline.audio.forEach((a, i) => {
    if (!refs.has(a.source.key))
      refs.set(a.source.key, { key: a.source.key, field: `audio[${i}].source.key`, needs: 'audio' });
  });
  return [...refs.values()];
}

/** A local file of an input, and what probing it found (absent when not probed). */
export interface LocalInput {
  path: string;
  info?: MediaInfo;
}

/**
 * A local path for every input: the blob's own file on the fs store (no copy), else a download into
 * `dir`. Each file is probed (unless `probe: false`: a chunk whose plan holds the probe facts), so a
 * missing or unreadable input is a permanent error naming its field, not an ffmpeg failure that
 * would be retried.
 */
export async function localInputs(opts: {
  blobs: BlobStore;
  refs: InputRef[];
  dir: string;
  probe?: true;
}): Promise<Map<string, { path: string; info: MediaInfo }>>;
export async function localInputs(opts: {
  blobs: BlobStore;
  refs: InputRef[];
  dir: string;
  probe: boolean;
}): Promise<Map<string, LocalInput>>;
export async function localInputs({
  blobs,
  refs,
  dir,
  probe: probeFiles = true,
}: {
  blobs: BlobStore;
  refs: InputRef[];
  dir: string;
  probe?: boolean;
}): Promise<Map<string, LocalInput>> {
  const local = new Map<string, LocalInput>();
  let n = 0;
  for (const ref of refs) {
    const notFound = (cause?: unknown) =>
      new PermanentError(`${ref.field}: "${ref.key}" is not in blob storage; upload it or fix the key`, {
        step: 'encode',
        cause,
      });
    let path = blobs.localPath(ref.key);
    if (path !== undefined) {
      const s = await stat(path).catch(() => undefined);
      if (!s?.isFile()) throw notFound();
    } else {
      path = join(dir, `in-${n++}-${basename(ref.key)}`);
      try {
        await blobs.download(ref.key, path);
      } catch (err) {
        if (isBlobNotFound(err)) throw notFound(err);
        throw err; // network: transient
      }
    }
    if (!probeFiles) {
      local.set(ref.key, { path });
      continue;
    }
    let info: MediaInfo;
    try {
      info = await probe(path);
    } catch (err) {
      if (isPermanent(err)) {
        throw new PermanentError(
          `${ref.field}: "${ref.key}" is not a readable media file (${describeError(err)})`,
          {
            step: 'encode',
            cause: err,
          },
        );
      }
      throw err;
    }
    if (ref.needs === 'video' && !info.video) {
      throw new PermanentError(
        `${ref.field}: "${ref.key}" has no picture; a video or image clip needs a video or image file`,
        {
          step: 'encode',
        },
      );
    }
    if (ref.needs === 'audio' && !info.audio) {
      throw new PermanentError(
        `${ref.field}: "${ref.key}" has no audio stream; an audio track needs an audio file`,
        { step: 'encode' },
      );
    }
    local.set(ref.key, { path, info });
  }
  return local;
}
