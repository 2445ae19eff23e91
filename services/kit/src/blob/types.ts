import type { Readable } from 'node:stream';
import type { Retention } from './retention.ts';

export interface BlobInfo {
  key: string;
  size: number;
  contentType?: string;
  modifiedAt?: Date;
}

/** Options of a write. */
export interface PutOptions {
  contentType?: string;
  /**
   * What the blob is to its job (issue 15 §1): `output` (delivered) or `intermediate` (made from,
   * removed `INTERMEDIATE_TTL` after the job finished). Default: the key's name decides
   * (`conventionalRetention`). Kept with the blob: an S3 object tag, or the filesystem sidecar.
   */
  retention?: Retention;
}

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive; to the end when absent. */
  end?: number;
}

/**
 * Blob storage: filesystem (embedded default) or S3 (any S3-compatible endpoint).
 * Keys are relative `/`-separated paths; outputs go to deterministic keys (`jobs/<jobId>/<step>/…`)
 * so a redone step overwrites instead of duplicating.
 */
export interface BlobStore {
  readonly kind: 'fs' | 's3';
  /** Stores a stream, bytes or string at `key` (streamed: multipart upload on S3). Overwrites. */
  put(key: string, body: Readable | Uint8Array | string, opts?: PutOptions): Promise<BlobInfo>;
  /** Stores a local file at `key` (on fs: a rename/copy, never through memory). */
  putFile(key: string, filePath: string, opts?: PutOptions): Promise<BlobInfo>;
  /** A stream of the blob, or of a byte range of it. Throws BlobNotFoundError. */
  get(key: string, opts?: { range?: ByteRange }): Promise<Readable>;
  /** Writes the blob to a local file. Throws BlobNotFoundError. */
  download(key: string, filePath: string): Promise<void>;
  /** Size and type, or undefined when absent. */
  stat(key: string): Promise<BlobInfo | undefined>;
  /**
   * The retention class stored with the blob (S3: its `reelbus-retention` tag; fs: the sidecar), else
   * the key's conventional class (blobs written before classes were stored); undefined when the
   * blob is absent or belongs to no job.
   */
  retentionOf(key: string): Promise<Retention | undefined>;
  /** Removes the blob; no error when absent. */
  delete(key: string): Promise<void>;
  /** Every blob whose key starts with `prefix`. */
  list(prefix: string): Promise<BlobInfo[]>;
  /** A presigned GET URL (S3), or undefined where the store has none (fs). */
  presign(key: string, opts?: { expiresInSec?: number; contentType?: string }): Promise<string | undefined>;
  /** The blob's path on local disk when the store is the filesystem (lets ffmpeg read it in place), else undefined. */
  localPath(key: string): string | undefined;
  close?(): Promise<void>;
}
