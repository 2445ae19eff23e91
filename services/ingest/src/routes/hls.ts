import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { RouteContext } from '../app.ts';
import type { LinkCheck, SignedLink } from '../auth.ts';
import { HttpError, badRequest, notFound } from '../errors.ts';

/*
 * Serving a job's HLS (issue 10 §4). Players cannot send an Authorization header, and a playlist's
 * relative segment URLs drop the query string, so a `?signature=` link would work for master.m3u8
 * and fail for every file it names. A signed HLS link therefore carries its expiry and signature IN
 * THE PATH, and the signature covers every file under it:
 *
 *   /v1/hls/<jobId>/<expires>/<signature>/master.m3u8
 *   /v1/hls/<jobId>/<expires>/<signature>/720p/index.m3u8     (resolved by the player, same prefix)
 *   /v1/hls/<jobId>/<expires>/<signature>/720p/seg_000.m4s
 *
 * signature = hex HMAC-SHA256(LINK_SIGNING_SECRET, "HLS\n<jobId>\n<expires>"). With an API key,
 * `GET /v1/jobs/:id/hls/*` serves the same files. On S3, playlists are served by ingest (so relative
 * URLs stay on the signed prefix) and every other file answers 302 to a presigned S3 URL.
 */

const FILE_TYPES: Record<string, string> = {
  m3u8: 'application/vnd.apple.mpegurl',
  m4s: 'video/iso.segment',
  mp4: 'video/mp4',
};
const MAX_HLS_LINK_TTL_SEC = 7 * 86_400;

/** The signature of a job's HLS link: it covers every file under `jobs/<jobId>/hls/` until `expires`. */
export function hlsSignature({
  jobId,
  expires,
  secret,
}: {
  jobId: string;
  expires: number;
  secret: string;
}): string {
  return createHmac('sha256', secret).update(`HLS\n${jobId}\n${expires}`).digest('hex');
}

/** A link to a job's master playlist that players can open without an API key until `ttlSec` from `now`. */
export function signHlsLink({
  baseUrl,
  jobId,
  secret,
  ttlSec,
  now = Date.now(),
}: {
  baseUrl: string;
  jobId: string;
  secret: string;
  ttlSec: number;
  now?: number;
}): SignedLink {
  const expires = Math.floor(now / 1000) + Math.max(1, Math.floor(ttlSec));
  const signature = hlsSignature({ jobId, expires, secret });
  return {
    url: `${baseUrl}/v1/hls/${encodeURIComponent(jobId)}/${expires}/${signature}/master.m3u8`,
    expiresAt: new Date(expires * 1000).toISOString(),
  };
}

/** Checks the expiry and signature from a signed HLS path (constant-time compare, then expiry). */
export function verifyHlsSignature({
  jobId,
  expires,
  signature,
  secret,
  now = Date.now(),
}: {
  jobId: string;
  expires: string;
  signature: string;
  secret: string;
  now?: number;
}): LinkCheck {
  if (!/^\d{1,12}$/.test(expires) || !/^[0-9a-f]{64}$/i.test(signature))
    return { ok: false, reason: 'malformed' };
  const exp = Number(expires);
  const expected = Buffer.from(hlsSignature({ jobId, expires: exp, secret }), 'hex');
  const given = Buffer.from(signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, reason: 'invalid' };
  if (exp * 1000 <= now) return { ok: false, reason: 'expired' };
  return { ok: true };
}

/** The blob key of `path` within a job's HLS, or undefined for anything but plain relative names (no `..`). */
export function hlsFileKey({ jobId, path }: { jobId: string; path: string }): string | undefined {
  const parts = path.split('/');
  if (parts.length === 0 || parts.length > 4) return undefined;
  if (!parts.every((p) => /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}$/.test(p) && p !== '..' && p !== '.'))
    return undefined;
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(jobId)) return undefined;
  return `jobs/${jobId}/hls/${parts.join('/')}`;
}

export const HlsLinkBody = z
  .object({ ttlSec: z.number().int().min(1).max(MAX_HLS_LINK_TTL_SEC).optional() })
  .strict();
export const HlsLinkAnswer = z.object({ url: z.string(), expiresAt: z.string() });

export async function hlsRoutes(app: FastifyInstance, { ctx }: { ctx: RouteContext }) {
  const { config, blobs, jobs } = ctx;

  const serve = async (reply: FastifyReply, jobId: string, path: string, cors: boolean) => {
    const key = hlsFileKey({ jobId, path });
    if (!key) throw badRequest('path', `"${path.slice(0, 200)}" is not a file of an HLS ladder`);
    const ext = path.slice(path.lastIndexOf('.') + 1);
    const type = FILE_TYPES[ext];
    if (!type) throw notFound(`no HLS file ${path}`);
    if (cors) reply.header('access-control-allow-origin', '*');
    if (ext !== 'm3u8') {
      const presigned = await blobs.presign(key, { expiresInSec: 3600, contentType: type });
      if (presigned) return reply.redirect(presigned, 302);
    }
    const info = await blobs.stat(key);
    if (!info) throw notFound(`job "${jobId}" has no HLS file ${path}`);
    return reply
      .code(200)
      .header('content-type', type)
      .header('content-length', info.size)
      .header('cache-control', ext === 'm3u8' ? 'private, max-age=60' : 'private, max-age=86400')
      .send(await blobs.get(key));
  };

  app.get<{ Params: { id: string; '*': string } }>(
    '/v1/jobs/:id/hls/*',
    { onRequest: ctx.requireApiKey },
    async (req, reply) => serve(reply, req.params.id, req.params['*'], false),
  );

  app.get<{ Params: { id: string; expires: string; signature: string; '*': string } }>(
    '/v1/hls/:id/:expires/:signature/*',
    async (req, reply) => {
      const { id, expires, signature } = req.params;
      const check = verifyHlsSignature({ jobId: id, expires, signature, secret: config.linkSigningSecret });
      if (!check.ok) {
        const hint = 'ask for a fresh one with POST /v1/jobs/:id/hls/links';
        throw new HttpError({
          statusCode: 403,
          code: check.reason === 'expired' ? 'link_expired' : 'link_invalid',
          message:
            check.reason === 'expired'
              ? `this HLS link expired at ${new Date(Number(expires) * 1000).toISOString()}; ${hint}`
              : `this HLS link is not valid for job "${id}"; ${hint}`,
        });
      }
      return serve(reply, id, req.params['*'], true);
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/jobs/:id/hls/links',
    { onRequest: ctx.requireApiKey },
    async (req) => {
      const body = HlsLinkBody.safeParse(req.body ?? {});
      if (!body.success)
        throw badRequest('ttlSec', `must be a whole number of seconds from 1 to ${MAX_HLS_LINK_TTL_SEC}`);
      const job = await jobs.get(req.params.id);
      if (!job) throw notFound(`job "${req.params.id}" does not exist`);
      if (!job.outputs.hls)
        throw notFound(
          `job "${job.id}" has no HLS (status: ${job.status}); render with output.formats ["mp4", "hls"]`,
        );
      return signHlsLink({
        baseUrl: config.publicBaseUrl,
        jobId: job.id,
        secret: config.linkSigningSecret,
        ttlSec: body.data.ttlSec ?? config.videoLinkTtlSec,
      });
    },
  );
}
