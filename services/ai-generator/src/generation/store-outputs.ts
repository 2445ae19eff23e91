import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { MediaOutput } from '@reelbus/contracts';
import { probe, runFfmpeg, type BlobStore, type Logger } from '@reelbus/kit';
import type { ProducedFile } from './types.ts';
import { ProviderError } from './types.ts';

/** Where a generation's files go: `jobs/<jobId>/generate/<name>` (overwritten when redone). */
export function generationKey(jobId: string, name: string): string {
  return `jobs/${jobId}/generate/${name}`;
}

const EXT_BY_TYPE: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/webp': 'webp',
  'video/mp4': 'mp4',
  'video/webm': 'webm',
  'video/quicktime': 'mov',
  'audio/mpeg': 'mp3',
  'audio/wav': 'wav',
  'audio/x-wav': 'wav',
  'audio/mp4': 'm4a',
  'audio/ogg': 'ogg',
  'audio/flac': 'flac',
  'application/json': 'json',
};
const TYPE_BY_EXT: Record<string, string> = Object.fromEntries(
  Object.entries(EXT_BY_TYPE).map(([t, e]) => [e, t]),
);
TYPE_BY_EXT.jpeg = 'image/jpeg';

/** The extension of a produced file: from its name, else its content type, else `fallback`. */
export function extensionOf(opts: {
  name: string;
  contentType?: string | undefined;
  fallback: string;
}): string {
  const fromName = extname(opts.name.split('?')[0] ?? '')
    .slice(1)
    .toLowerCase();
  if (fromName && /^[a-z0-9]{2,5}$/.test(fromName)) return fromName;
  const t = opts.contentType?.split(';')[0]?.trim().toLowerCase();
  return (t && EXT_BY_TYPE[t]) || opts.fallback;
}

export function contentTypeOfExt(ext: string): string {
  return TYPE_BY_EXT[ext] ?? 'application/octet-stream';
}

/** ffmpeg arguments for a poster: one frame (at `atSec` of a video, or the image), at most `maxWidth` wide, JPEG. */
export function buildPosterArgs(opts: {
  input: string;
  atSec: number;
  maxWidth: number;
  outFile: string;
}): string[] {
  const { input, atSec, maxWidth, outFile } = opts;
  return [
    ...(atSec > 0 ? ['-ss', atSec.toFixed(3)] : []),
    '-i',
    input,
    '-frames:v',
    '1',
    '-vf',
    `scale='min(${maxWidth},iw)':-2`,
    '-q:v',
    '3',
    outFile,
  ];
}

/**
 * Downloads a provider's output URL to `dir` (provider URLs expire: Replicate deletes API outputs after an
 * hour), with a timeout; `data:` URLs are decoded. Retryable on network errors and 5xx.
 */
export async function downloadOutput(opts: {
  url: string;
  dir: string;
  name: string;
  fallbackExt: string;
  signal: AbortSignal;
  timeoutMs?: number;
}): Promise<{ path: string; contentType: string }> {
  const { url, dir, name, fallbackExt, signal, timeoutMs = 300_000 } = opts;
  if (url.startsWith('data:')) {
    const m = /^data:([^;,]+)?(;base64)?,(.*)$/s.exec(url);
    if (!m) throw new ProviderError('the output is a malformed data: URL', false);
    const type = m[1] ?? 'application/octet-stream';
    const ext = extensionOf({ name: '', contentType: type, fallback: fallbackExt });
    const path = join(dir, `${name}.${ext}`);
    const bytes = m[2] ? Buffer.from(m[3] ?? '', 'base64') : Buffer.from(decodeURIComponent(m[3] ?? ''));
    await pipeline(Readable.from([bytes]), createWriteStream(path));
    return { path, contentType: type };
  }
  const res = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) }).catch(
    (err: unknown) => {
      throw new ProviderError(`downloading the output ${url} failed: ${(err as Error).message}`, true, {
        cause: err,
      });
    },
  );
  if (!res.ok || !res.body)
    throw new ProviderError(
      `downloading the output ${url} failed: HTTP ${res.status}`,
      res.status >= 500 || res.status === 429,
      {
        status: res.status,
      },
    );
  const contentType = res.headers.get('content-type') ?? '';
  const ext = extensionOf({ name: new URL(url).pathname, contentType, fallback: fallbackExt });
  const path = join(dir, `${name}.${ext}`);
  await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), createWriteStream(path), {
    signal,
  });
  return { path, contentType: contentType.split(';')[0]?.trim() || contentTypeOfExt(ext) };
}

/**
 * Stores each produced file at `jobs/<jobId>/generate/<role>.<ext>`, probed (duration, size, dimensions),
 * and a JPEG poster (`poster.jpg`) for an image or a video. Returns the job outputs by name.
 */
export async function storeOutputs(opts: {
  jobId: string;
  files: ProducedFile[];
  blobs: BlobStore;
  workDir: string;
  signal: AbortSignal;
  logger: Logger;
  posterWidth?: number;
}): Promise<Record<string, MediaOutput>> {
  const { jobId, files, blobs, workDir, signal, logger, posterWidth = 640 } = opts;
  const outputs: Record<string, MediaOutput> = {};
  for (const f of files) {
    const ext = extensionOf({ name: f.path, contentType: f.contentType, fallback: 'bin' });
    const contentType = f.contentType || contentTypeOfExt(ext);
    const key = generationKey(jobId, `${f.role}.${ext}`);
    const size = (await stat(f.path)).size;
    if (f.role === 'alignment') {
      await blobs.putFile(key, f.path, { contentType, retention: 'output' });
      outputs.alignment = { key, durationSec: 0, sizeBytes: size, contentType };
      continue;
    }
    const info = await probe(f.path).catch((err: unknown) => {
      throw new ProviderError(
        `the ${f.role} output cannot be read as media: ${(err as Error).message}`,
        false,
        {
          cause: err,
        },
      );
    });
    if (f.role === 'video' && !info.video)
      throw new ProviderError('the video output has no video stream', false);
    if (f.role === 'audio' && !info.audio)
      throw new ProviderError('the audio output has no audio stream', false);
    const v = info.video;
    outputs[f.role] = {
      key,
      durationSec: f.role === 'image' ? 0 : info.durationSec,
      sizeBytes: size,
      contentType,
      ...(v?.width ? { width: v.width } : {}),
      ...(v?.height ? { height: v.height } : {}),
      ...(f.role === 'video' && v?.fps ? { fps: v.fps } : {}),
    };
    if (f.role === 'image' || f.role === 'video') {
      // the poster first: on the filesystem store putFile moves the file away
      const posterFile = join(workDir, 'poster.jpg');
      await runFfmpeg({
        step: 'store',
        args: buildPosterArgs({
          input: f.path,
          atSec: f.role === 'video' ? Math.min(1, info.durationSec / 2) : 0,
          maxWidth: posterWidth,
          outFile: posterFile,
        }),
        signal,
        logger,
      });
      const p = await probe(posterFile);
      await blobs.putFile(key, f.path, { contentType, retention: 'output' });
      const posterKey = generationKey(jobId, 'poster.jpg');
      const posterSize = (await stat(posterFile)).size;
      await blobs.putFile(posterKey, posterFile, { contentType: 'image/jpeg', retention: 'output' });
      outputs.poster = {
        key: posterKey,
        durationSec: 0,
        sizeBytes: posterSize,
        contentType: 'image/jpeg',
        ...(p.video?.width ? { width: p.video.width } : {}),
        ...(p.video?.height ? { height: p.video.height } : {}),
      };
    } else {
      await blobs.putFile(key, f.path, { contentType, retention: 'output' });
    }
  }
  return outputs;
}
