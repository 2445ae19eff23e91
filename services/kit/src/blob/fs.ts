import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PermanentError } from '../errors.ts';
import { contentTypeFor } from './content-type.ts';
import { assertBlobKey, assertBlobPrefix, BlobNotFoundError } from './errors.ts';
import { countFsRequest } from './metrics.ts';
import { asRetention, effectiveRetention, type Retention } from './retention.ts';
import type { BlobInfo, BlobStore, ByteRange, PutOptions } from './types.ts';

/** Sidecar metadata (content type) lives apart from the blobs so `list` never sees it. */
const META_DIR = '.reelbus-meta';
/** Marks in-flight writes; `list` skips them. */
const TMP_MARK = '.reelbus-tmp-';

export interface FsBlobStoreOptions {
  /** Directory that holds every blob; created when missing. */
  root: string;
}

/**
 * Blobs as files under `root` (the embedded default). Writes go to a temp file in the target
 * directory and are renamed into place, so a reader never sees half a blob.
 */
export class FsBlobStore implements BlobStore {
  readonly kind = 'fs' as const;
  readonly root: string;

  constructor({ root }: FsBlobStoreOptions) {
    this.root = resolve(root);
  }

  localPath(key: string): string {
    assertBlobKey(key);
    if (key.split('/')[0] === META_DIR || basename(key).includes(TMP_MARK)) {
      throw new PermanentError(
        `invalid blob key "${key}": names starting with ${META_DIR} or containing ${TMP_MARK} are reserved`,
      );
    }
    const path = join(this.root, ...key.split('/'));
    const rel = relative(this.root, path);
    // Belt and braces after assertBlobKey: the resolved path must stay inside the root.
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
      throw new PermanentError(`invalid blob key "${key}": it resolves outside the blob root`);
    }
    return path;
  }

  private metaPath(key: string): string {
    return join(this.root, META_DIR, ...key.split('/')) + '.json';
  }

  private tmpPathBeside(path: string): string {
    return join(dirname(path), `${TMP_MARK}${basename(path)}-${randomBytes(6).toString('hex')}`);
  }

  // Each public call is counted in reelbus_blob_requests_total (store="fs"); the private methods do
  // the work, so the store's own internal calls (a put's stat) are not counted twice.
  put(key: string, body: Readable | Uint8Array | string, opts?: PutOptions): Promise<BlobInfo> {
    return countFsRequest('put', () => this.putBlob(key, body, opts));
  }
  putFile(key: string, filePath: string, opts?: PutOptions): Promise<BlobInfo> {
    return countFsRequest('putFile', () => this.putFileBlob(key, filePath, opts));
  }
  get(key: string, opts?: { range?: ByteRange }): Promise<Readable> {
    return countFsRequest('get', () => this.getBlob(key, opts));
  }
  download(key: string, filePath: string): Promise<void> {
    return countFsRequest('download', () => this.downloadBlob(key, filePath));
  }
  stat(key: string): Promise<BlobInfo | undefined> {
    return countFsRequest(
      'stat',
      () => this.statBlob(key),
      (info) => info === undefined,
    );
  }
  retentionOf(key: string): Promise<Retention | undefined> {
    return countFsRequest(
      'retentionOf',
      () => this.retentionOfBlob(key),
      (r) => r === undefined,
    );
  }
  delete(key: string): Promise<void> {
    return countFsRequest('delete', () => this.deleteBlob(key));
  }
  list(prefix: string): Promise<BlobInfo[]> {
    return countFsRequest('list', () => this.listBlobs(prefix));
  }

  private async putBlob(
    key: string,
    body: Readable | Uint8Array | string,
    opts: PutOptions = {},
  ): Promise<BlobInfo> {
    const path = this.localPath(key);
    await mkdir(dirname(path), { recursive: true });
    const tmp = this.tmpPathBeside(path);
    try {
      if (typeof body === 'string' || body instanceof Uint8Array) {
        await writeFile(tmp, body);
      } else {
        await pipeline(body, createWriteStream(tmp));
      }
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw new PermanentError(`fs blob put "${key}" failed: ${(err as Error).message}`, { cause: err });
    }
    await this.writeMeta(key, opts);
    return this.statOrThrow(key);
  }

  /**
   * Moves `filePath` into the store: a rename on the same filesystem (the caller hands the file
   * over; it is gone afterwards), a copy into a temp file + rename across filesystems. A file that
   * is itself inside the blob root is copied, never moved, so putting one blob at another key keeps both.
   */
  private async putFileBlob(key: string, filePath: string, opts: PutOptions = {}): Promise<BlobInfo> {
    const path = this.localPath(key);
    const src = resolve(filePath);
    try {
      await stat(src);
    } catch (err) {
      throw new PermanentError(
        `fs blob putFile "${key}": cannot read ${filePath}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    await mkdir(dirname(path), { recursive: true });
    const insideRoot = !relative(this.root, src).startsWith('..') && !isAbsolute(relative(this.root, src));
    let moved = false;
    if (!insideRoot) {
      try {
        await rename(src, path);
        moved = true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV') {
          throw new PermanentError(
            `fs blob putFile "${key}" from ${filePath} failed: ${(err as Error).message}`,
            { cause: err },
          );
        }
      }
    }
    if (!moved) {
      const tmp = this.tmpPathBeside(path);
      try {
        // copyFile copies in the kernel (or clones), never through this process's memory.
        await copyFile(src, tmp);
        await rename(tmp, path);
      } catch (err) {
        await rm(tmp, { force: true });
        throw new PermanentError(
          `fs blob putFile "${key}" from ${filePath} failed: ${(err as Error).message}`,
          { cause: err },
        );
      }
    }
    await this.writeMeta(key, opts);
    return this.statOrThrow(key);
  }

  private async getBlob(key: string, opts: { range?: ByteRange } = {}): Promise<Readable> {
    const path = this.localPath(key);
    let handle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      throw notFoundOr(err, key, `fs blob get "${key}"`);
    }
    const { range } = opts;
    if (!range) return handle.createReadStream();
    try {
      const { size } = await handle.stat();
      checkRange(key, range, size);
    } catch (err) {
      await handle.close();
      throw err;
    }
    return handle.createReadStream({ start: range.start, end: range.end });
  }

  private async downloadBlob(key: string, filePath: string): Promise<void> {
    const path = this.localPath(key);
    await mkdir(dirname(resolve(filePath)), { recursive: true });
    try {
      await copyFile(path, filePath);
    } catch (err) {
      throw notFoundOr(err, key, `fs blob download "${key}" to ${filePath}`);
    }
  }

  private async statBlob(key: string): Promise<BlobInfo | undefined> {
    const path = this.localPath(key);
    try {
      const s = await stat(path);
      if (!s.isFile()) return undefined;
      const contentType = (await this.readMeta(key)).contentType ?? contentTypeFor(key);
      return { key, size: s.size, modifiedAt: s.mtime, ...(contentType ? { contentType } : {}) };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  private async retentionOfBlob(key: string): Promise<Retention | undefined> {
    const path = this.localPath(key);
    try {
      if (!(await stat(path)).isFile()) return undefined;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
    return (await this.readMeta(key)).retention ?? effectiveRetention(key, undefined);
  }

  private async deleteBlob(key: string): Promise<void> {
    const path = this.localPath(key);
    await rm(path, { force: true });
    await rm(this.metaPath(key), { force: true });
  }

  private async listBlobs(prefix: string): Promise<BlobInfo[]> {
    assertBlobPrefix(prefix);
    // Walk only the deepest directory the prefix names.
    const slash = prefix.lastIndexOf('/');
    const baseKey = slash >= 0 ? prefix.slice(0, slash) : '';
    const baseDir = baseKey ? join(this.root, ...baseKey.split('/')) : this.root;
    const out: BlobInfo[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isMissing(err) || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
        throw err;
      }
      for (const e of entries) {
        const key = keyPrefix ? `${keyPrefix}/${e.name}` : e.name;
        if (e.name.includes(TMP_MARK) || (!keyPrefix && e.name === META_DIR)) continue;
        if (e.isDirectory()) {
          // Skip subtrees that cannot match the prefix.
          if (key.startsWith(prefix) || prefix.startsWith(key + '/')) await walk(join(dir, e.name), key);
        } else if (e.isFile() && key.startsWith(prefix)) {
          const info = await this.statBlob(key);
          if (info) out.push(info);
        }
      }
    };
    await walk(baseDir, baseKey);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async presign(): Promise<string | undefined> {
    return undefined;
  }

  async close(): Promise<void> {}

  /**
   * The sidecar holds what the file and its extension cannot: a content type other than the
   * extension's, and the retention class (always written for a job's blob, so an explicit class
   * survives a change of the naming convention).
   */
  private async writeMeta(key: string, opts: PutOptions): Promise<void> {
    const meta = this.metaPath(key);
    const contentType =
      opts.contentType && opts.contentType !== contentTypeFor(key) ? opts.contentType : undefined;
    const retention = effectiveRetention(key, opts.retention);
    if (!contentType && !retention) {
      await rm(meta, { force: true });
      return;
    }
    await mkdir(dirname(meta), { recursive: true });
    await writeFile(
      meta,
      JSON.stringify({ ...(contentType ? { contentType } : {}), ...(retention ? { retention } : {}) }),
    );
  }

  private async readMeta(key: string): Promise<{ contentType?: string; retention?: Retention }> {
    try {
      const meta = JSON.parse(await readFile(this.metaPath(key), 'utf8')) as {
        contentType?: unknown;
        retention?: unknown;
      };
      const retention = asRetention(meta.retention);
      return {
        ...(typeof meta.contentType === 'string' ? { contentType: meta.contentType } : {}),
        ...(retention ? { retention } : {}),
      };
    } catch {
      return {};
    }
  }

  private async statOrThrow(key: string): Promise<BlobInfo> {
    const info = await this.statBlob(key);
    if (!info) throw new BlobNotFoundError(key, { store: `fs store ${this.root}` });
    return info;
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR';
}

function notFoundOr(err: unknown, key: string, what: string): Error {
  if (isMissing(err)) return new BlobNotFoundError(key, { store: 'fs store', cause: err });
  return new PermanentError(`${what} failed: ${(err as Error).message}`, { cause: err });
}

/** Same rules as an S3 `Range` header: the start must lie inside the blob. */
export function checkRange(key: string, range: ByteRange, size: number): void {
  const { start, end } = range;
  const ok =
    Number.isInteger(start) && start >= 0 && (end === undefined || (Number.isInteger(end) && end >= start));
  if (!ok) throw new PermanentError(`invalid byte range ${start}-${end ?? ''} for blob "${key}"`);
  if (start >= size && size > 0) {
    throw new PermanentError(
      `byte range ${start}-${end ?? ''} starts past the end of blob "${key}" (${size} bytes)`,
    );
  }
}
