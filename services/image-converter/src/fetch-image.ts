import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { z } from 'zod';
import type { MediaSource } from '@reelbus/contracts';
import {
  describeError,
  isBlobNotFound,
  redactUrl,
  safeFetch,
  withLocalFile,
  type BlobStore,
} from '@reelbus/kit';

export interface ImageFetchSettings {
  /** Allow http and private-network URLs (tests, the embedded stack). */
  allowPrivate: boolean;
  /** One download: connect, redirects and the whole body. */
  timeoutMs: number;
  maxBytes: number;
}

/** An image that cannot be used, with the reason shown to the user (`job.warning`, `skipped`). */
export class ImageUnavailableError extends Error {
  override name = 'ImageUnavailableError';
}

type Source = z.infer<typeof MediaSource>;

/** Where an image came from, for messages: its key, or its URL without query. */
export function describeSource(source: Source): string {
  return 'key' in source ? `key ${source.key}` : redactUrl(source.url);
}

/**
 * Runs `fn` with a local file holding the image: a blob key through `withLocalFile` (the real path
 * on the fs store, a temp download on S3), a URL through `safeFetch` streamed into `file` (never
 * whole in memory). A missing blob, a refused or failed download, or a non-2xx answer throws
 * ImageUnavailableError with the reason.
 */
export async function withImageFile<T>(
  opts: {
    source: Source;
    blobs: BlobStore;
    file: string;
    tmpDir: string;
    settings: ImageFetchSettings;
    signal?: AbortSignal;
  },
  fn: (path: string) => Promise<T>,
): Promise<T> {
  const { source, blobs, file, tmpDir, settings, signal } = opts;
  if ('key' in source) {
    try {
      return await withLocalFile({ blobs, key: source.key, tmpDir }, fn);
    } catch (err) {
      if (isBlobNotFound(err))
        throw new ImageUnavailableError(`not found in blob storage (key ${source.key})`);
      throw err;
    }
  }
  await downloadTo({ url: source.url, file, settings, signal });
  return fn(file);
}

async function downloadTo(opts: {
  url: string;
  file: string;
  settings: ImageFetchSettings;
  signal?: AbortSignal;
}): Promise<void> {
  const { url, file, settings, signal } = opts;
  const shown = redactUrl(url);
  try {
    const res = await safeFetch({
      url,
      allowPrivate: settings.allowPrivate,
      timeoutMs: settings.timeoutMs,
      maxBytes: settings.maxBytes,
      headers: { accept: 'image/*' },
      ...(signal ? { signal } : {}),
    });
    if (!res.ok) {
      await res.body.cancel().catch(() => undefined);
      throw new ImageUnavailableError(
        `${shown} answered HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`,
      );
    }
    await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), createWriteStream(file));
  } catch (err) {
    if (signal?.aborted) throw err;
    if (err instanceof ImageUnavailableError) throw err;
    throw new ImageUnavailableError(`download failed: ${describeError(err)}`, { cause: err });
  }
}
