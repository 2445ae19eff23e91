import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/*
 * The studio (services/ingest/studio, a static single-page app) served at `/`, same origin as the
 * API, under a strict Content-Security-Policy: scripts, styles and fetches only from this origin,
 * no inline code, images from here and `blob:` (thumbnails of files being uploaded), media from
 * here plus the origins video and poster redirects go to (a presigned S3 URL). Nothing is
 * compressed: byte ranges of videos must stay exact (iOS Safari plays only from `206` answers).
 */

export interface StudioSettings {
  /** The built app (its index.html and assets/). */
  dir: string;
  /** Origins besides this one that <video>/<img> may load from (S3 or CDN redirects). */
  mediaOrigins: string[];
}

/** The Content-Security-Policy of every studio answer. */
export function studioCsp({ mediaOrigins }: { mediaOrigins: readonly string[] }): string {
  const media = ["'self'", ...mediaOrigins].join(' ');
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src ${media} blob:`,
    `media-src ${media}`,
    "connect-src 'self'",
    "font-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * What a GET outside the API is: a file of the build (`/assets/…`, `/favicon.svg`: a last segment
 * with a dot), a page of the app (anything else: the app routes it), or not the studio's (`/v1`).
 */
export function studioPathKind(path: string): 'file' | 'page' | 'none' {
  if (path === '/v1' || path.startsWith('/v1/')) return 'none';
  const last = path.slice(path.lastIndexOf('/') + 1);
  return last.includes('.') ? 'file' : 'page';
}

/** The origin a presigned S3 URL of this bucket points at, for the CSP's media sources. */
export function s3MediaOrigin(s3: {
  bucket: string | undefined;
  region: string;
  endpoint: string | undefined;
  forcePathStyle: boolean;
}): string | undefined {
  if (!s3.bucket) return undefined;
  if (s3.endpoint) {
    const u = new URL(s3.endpoint);
    return s3.forcePathStyle ? u.origin : `${u.protocol}//${s3.bucket}.${u.host}`;
  }
  return `https://${s3.bucket}.s3.${s3.region}.amazonaws.com`;
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  // Signed links carry their signature in the URL: never send it on as a Referer.
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'x-frame-options': 'DENY',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
};

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>reelbus studio</title></head>
<body><h1>The studio is not built</h1><p>Run <code>npm run build</code> in the repository (or <code>npm run stack</code>, which builds it),
then reload. The API works without it: see <a href="/v1/jobs">/v1</a>.</p></body></html>`;

/** Serves the studio: files of the build, and index.html for every page path. */
export async function studioRoutes(
  app: FastifyInstance,
  { settings }: { settings: StudioSettings },
): Promise<void> {
  const { dir } = settings;
  const csp = studioCsp(settings);
  if (!existsSync(join(dir, 'index.html')))
    app.log.warn({ dir }, 'the studio is not built (npm run build); / explains how until it is');
  await app.register(fastifyStatic, { root: dir, serve: false, suppressWarning: true });
  app.addHook('onSend', async (_req, reply) => {
    reply.header('content-security-policy', csp).headers(SECURITY_HEADERS);
  });

  const serve = async (req: FastifyRequest, reply: FastifyReply) => {
    const path = req.url.split('?')[0] ?? '/';
    const kind = studioPathKind(path);
    if (kind === 'none') return reply.callNotFound();
    if (kind === 'file') {
      // Vite names assets by content hash: cache them for good; anything else revalidates.
      const hashed = path.startsWith('/assets/');
      reply.header('cache-control', hashed ? 'public, max-age=31536000, immutable' : 'no-cache');
      return reply.sendFile(path.slice(1), { cacheControl: false, index: false });
    }
    if (!existsSync(join(dir, 'index.html'))) {
      return reply
        .code(503)
        .header('cache-control', 'no-store')
        .type('text/html; charset=utf-8')
        .send(NOT_BUILT);
    }
    reply.header('cache-control', 'no-cache');
    return reply.sendFile('index.html', { cacheControl: false });
  };
  // Public (the app asks for the key itself), outside the API description, and not rate-limited:
  // its files are static and a page load is a handful of them.
  const options = {
    config: { access: 'public' as const, rateLimit: false as const },
    schema: { hide: true },
  };
  app.get('/', options, serve);
  app.get('/*', options, serve);
}
