// A local S3 for tests: s3rver on a free port, its data in a temp dir. s3rver ignores the
// `x-amz-tagging` header that S3 and MinIO apply on PutObject and CreateMultipartUpload (it only
// implements the `?tagging` subresource), so this helper adds that piece of the S3 API: a write
// that carries tags stores them exactly as a PutObjectTagging would, and GetObjectTagging reads
// them back. Everything else is s3rver's own.
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3BlobStore } from '../blob/s3.ts';
import { freePort } from './nats.ts';

export interface LocalS3 {
  /** `http://127.0.0.1:<port>` (path-style). */
  endpoint: string;
  /** An S3BlobStore on `bucket` (default: the first configured one). */
  store(bucket?: string): S3BlobStore;
  close(): Promise<void>;
}

/** Static credentials s3rver accepts. */
export const LOCAL_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

interface KoaCtx {
  method: string;
  path: string;
  query: Record<string, string | undefined>;
  status: number;
  body: unknown;
  get(header: string): string;
  store: { putSubresource(bucket: string, key: string, resource: unknown): Promise<void> };
}
type Middleware = (ctx: KoaCtx, next: () => Promise<void>) => Promise<void>;

/** `a=1&b=2` → the Tagging XML body PutObjectTagging takes. */
function taggingXml(header: string): string {
  const tags = [...new URLSearchParams(header)].map(
    ([k, v]) => `<Tag><Key>${escapeXml(k)}</Key><Value>${escapeXml(v)}</Value></Tag>`,
  );
  return `<Tagging><TagSet>${tags.join('')}</TagSet></Tagging>`;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Starts s3rver with `buckets` on a free loopback port. */
export async function startLocalS3(opts: { buckets: string[] }): Promise<LocalS3> {
  const { buckets } = opts;
  const require = createRequire(import.meta.url);
  // CommonJS, loaded on demand (only tests that need an S3 pay for Koa and s3rver).
  const S3rver = require('s3rver') as new (opts: Record<string, unknown>) => {
    run(): Promise<unknown>;
    close(): Promise<void>;
  };
  const { TaggingConfiguration } = require('s3rver/lib/models/config.js') as {
    TaggingConfiguration: new (xml: string) => unknown;
  };
  const dir = await mkdtemp(join(tmpdir(), 'reelbus-s3rver-'));
  const port = await freePort();
  const server = new S3rver({
    address: '127.0.0.1',
    port,
    silent: true,
    directory: dir,
    configureBuckets: buckets.map((name) => ({ name })),
  });

  // Tags given on CreateMultipartUpload, applied when the upload completes.
  const pendingTags = new Map<string, string>();
  const objectOf = (path: string): { bucket: string; key: string } | undefined => {
    const m = /^\/([^/]+)\/(.+)$/.exec(path);
    return m ? { bucket: m[1]!, key: decodeURIComponent(m[2]!) } : undefined;
  };
  const putTags = (ctx: KoaCtx, bucket: string, key: string, header: string) =>
    ctx.store.putSubresource(bucket, key, new TaggingConfiguration(taggingXml(header)));
  const tagging: Middleware = async (ctx, next) => {
    const header = ctx.get('x-amz-tagging');
    const obj = objectOf(ctx.path);
    await next();
    if (!obj || ctx.status !== 200) return;
    if (ctx.method === 'PUT' && header && !('tagging' in ctx.query) && !ctx.get('x-amz-copy-source')) {
      if ('partNumber' in ctx.query) return;
      await putTags(ctx, obj.bucket, obj.key, header);
    } else if (ctx.method === 'POST' && 'uploads' in ctx.query && header) {
      const uploadId = (ctx.body as { InitiateMultipartUploadResult?: { UploadId?: string } })
        ?.InitiateMultipartUploadResult?.UploadId;
      if (uploadId) pendingTags.set(uploadId, header);
    } else if (ctx.method === 'POST' && ctx.query.uploadId) {
      const saved = pendingTags.get(ctx.query.uploadId);
      if (saved) {
        pendingTags.delete(ctx.query.uploadId);
        await putTags(ctx, obj.bucket, obj.key, saved);
      }
    }
  };
  // s3rver is a Koa app whose last middleware is its router: run ours just before it.
  const stack = (server as unknown as { middleware: Middleware[] }).middleware;
  stack.splice(stack.length - 1, 0, tagging);
  await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const stores: S3BlobStore[] = [];
  return {
    endpoint,
    store(bucket = buckets[0]!) {
      const s = new S3BlobStore({
        bucket,
        region: 'us-east-1',
        endpoint,
        forcePathStyle: true,
        credentials: LOCAL_S3_CREDENTIALS,
        requestTimeoutMs: 10_000,
      });
      stores.push(s);
      return s;
    },
    async close() {
      for (const s of stores) await s.close();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
