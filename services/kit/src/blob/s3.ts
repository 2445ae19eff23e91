import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createRequire } from 'node:module';
import type * as S3Sdk from '@aws-sdk/client-s3';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import type * as LibStorage from '@aws-sdk/lib-storage';
import type * as Presigner from '@aws-sdk/s3-request-presigner';
import { PermanentError, TransientError } from '../errors.ts';
import { withSpan } from '../telemetry/spans.ts';
import { contentTypeFor } from './content-type.ts';
import { assertBlobKey, assertBlobPrefix, BlobNotFoundError } from './errors.ts';
import { countS3Requests } from './metrics.ts';
import {
  asRetention,
  effectiveRetention,
  RETENTION_TAG,
  retentionTagging,
  type Retention,
} from './retention.ts';
import type { BlobInfo, BlobStore, ByteRange, PutOptions } from './types.ts';

export interface S3BlobStoreOptions {
  bucket: string;
  region: string;
  /** Any S3-compatible endpoint (MinIO, s3rver, R2…); AWS when absent. */
  endpoint?: string;
  /** `http://host/bucket/key` instead of `http://bucket.host/key` (MinIO, s3rver). */
  forcePathStyle?: boolean;
  /** Static credentials; the SDK's default chain (env, profile, IAM role) when absent. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Socket inactivity limit per request (a stalled transfer fails after this). Default 60 s. */
  requestTimeoutMs?: number;
  /** TCP connect limit. Default 5 s. */
  connectionTimeoutMs?: number;
  /** SDK attempts per request, with its exponential backoff. Default 3. */
  maxAttempts?: number;
  /** Multipart part size for streamed puts (min 5 MiB). Default 8 MiB. */
  partSize?: number;
}

const MiB = 1024 * 1024;

const requireCjs = createRequire(import.meta.url);
let loaded: { s3: typeof S3Sdk; storage: typeof LibStorage; presigner: typeof Presigner } | undefined;

/**
 * The AWS SDK (~25 MB resident) is loaded by the first S3BlobStore, not by every service that imports
 * the kit: the embedded profile (filesystem blobs) never pays for it. Its packages are CommonJS for
 * Node (`main`, no `exports`), so this require loads the very modules an `import` would.
 */
function sdk(): NonNullable<typeof loaded> {
  loaded ??= {
    s3: requireCjs('@aws-sdk/client-s3') as typeof S3Sdk,
    storage: requireCjs('@aws-sdk/lib-storage') as typeof LibStorage,
    presigner: requireCjs('@aws-sdk/s3-request-presigner') as typeof Presigner,
  };
  return loaded;
}

/**
 * Blobs in an S3 bucket. Streams both ways (multipart upload for puts of unknown length), so a
 * large video never sits in memory; every call has a timeout and bounded retries.
 */
export class S3BlobStore implements BlobStore {
  readonly kind = 's3' as const;
  readonly bucket: string;
  readonly client: S3Client;
  private readonly partSize: number;

  constructor(opts: S3BlobStoreOptions) {
    const {
      bucket,
      region,
      endpoint,
      forcePathStyle = false,
      credentials,
      requestTimeoutMs = 60_000,
      connectionTimeoutMs = 5_000,
      maxAttempts = 3,
      partSize = 8 * MiB,
    } = opts;
    this.bucket = bucket;
    this.partSize = Math.max(5 * MiB, partSize);
    const config: S3ClientConfig = {
      region,
      forcePathStyle,
      maxAttempts,
      requestHandler: { requestTimeout: requestTimeoutMs, connectionTimeout: connectionTimeoutMs },
      ...(endpoint ? { endpoint } : {}),
      ...(credentials ? { credentials } : {}),
      // S3-compatible servers (older MinIO, s3rver) reject the SDK's default trailing CRC checksums
      // (aws-chunked uploads); send checksums only where the API requires them.
      ...(endpoint
        ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }
        : {}),
    };
    this.client = new (sdk().s3.S3Client)(config);
    countS3Requests(this.client);
  }

  localPath(): undefined {
    return undefined;
  }

  async put(key: string, body: Readable | Uint8Array | string, opts: PutOptions = {}): Promise<BlobInfo> {
    assertBlobKey(key);
    const contentType = opts.contentType ?? contentTypeFor(key);
    const tagging = taggingOf(key, opts.retention);
    if (typeof body === 'string' || body instanceof Uint8Array) {
      const bytes = typeof body === 'string' ? Buffer.from(body) : body;
      await this.call('put', key, () =>
        this.client.send(
          new (sdk().s3.PutObjectCommand)({
            Bucket: this.bucket,
            Key: key,
            Body: bytes,
            ContentType: contentType,
            ContentLength: bytes.byteLength,
            ...tagging,
          }),
        ),
      );
      return { key, size: bytes.byteLength, modifiedAt: new Date(), ...(contentType ? { contentType } : {}) };
    }
    let size = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        size += chunk.length;
        cb(null, chunk);
      },
    });
    // pipeline() forwards a source error to the counter, which makes the Upload fail and abort.
    const piping = pipeline(body, counter);
    piping.catch(() => {}); // observed below; avoids an unhandled rejection when the upload fails first
    const upload = new (sdk().storage.Upload)({
      client: this.client,
      // Tagging goes on the PutObject or CreateMultipartUpload the Upload sends: tagged at write time.
      params: { Bucket: this.bucket, Key: key, Body: counter, ContentType: contentType, ...tagging },
      partSize: this.partSize,
      queueSize: 4,
      leavePartsOnError: false,
    });
    await this.call('put', key, async () => {
      try {
        await upload.done();
      } catch (err) {
        counter.destroy();
        throw err;
      }
      await piping;
    });
    return { key, size, modifiedAt: new Date(), ...(contentType ? { contentType } : {}) };
  }

  async putFile(key: string, filePath: string, opts: PutOptions = {}): Promise<BlobInfo> {
    assertBlobKey(key);
    let size: number;
    try {
      size = (await stat(filePath)).size;
    } catch (err) {
      throw new PermanentError(`s3 putFile "${key}": cannot read ${filePath}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const contentType = opts.contentType ?? contentTypeFor(key);
    if (size <= this.partSize) {
      // One PUT with a known length, streamed from the file. A consumed stream cannot be resent by
      // the SDK's own retry, so transient failures are retried here with a fresh stream.
      for (let attempt = 1; ; attempt++) {
        try {
          await this.call('putFile', key, () =>
            this.client.send(
              new (sdk().s3.PutObjectCommand)({
                Bucket: this.bucket,
                Key: key,
                Body: createReadStream(filePath),
                ContentLength: size,
                ContentType: contentType,
                ...taggingOf(key, opts.retention),
              }),
            ),
          );
          break;
        } catch (err) {
          if (!(err instanceof TransientError) || attempt >= 3) throw err;
          await new Promise((r) => setTimeout(r, 200 * 2 ** attempt * (0.5 + Math.random())));
        }
      }
      return { key, size, modifiedAt: new Date(), ...(contentType ? { contentType } : {}) };
    }
    return this.put(key, createReadStream(filePath), {
      ...(contentType ? { contentType } : {}),
      ...(opts.retention ? { retention: opts.retention } : {}),
    });
  }

  async get(key: string, opts: { range?: ByteRange } = {}): Promise<Readable> {
    assertBlobKey(key);
    const { range } = opts;
    if (range) {
      const ok =
        Number.isInteger(range.start) &&
        range.start >= 0 &&
        (range.end === undefined || (Number.isInteger(range.end) && range.end >= range.start));
      if (!ok)
        throw new PermanentError(`invalid byte range ${range.start}-${range.end ?? ''} for blob "${key}"`);
    }
    const res = await this.call('get', key, () =>
      this.client.send(
        new (sdk().s3.GetObjectCommand)({
          Bucket: this.bucket,
          Key: key,
          ...(range ? { Range: `bytes=${range.start}-${range.end ?? ''}` } : {}),
        }),
      ),
    );
    const body = res.Body;
    if (!body) return Readable.from([]);
    return body as Readable;
  }

  async download(key: string, filePath: string): Promise<void> {
    const stream = await this.get(key);
    await mkdir(dirname(resolve(filePath)), { recursive: true });
    try {
      await pipeline(stream, createWriteStream(filePath));
    } catch (err) {
      await rm(filePath, { force: true });
      throw new TransientError(
        `s3 download of "${key}" from bucket ${this.bucket} to ${filePath} failed: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }

  async stat(key: string): Promise<BlobInfo | undefined> {
    assertBlobKey(key);
    try {
      const res = await this.call('stat', key, () =>
        this.client.send(new (sdk().s3.HeadObjectCommand)({ Bucket: this.bucket, Key: key })),
      );
      return {
        key,
        size: res.ContentLength ?? 0,
        ...(res.ContentType ? { contentType: res.ContentType } : {}),
        ...(res.LastModified ? { modifiedAt: res.LastModified } : {}),
      };
    } catch (err) {
      if (err instanceof BlobNotFoundError) return undefined;
      throw err;
    }
  }

  async retentionOf(key: string): Promise<Retention | undefined> {
    assertBlobKey(key);
    try {
      const res = await this.call('retentionOf', key, () =>
        this.client.send(new (sdk().s3.GetObjectTaggingCommand)({ Bucket: this.bucket, Key: key })),
      );
      const tag = res.TagSet?.find((t) => t.Key === RETENTION_TAG);
      return asRetention(tag?.Value) ?? effectiveRetention(key, undefined);
    } catch (err) {
      if (err instanceof BlobNotFoundError) return undefined;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    assertBlobKey(key);
    try {
      await this.call('delete', key, () =>
        this.client.send(new (sdk().s3.DeleteObjectCommand)({ Bucket: this.bucket, Key: key })),
      );
    } catch (err) {
      if (!(err instanceof BlobNotFoundError)) throw err;
    }
  }

  async list(prefix: string): Promise<BlobInfo[]> {
    assertBlobPrefix(prefix);
    const out: BlobInfo[] = [];
    let token: string | undefined;
    do {
      const res = await this.call('list', prefix, () =>
        this.client.send(
          new (sdk().s3.ListObjectsV2Command)({
            Bucket: this.bucket,
            Prefix: prefix || undefined,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        ),
      );
      for (const o of res.Contents ?? []) {
        if (!o.Key) continue;
        out.push({
          key: o.Key,
          size: o.Size ?? 0,
          ...(o.LastModified ? { modifiedAt: o.LastModified } : {}),
        });
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** A GET URL valid for `expiresInSec` (default 1 h); `contentType` overrides the response header. */
  async presign(key: string, opts: { expiresInSec?: number; contentType?: string } = {}): Promise<string> {
    assertBlobKey(key);
    const { expiresInSec = 3600, contentType } = opts;
    return this.call('presign', key, () =>
      sdk().presigner.getSignedUrl(
        this.client,
        new (sdk().s3.GetObjectCommand)({
          Bucket: this.bucket,
          Key: key,
          ...(contentType ? { ResponseContentType: contentType } : {}),
        }),
        { expiresIn: expiresInSec },
      ),
    );
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  /** Runs one S3 call in a CLIENT span and turns its failure into a named, classified error. */
  private async call<T>(op: string, key: string, fn: () => Promise<T>): Promise<T> {
    return withSpan(
      `s3 ${op}`,
      {
        'rpc.system': 'aws-api',
        'rpc.service': 'S3',
        'rpc.method': op,
        'aws.s3.bucket': this.bucket,
        'aws.s3.key': key,
      },
      async () => {
        try {
          return await fn();
        } catch (err) {
          throw classifyS3Error({ err, op, key, bucket: this.bucket });
        }
      },
      { kind: 'client' },
    );
  }
}

/** The `Tagging` parameter of a write: the blob's retention class as an object tag (none for keys of no job). */
function taggingOf(key: string, said: Retention | undefined): { Tagging?: string } {
  const retention = effectiveRetention(key, said);
  return retention ? { Tagging: retentionTagging(retention) } : {};
}

/** Missing → BlobNotFoundError; network, timeouts, throttling, 5xx → TransientError; other 4xx → PermanentError. */
export function classifyS3Error({
  err,
  op,
  key,
  bucket,
}: {
  err: unknown;
  op: string;
  key: string;
  bucket: string;
}): Error {
  if (err instanceof BlobNotFoundError || err instanceof PermanentError || err instanceof TransientError)
    return err;
  const e = err as {
    name?: string;
    message?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? 'Error';
  const detail = `${name}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? String(err)}`;
  const what = `s3 ${op} of "${key}" in bucket ${bucket} failed`;
  if (name === 'NoSuchKey' || name === 'NotFound' || (status === 404 && name !== 'NoSuchBucket')) {
    return new BlobNotFoundError(key, { store: `s3 bucket ${bucket}`, cause: err });
  }
  if (
    status === undefined ||
    status >= 500 ||
    status === 408 ||
    status === 429 ||
    name === 'TimeoutError' ||
    name === 'RequestTimeout' ||
    name === 'SlowDown'
  ) {
    return new TransientError(`${what}: ${detail}`, { cause: err });
  }
  if (name === 'InvalidRange' || status === 416) {
    return new PermanentError(`${what}: the byte range lies outside the blob`, { cause: err });
  }
  return new PermanentError(`${what}: ${detail}; check the bucket name, region and credentials`, {
    cause: err,
  });
}
