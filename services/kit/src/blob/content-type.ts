import { extname } from 'node:path';

const BY_EXTENSION: Record<string, string> = {
  '.mp4': 'video/mp4',
  '.wav': 'audio/wav',
  '.mp3': 'audio/mpeg',
  '.m4a': 'audio/mp4',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.json': 'application/json',
};

/** The content type implied by a key's extension, if it is one reelbus stores. */
export function contentTypeFor(key: string): string | undefined {
  return BY_EXTENSION[extname(key).toLowerCase()];
}
