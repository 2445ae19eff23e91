import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import {
  isPermanent,
  PermanentError,
  redactUrl,
  safeFetch,
  TransientError,
  type BlobStore,
} from '@reelbus/kit';

export interface StoryFetchSettings {
  /** Allow http and private-network URLs (tests, the embedded stack). */
  allowPrivate: boolean;
  timeoutMs: number;
  maxBytes: number;
}

const AUDIO_EXTENSIONS = [
  'wav',
  'mp3',
  'm4a',
  'aac',
  'ogg',
  'oga',
  'opus',
  'flac',
  'webm',
  'mp4',
  'caf',
  'amr',
  '3gp',
  'aif',
  'aiff',
];
const BY_CONTENT_TYPE: Record<string, string> = {
  'audio/wav': 'wav',
  'audio/x-wav': 'wav',
  'audio/wave': 'wav',
  'audio/mpeg': 'mp3',
  'audio/mp4': 'm4a',
  'audio/x-m4a': 'm4a',
  'audio/aac': 'aac',
  'audio/ogg': 'ogg',
  'audio/opus': 'opus',
  'audio/flac': 'flac',
  'audio/webm': 'webm',
};

/** Pure: the extension the stored input gets (from the URL path, else the content type; ffmpeg probes content anyway). */
export function audioExtension(opts: { url: string; contentType?: string | null }): string {
  const { url, contentType } = opts;
  const fromPath = /\.([A-Za-z0-9]{2,5})$/.exec(new URL(url).pathname)?.[1]?.toLowerCase();
  if (fromPath && AUDIO_EXTENSIONS.includes(fromPath)) return `.${fromPath}`;
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  const fromType = type ? BY_CONTENT_TYPE[type] : undefined;
  return fromType ? `.${fromType}` : '.audio';
}

/**
 * Streams the story audio at `url` (through safeFetch: https only, no private addresses unless
 * allowed, pinned, bounded) into blob storage at `keyFor(ext)`. A refusal, a 4xx or a body over the
 * limit throws PermanentError (step `download`); network failures, timeouts, 5xx, 408 and 429 throw
 * TransientError (the message is redelivered).
 */
export async function fetchStoryAudio(opts: {
  url: string;
  keyFor: (ext: string) => string;
  blobs: BlobStore;
  settings: StoryFetchSettings;
  signal?: AbortSignal;
}): Promise<{ key: string; size: number }> {
  const { url, keyFor, blobs, settings, signal } = opts;
  const shown = redactUrl(url);
  const res = await safeFetch({
    url,
    allowPrivate: settings.allowPrivate,
    timeoutMs: settings.timeoutMs,
    maxBytes: settings.maxBytes,
    headers: { accept: 'audio/*, */*' },
    ...(signal ? { signal } : {}),
  });
  if (!res.ok) {
    await res.body.cancel().catch(() => undefined);
    const status = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
    const retry = res.status >= 500 || res.status === 408 || res.status === 429;
    const message = `download of the story audio failed: ${shown} answered ${status}`;
    throw retry
      ? new TransientError(message, { step: 'download' })
      : new PermanentError(message, { step: 'download' });
  }
  const key = keyFor(audioExtension({ url: res.url, contentType: res.headers.get('content-type') }));
  try {
    const info = await blobs.put(key, Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), {
      contentType: res.headers.get('content-type') ?? 'application/octet-stream',
      retention: 'intermediate',
    });
    return { key, size: info.size };
  } catch (err) {
    if (isPermanent(err))
      throw new PermanentError(`download of the story audio failed: ${(err as Error).message}`, {
        step: 'download',
        cause: err,
      });
    throw err;
  }
}
