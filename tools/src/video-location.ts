// Where the CLI tells the user to find a finished video. A path is printed only when this machine
// holds that very file (the stack the CLI talks to may keep its blobs elsewhere: another
// REELBUS_HOME, a remote REELBUS_URL, S3); otherwise the job document's signed link.
import { realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';

export type VideoLocation = { path: string } | { url: string } | { none: string };

/**
 * Decides (pure) between the local file and the link: the file at `blobDir/key` counts only when its
 * size is the video's (`sizeOf` returns undefined for a missing file).
 */
export function videoLocation({
  key,
  sizeBytes,
  blobDir,
  link,
  sizeOf,
}: {
  key: string;
  sizeBytes: number;
  blobDir: string | undefined;
  link: string | undefined;
  sizeOf: (path: string) => number | undefined;
}): VideoLocation {
  if (blobDir) {
    const path = join(blobDir, key);
    if (sizeOf(path) === sizeBytes) return { path };
  }
  if (link) return { url: link };
  return { none: `"${key}" is in the stack's blob storage, not on this machine (no link was given)` };
}

/** The size of a regular file, or undefined. */
export function fileSize(path: string): number | undefined {
  try {
    const s = statSync(path);
    return s.isFile() ? s.size : undefined;
  } catch {
    return undefined;
  }
}

/** The line the CLI prints for a location: the real path, or `link: <url>`. */
export function locationLine(loc: VideoLocation): string {
  if ('path' in loc) return realpathSync(loc.path);
  if ('url' in loc) return `link: ${loc.url}`;
  return loc.none;
}
