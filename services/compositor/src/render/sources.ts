/**
 * Pure decisions of the render resolver: which URLs a request Timeline names (each fetched once, at a
 * deterministic key) and what a fetched file is called.
 */
import { requestSources, type SourceRef, type TimelineRequest } from '@reelbus/contracts';

/** One URL to fetch and every field that names it. */
export interface UrlFetch {
  url: string;
  /** `tracks[0].clips[2].source`, … (for errors). */
  paths: string[];
  /** 0-based position among the Timeline's distinct URLs: the stored key's number. */
  index: number;
}

/** The distinct URLs of a request Timeline, in order of first appearance. */
export function urlFetches(t: TimelineRequest): UrlFetch[] {
  const byUrl = new Map<string, UrlFetch>();
  for (const ref of requestSources(t)) {
    if (!('url' in ref.source)) continue;
    const seen = byUrl.get(ref.source.url);
    if (seen) seen.paths.push(ref.path);
    else byUrl.set(ref.source.url, { url: ref.source.url, paths: [ref.path], index: byUrl.size });
  }
  return [...byUrl.values()];
}

/** Every blob key a request Timeline names directly, with the fields that name it. */
export function keyRefs(t: TimelineRequest): Map<string, SourceRef[]> {
  const out = new Map<string, SourceRef[]>();
  for (const ref of requestSources(t)) {
    if (!('key' in ref.source)) continue;
    const list = out.get(ref.source.key) ?? [];
    list.push(ref);
    out.set(ref.source.key, list);
  }
  return out;
}

const MEDIA_EXTENSIONS = new Set([
  'mp4',
  'm4v',
  'mov',
  'webm',
  'mkv',
  'avi',
  'ts',
  'mpg',
  'mpeg',
  '3gp',
  'jpg',
  'jpeg',
  'png',
  'webp',
  'gif',
  'bmp',
  'tif',
  'tiff',
  'heic',
  'wav',
  'mp3',
  'm4a',
  'aac',
  'ogg',
  'oga',
  'opus',
  'flac',
]);
const BY_CONTENT_TYPE: Record<string, string> = {
  'video/mp4': 'mp4',
  'video/quicktime': 'mov',
  'video/webm': 'webm',
  'video/x-matroska': 'mkv',
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'audio/wav': 'wav',
  'audio/x-wav': 'wav',
  'audio/wave': 'wav',
  'audio/mpeg': 'mp3',
  'audio/mp4': 'm4a',
  'audio/aac': 'aac',
  'audio/ogg': 'ogg',
  'audio/flac': 'flac',
};

/**
 * Where the URL source number `index` is stored: `jobs/<jobId>/input/url-003.mp4` (the extension from
 * the URL's path, else its content type, else `.bin`; ffprobe reads the content either way).
 */
export function fetchedSourceKey({
  jobId,
  index,
  url,
  contentType,
}: {
  jobId: string;
  index: number;
  url: string;
  contentType?: string | null;
}): string {
  const fromPath = /\.([A-Za-z0-9]{2,5})$/.exec(new URL(url).pathname)?.[1]?.toLowerCase();
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  const ext =
    fromPath && MEDIA_EXTENSIONS.has(fromPath) ? fromPath : ((type && BY_CONTENT_TYPE[type]) ?? 'bin');
  return `jobs/${jobId}/input/url-${String(index).padStart(3, '0')}.${ext}`;
}
