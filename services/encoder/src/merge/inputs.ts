import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { MergeClip } from '@reelbus/contracts';
import {
  PermanentError,
  TransientError,
  isBlobNotFound,
  isPermanent,
  redactUrl,
  safeFetch,
  type BlobStore,
} from '@reelbus/kit';
import type { MergeInput } from './merge.ts';

export interface MergeFetchSettings {
  /** Allow http and loopback / private / link-local URLs (tests, private networks). */
  allowPrivate: boolean;
  timeoutMs: number;
  maxBytes: number;
}

const VIDEO_EXTENSIONS = ['mp4', 'm4v', 'mov', 'webm', 'mkv', 'avi', 'ts', 'mpg', 'mpeg', '3gp'];
const BY_CONTENT_TYPE: Record<string, string> = {
  'video/mp4': 'mp4',
  'video/quicktime': 'mov',
  'video/webm': 'webm',
  'video/x-matroska': 'mkv',
  'video/mp2t': 'ts',
  'video/x-m4v': 'm4v',
};

/** Pure: the extension a fetched clip is stored with (from the URL path, else its content type). */
export function videoExtension({ url, contentType }: { url: string; contentType?: string | null }): string {
  const fromPath = /\.([A-Za-z0-9]{2,5})$/.exec(new URL(url).pathname)?.[1]?.toLowerCase();
  if (fromPath && VIDEO_EXTENSIONS.includes(fromPath)) return `.${fromPath}`;
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  const fromType = type ? BY_CONTENT_TYPE[type] : undefined;
  return `.${fromType ?? 'video'}`;
}

/** Where the clip at position `index` fetched from a URL is stored: `jobs/<jobId>/input/clip-003.mp4`. */
export function fetchedClipKey({ jobId, index, ext }: { jobId: string; index: number; ext: string }): string {
  return `jobs/${jobId}/input/clip-${String(index).padStart(3, '0')}${ext}`;
}

/**
 * Streams the clip at `url` through `safeFetch` (https only, no private addresses unless allowed,
 * pinned, bounded) into blob storage. A refusal, a 4xx or a body over the limit is permanent and
 * names the clip; network failures, 5xx, 408 and 429 are transient.
 */
export async function fetchClip({
  url,
  label,
  jobId,
  index,
  blobs,
  settings,
  signal,
}: {
  url: string;
  label: string;
  jobId: string;
  index: number;
  blobs: BlobStore;
  settings: MergeFetchSettings;
  signal?: AbortSignal;
}): Promise<string> {
  const shown = redactUrl(url);
  let res;
  try {
    res = await safeFetch({
      url,
      allowPrivate: settings.allowPrivate,
      timeoutMs: settings.timeoutMs,
      maxBytes: settings.maxBytes,
      headers: { accept: 'video/*, */*' },
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    const message = `${label}: ${(err as Error).message}`;
    throw isPermanent(err)
      ? new PermanentError(message, { step: 'fetch', cause: err })
      : new TransientError(message, { step: 'fetch', cause: err });
  }
  if (!res.ok) {
    await res.body.cancel().catch(() => undefined);
    const status = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
    const message = `${label}: download failed: ${shown} answered ${status}`;
    const retry = res.status >= 500 || res.status === 408 || res.status === 429;
    throw retry
      ? new TransientError(message, { step: 'fetch' })
      : new PermanentError(message, { step: 'fetch' });
  }
  const key = fetchedClipKey({
    jobId,
    index,
    ext: videoExtension({ url: res.url, contentType: res.headers.get('content-type') }),
  });
  try {
    await blobs.put(key, Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), {
      contentType: res.headers.get('content-type') ?? 'application/octet-stream',
    });
  } catch (err) {
    if (isPermanent(err))
      throw new PermanentError(`${label}: download failed: ${(err as Error).message}`, {
        step: 'fetch',
        cause: err,
      });
    throw err;
  }
  return key;
}

/**
 * A local file for every clip: URLs fetched into `jobs/<jobId>/input/` first (step `fetch`), keys
 * read in place on the filesystem store or downloaded into `dir`. A missing key is a permanent error
 * naming the clip (`clips[3]: "…" is not in blob storage`).
 */
export async function resolveMergeInputs({
  jobId,
  clips,
  blobs,
  dir,
  fetch: settings,
  signal,
  onFetched,
}: {
  jobId: string;
  clips: readonly MergeClip[];
  blobs: BlobStore;
  dir: string;
  fetch: MergeFetchSettings;
  signal?: AbortSignal;
  /** Called after each URL is stored (progress of the `fetch` step). */
  onFetched?: (done: number, total: number) => void;
}): Promise<MergeInput[]> {
  const urls = clips.filter((c) => 'url' in c).length;
  let fetched = 0;
  const out: MergeInput[] = [];
  for (const [index, clip] of clips.entries()) {
    const label = `clips[${index}]`;
    let key: string;
    let shown: string;
    if ('url' in clip) {
      shown = redactUrl(clip.url);
      key = await fetchClip({
        url: clip.url,
        label,
        jobId,
        index,
        blobs,
        settings,
        ...(signal ? { signal } : {}),
      });
      onFetched?.(++fetched, urls);
    } else {
      key = clip.key;
      shown = clip.key;
    }
    const notFound = (cause?: unknown) =>
      new PermanentError(`${label}: "${shown}" is not in blob storage; upload it or fix the key`, {
        step: 'merge',
        cause,
      });
    let file = blobs.localPath(key);
    if (file !== undefined) {
      const s = await stat(file).catch(() => undefined);
      if (!s?.isFile()) throw notFound();
    } else {
      file = join(dir, `in-${String(index).padStart(3, '0')}-${basename(key)}`);
      try {
        await blobs.download(key, file);
      } catch (err) {
        if (isBlobNotFound(err)) throw notFound(err);
        throw err;
      }
    }
    out.push({ file, label, shown });
  }
  return out;
}
