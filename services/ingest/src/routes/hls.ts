import { JobId } from '@reelbus/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { RouteContext } from '../app.ts';
import { HttpError, badRequest, notFound } from '../errors.ts';
import { ErrorBody, JobIdParams, LinkRequest, NoQuery, SignedLinkBody } from '../http/schemas.ts';
import type { LinkCheck, SignedLink } from '../links.ts';

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
 *
 * Access: the signed form is `public` to the access hook (a player has no key) and checks its own
 * signature before anything else runs (`preValidation`), like the webhooks check theirs; it counts
 * against the requests-per-minute limit per client address, as signed video links do.
 */

/** The path of a job's signed HLS files (Fastify syntax). */
export const SIGNED_HLS_PATH = '/v1/hls/:id/:expires/:signature/*';

const FILE_TYPES = {
  m3u8: 'application/vnd.apple.mpegurl',
  m4s: 'video/iso.segment',
  mp4: 'video/mp4',
} as const;

/** The content type of an HLS file by its extension; undefined for anything else. */
const fileType = (ext: string): string | undefined =>
  Object.hasOwn(FILE_TYPES, ext) ? FILE_TYPES[ext as keyof typeof FILE_TYPES] : undefined;

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

const HlsFile = z
  .string()
  .describe(
    'A file of the ladder, relative to the master playlist: `master.m3u8`, `720p/index.m3u8`, `720p/init.mp4`, `720p/seg_000.m4s`',
  );

const SignedHlsParams = z.object({
  id: JobId.describe('The job id the link was signed for'),
  expires: z
    .string()
    .regex(/^\d{1,12}$/, 'must be unix seconds')
    .describe('Unix seconds after which the link is refused'),
  signature: z
    .string()
    .regex(/^[0-9a-f]{64}$/i, 'must be 64 hex digits')
    .describe('hex HMAC-SHA256(LINK_SIGNING_SECRET, "HLS\\n<jobId>\\n<expires>")'),
  '*': HlsFile,
});

const HlsFileParams = JobIdParams.extend({ '*': HlsFile });

/** The answers of both file routes: playlists, init segments and media segments by content type. */
const HLS_FILE_RESPONSES = {
  200: {
    description:
      'The file: a playlist (`application/vnd.apple.mpegurl`), an init segment (`video/mp4`) or a media segment (`video/iso.segment`)',
    content: {
      [FILE_TYPES.m3u8]: { schema: z.string().describe('An HLS playlist (relative URIs)') },
      [FILE_TYPES.mp4]: { schema: z.file().describe('The fMP4 init segment of a rendition') },
      [FILE_TYPES.m4s]: { schema: z.file().describe('A 4 s fMP4 media segment') },
    },
  },
  302: z.undefined().describe('On S3, segments and init files: a redirect (Location) to a presigned S3 URL'),
  '4xx': ErrorBody,
} as const;

export const hlsRoutes: FastifyPluginAsyncZod<{ ctx: RouteContext }> = async (app, { ctx }) => {
  const { config, blobs, jobs } = ctx;

  const serve = async (reply: FastifyReply, jobId: string, path: string, cors: boolean) => {
    const key = hlsFileKey({ jobId, path });
    if (!key) throw badRequest('path', `"${path.slice(0, 200)}" is not a file of an HLS ladder`);
    const ext = path.slice(path.lastIndexOf('.') + 1);
    const type = fileType(ext);
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

  /** Before validation: a request without a valid signature learns nothing else (403, like the webhooks). */
  const checkSignature = async (req: FastifyRequest) => {
    const { id, expires, signature } = req.params as Record<string, string>;
    const check = verifyHlsSignature({
      jobId: id ?? '',
      expires: expires ?? '',
      signature: signature ?? '',
      secret: config.linkSigningSecret,
    });
    if (check.ok) return;
    const hint = 'ask for a fresh one with POST /v1/jobs/:id/hls/links';
    throw new HttpError({
      statusCode: 403,
      code: check.reason === 'expired' ? 'link_expired' : 'link_invalid',
      message:
        check.reason === 'expired'
          ? `this HLS link expired at ${new Date(Number(expires) * 1000).toISOString()}; ${hint}`
          : `this HLS link is not valid for job "${id}"; ${hint}`,
    });
  };

  app.route({
    method: 'GET',
    url: '/v1/jobs/:id/hls/*',
    config: { access: 'user' },
    schema: {
      summary: "A file of a job's HLS ladder (master playlist, rendition playlists, segments)",
      description:
        'With an API key. Players that cannot send one use the signed path form (`links.hls` of the job, or POST /v1/jobs/:id/hls/links).',
      tags: ['jobs'],
      params: HlsFileParams,
      querystring: NoQuery,
      response: HLS_FILE_RESPONSES,
    },
    handler: async (req, reply) => serve(reply, req.params.id, req.params['*'], false),
  });

  app.route({
    method: 'GET',
    url: SIGNED_HLS_PATH,
    // A player sends no key, and a playlist's relative URIs drop query strings: the signature is in
    // the path, covers every file under it, and is checked by `checkSignature` before anything else.
    config: { access: 'public' },
    preValidation: checkSignature,
    schema: {
      summary: "A file of a job's HLS ladder through a signed path (no API key)",
      description:
        'Open `…/<signature>/master.m3u8` (from `links.hls` of the job or POST /v1/jobs/:id/hls/links) in a player; the relative URIs in the playlists resolve under the same signed prefix. A changed job id, expiry or signature is `403 link_invalid`, an old link `403 link_expired`. Answers carry `Access-Control-Allow-Origin: *`. Counted per client address against RATE_LIMIT_REQUESTS_PER_MINUTE (429 with Retry-After).',
      tags: ['jobs'],
      params: SignedHlsParams,
      querystring: NoQuery,
      response: {
        ...HLS_FILE_RESPONSES,
        403: {
          description:
            'The signature is not valid for this job and expiry (`link_invalid`), or has expired (`link_expired`)',
          content: { 'application/json': { schema: ErrorBody } },
        },
        429: {
          description: 'Over the requests per minute of this client address: see Retry-After',
          content: { 'application/json': { schema: ErrorBody } },
        },
      },
    },
    handler: async (req, reply) => serve(reply, req.params.id, req.params['*'], true),
  });

  app.route({
    method: 'POST',
    url: '/v1/jobs/:id/hls/links',
    config: { access: 'user' },
    schema: {
      summary: "A signed, expiring link to a job's HLS master playlist that a player can open without a key",
      tags: ['jobs'],
      params: JobIdParams,
      querystring: NoQuery,
      body: LinkRequest,
      response: { 200: SignedLinkBody, '4xx': ErrorBody },
    },
    handler: async (req) => {
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
        ttlSec: req.body?.ttlSec ?? config.videoLinkTtlSec,
      });
    },
  });
};
