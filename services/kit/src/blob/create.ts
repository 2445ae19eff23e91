import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { assertBlobKey, BlobNotFoundError } from './errors.ts';
import { FsBlobStore } from './fs.ts';
import { S3BlobStore, type S3BlobStoreOptions } from './s3.ts';
import type { BlobStore } from './types.ts';

export type CreateBlobStoreOptions = { kind: 'fs'; root: string } | ({ kind: 's3' } & S3BlobStoreOptions);

/** The blob store a service's config asks for (`BLOB_STORE=fs|s3`). */
export function createBlobStore(opts: CreateBlobStoreOptions): BlobStore {
  if (opts.kind === 'fs') return new FsBlobStore({ root: opts.root });
  const { kind: _kind, ...s3 } = opts;
  return new S3BlobStore(s3);
}

/**
 * Runs `fn` with a local file holding the blob at `key`: the blob's own path on the filesystem
 * store (no copy), else a download into a fresh temp dir under `tmpDir` that is removed after `fn`
 * settles, on success and on failure. The temp file keeps the key's base name (ffmpeg reads the extension).
 */
export async function withLocalFile<T>(
  opts: { blobs: BlobStore; key: string; tmpDir?: string },
  fn: (path: string) => Promise<T> | T,
): Promise<T> {
  const { blobs, key, tmpDir = tmpdir() } = opts;
  assertBlobKey(key);
  const local = blobs.localPath(key);
  if (local !== undefined) {
    const s = await stat(local).catch(() => undefined);
    if (!s?.isFile()) throw new BlobNotFoundError(key, { store: `${blobs.kind} store` });
    return fn(local);
  }
  await mkdir(tmpDir, { recursive: true });
  const dir = await mkdtemp(join(tmpDir, 'reelbus-blob-'));
  try {
    const file = join(dir, basename(key));
    await blobs.download(key, file);
    return await fn(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
