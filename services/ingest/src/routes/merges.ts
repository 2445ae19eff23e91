import multipart from '@fastify/multipart';
import {
  BlobKey,
  HttpUrl,
  MAX_MERGE_CLIPS,
  MergeRequestedV1,
  newJob,
  type EventDataInput,
  type MergeClip,
} from '@reelbus/contracts';
import { currentTraceId } from '@reelbus/kit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { extname } from 'node:path';
import { z } from 'zod';
import type { RouteContext } from '../app.ts';
import { checkCallbackUrl, isPrivateHost } from '../callback-url.ts';
import { HttpError, badRequest } from '../errors.ts';
import { newJobId } from '../ids.ts';

/*
 * `POST /v1/merges`: N clips (2-500) → one MP4, job kind `merge`. Written in the route style of
 * DESIGN.md ("HTTP routes"): the zod schemas below are what `fastify-type-provider-zod` serves as
 * OpenAPI once ingest moves to it (issue 11 §5); until then the handler validates with them itself
 * (JSON and multipart share one validation), and the job is created like routes/recordings.ts does
 * (create the job → publish → on failure delete it and answer 503), pending the shared
 * `jobs/submit.ts` helper.
 */

/** A clip: a blob key or https URL as a string, or `{ key }`, `{ url }`, `{ upload: "<multipart field>" }`. */
export const MergeClipRef = z.union([
  z.string().min(1).max(2048),
  z.object({ key: BlobKey }).strict(),
  z.object({ url: HttpUrl }).strict(),
  z
    .object({ upload: z.string().regex(/^[A-Za-z0-9_.[\]-]{1,64}$/, 'must name a multipart file field') })
    .strict(),
]);

export const MergeRequestBody = z
  .object({
    clips: z
      .array(MergeClipRef)
      .min(2, 'a merge needs at least 2 clips')
      .max(MAX_MERGE_CLIPS, `a merge takes at most ${MAX_MERGE_CLIPS} clips`),
    callbackUrl: z.string().optional(),
  })
  .strict();
export type MergeRequestBody = z.infer<typeof MergeRequestBody>;

export const MergeAccepted = z.object({
  jobId: z.string(),
  statusUrl: z.string(),
  eventsUrl: z.string(),
  /** How many clips the merge joins. */
  clips: z.number().int(),
});

export const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), field: z.string().optional() }),
});

/** The route's schema, ready for fastify-type-provider-zod (summary, tags, body, responses). */
export const mergeRouteSchema = {
  summary: 'Join 2-500 clips into one MP4 (stream copy when they match)',
  tags: ['merges'],
  body: MergeRequestBody,
  response: { 202: MergeAccepted, 400: ErrorBody, 401: ErrorBody, 413: ErrorBody, 503: ErrorBody },
} as const;

/** `clips.1.url` → `clips[1].url`, the JSON path users read. */
export function jsonPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (out, p) => (typeof p === 'number' ? `${out}[${p}]` : out ? `${out}.${String(p)}` : String(p)),
    '',
  );
}

/** Every problem at once: `clips[1]: …; clips[3].url: …`. */
function invalid(issues: Array<{ path: string; message: string }>): HttpError {
  return new HttpError({
    statusCode: 400,
    code: 'invalid_input',
    field: issues[0]?.path ?? 'body',
    message: issues.map((i) => `${i.path || 'body'}: ${i.message}`).join('; '),
  });
}

/**
 * Pure: a request body (JSON, or multipart fields parsed) plus the keys of the files uploaded with it
 * → `merge.requested` data. Every bad clip is named at once; URLs must be https on public hosts
 * unless `allowPrivateUrls`.
 */
export function extractMerge({
  body,
  uploads,
  allowPrivateUrls,
  allowPrivateCallbacks,
}: {
  body: unknown;
  /** Uploaded files by multipart field name → their blob key. */
  uploads: ReadonlyMap<string, string>;
  allowPrivateUrls: boolean;
  allowPrivateCallbacks: boolean;
}): EventDataInput<'merge.requested'> {
  const parsed = MergeRequestBody.safeParse(body);
  if (!parsed.success) {
    throw invalid(parsed.error.issues.map((i) => ({ path: jsonPath(i.path), message: i.message })));
  }
  const problems: Array<{ path: string; message: string }> = [];
  const used = new Set<string>();
  const clips: MergeClip[] = parsed.data.clips.map((ref, i) => {
    const path = `clips[${i}]`;
    let clip: MergeClip | undefined;
    if (typeof ref === 'string') {
      const v = ref.trim();
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) {
        if (/^https?:\/\//i.test(v)) clip = { url: v };
        else
          problems.push({ path, message: `"${v.slice(0, 100)}" is neither an http(s) URL nor a blob key` });
      } else {
        const key = BlobKey.safeParse(v);
        if (key.success) clip = { key: v };
        else
          problems.push({
            path,
            message: `"${v.slice(0, 100)}" ${key.error.issues[0]?.message ?? 'is not a blob key'}`,
          });
      }
    } else if ('upload' in ref) {
      const key = uploads.get(ref.upload);
      if (!key)
        problems.push({
          path: `${path}.upload`,
          message: `no file was uploaded in the multipart field "${ref.upload}"`,
        });
      else if (used.has(ref.upload))
        problems.push({
          path: `${path}.upload`,
          message: `the file "${ref.upload}" is already used by another clip`,
        });
      else {
        used.add(ref.upload);
        clip = { key };
      }
    } else clip = ref;
    if (clip && 'url' in clip) {
      const url = new URL(clip.url);
      if (!allowPrivateUrls && url.protocol !== 'https:')
        problems.push({ path, message: `must be an https URL (got ${url.protocol.replace(':', '')})` });
      else if (!allowPrivateUrls && isPrivateHost(url.hostname))
        problems.push({ path, message: `host "${url.hostname}" is private or loopback; use a public host` });
      else if (!HttpUrl.safeParse(clip.url).success)
        problems.push({ path, message: 'must be an http(s) URL' });
    }
    return clip ?? { key: 'invalid' };
  });
  for (const name of uploads.keys()) {
    if (!used.has(name))
      problems.push({
        path: name,
        message: 'this uploaded file is not used by any clip ({ "upload": "<field>" })',
      });
  }
  if (problems.length) throw invalid(problems);
  const callbackUrl = checkCallbackUrl({
    value: parsed.data.callbackUrl,
    allowPrivate: allowPrivateCallbacks,
  });
  const data = { clips, ...(callbackUrl ? { callbackUrl } : {}) };
  const check = MergeRequestedV1.data.safeParse(data);
  if (!check.success)
    throw invalid(check.error.issues.map((i) => ({ path: jsonPath(i.path), message: i.message })));
  return data;
}

const VIDEO_EXTS = new Set(['.mp4', '.m4v', '.mov', '.webm', '.mkv', '.avi', '.ts', '.mpg', '.3gp']);

/** The extension an uploaded clip is stored with (ffprobe looks at the content anyway). */
export function uploadExtension({ filename, mimetype }: { filename: string; mimetype: string }): string {
  const ext = extname(filename).toLowerCase();
  if (VIDEO_EXTS.has(ext)) return ext;
  if (mimetype === 'video/quicktime') return '.mov';
  if (mimetype === 'video/webm') return '.webm';
  return '.mp4';
}

/**
 * Reads a multipart merge: a `clips` field (the JSON list, uploads as `{ "upload": "<field>" }`),
 * `callbackUrl`, and the files. Without a `clips` field the files are the clips, in order.
 * Files are streamed straight into `jobs/<jobId>/input/`.
 */
async function readMultipart({
  req,
  ctx,
  prefix,
}: {
  req: FastifyRequest;
  ctx: RouteContext;
  prefix: string;
}): Promise<{ body: Record<string, unknown>; uploads: Map<string, string> }> {
  const fields: Record<string, string> = {};
  const uploads = new Map<string, string>();
  let n = 0;
  for await (const part of req.parts()) {
    if (part.type === 'field') {
      if (part.fieldname !== 'clips' && part.fieldname !== 'callbackUrl')
        throw badRequest(part.fieldname, 'unknown field; expected clips (JSON list), callbackUrl, and files');
      fields[part.fieldname] = String(part.value);
      continue;
    }
    // Repeated field names (`-F clip=@a.mp4 -F clip=@b.mp4`) get an index: each file is its own clip.
    let field = part.fieldname;
    if (uploads.has(field)) {
      let i = 1;
      while (uploads.has(`${part.fieldname}[${i}]`)) i++;
      field = `${part.fieldname}[${i}]`;
    }
    const key = `${prefix}clip-${String(n++).padStart(3, '0')}${uploadExtension(part)}`;
    await ctx.blobs.put(key, part.file, { contentType: part.mimetype || 'application/octet-stream' });
    if (part.file.truncated) {
      throw new HttpError({
        statusCode: 413,
        code: 'too_large',
        field,
        message: `"${part.filename}" is larger than the limit of ${ctx.config.uploadMaxBytes} bytes (UPLOAD_MAX_BYTES)`,
      });
    }
    uploads.set(field, key);
  }
  let clips: unknown;
  if (fields.clips !== undefined) {
    try {
      clips = JSON.parse(fields.clips);
    } catch {
      throw badRequest('clips', 'must be a JSON list of clips (blob keys, URLs, { "upload": "<field>" })');
    }
  } else clips = [...uploads.keys()].map((upload) => ({ upload }));
  return { body: { clips, ...(fields.callbackUrl ? { callbackUrl: fields.callbackUrl } : {}) }, uploads };
}

export async function mergeRoutes(app: FastifyInstance, { ctx }: { ctx: RouteContext }) {
  const { config, bus, jobs, blobs } = ctx;
  await app.register(multipart, {
    limits: {
      fileSize: config.uploadMaxBytes,
      files: MAX_MERGE_CLIPS,
      fields: 10,
      fieldSize: 512 * 1024,
      parts: MAX_MERGE_CLIPS + 10,
    },
  });

  app.post('/v1/merges', { onRequest: ctx.requireApiKey, bodyLimit: 2 * 1024 * 1024 }, async (req, reply) => {
    const jobId = newJobId();
    const prefix = `jobs/${jobId}/input/`;
    let uploaded = false;
    try {
      let body: unknown = req.body;
      let uploads = new Map<string, string>();
      if (req.isMultipart()) {
        uploaded = true;
        ({ body, uploads } = await readMultipart({ req, ctx, prefix }));
      }
      const data = extractMerge({
        body,
        uploads,
        allowPrivateUrls: config.allowPrivateUrls ?? false,
        allowPrivateCallbacks: config.allowPrivateCallbacks,
      });
      await jobs.create(
        newJob({
          id: jobId,
          kind: 'merge',
          traceId: currentTraceId(),
          input: data,
          ...(data.callbackUrl ? { callbackUrl: data.callbackUrl } : {}),
        }),
      );
      try {
        await bus.publish('merge.requested', jobId, data, { id: `merge.requested:${jobId}` });
      } catch (err) {
        req.log.error({ err, jobId }, 'publishing merge.requested failed');
        await jobs.delete(jobId).catch(() => undefined);
        throw new HttpError({
          statusCode: 503,
          code: 'bus_unavailable',
          message: 'cannot queue the merge right now; try again shortly',
          headers: { 'retry-after': '2' },
          cause: err,
        });
      }
      req.log.info({ jobId, clips: data.clips.length }, 'merge job created');
      const base = `${config.publicBaseUrl}/v1/jobs/${jobId}`;
      return reply
        .code(202)
        .send({ jobId, statusUrl: base, eventsUrl: `${base}/events`, clips: data.clips.length });
    } catch (err) {
      if (uploaded) {
        const found = await blobs.list(prefix).catch(() => []);
        await Promise.all(found.map((b) => blobs.delete(b.key))).catch(() => undefined);
      }
      if ((err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE')
        throw new HttpError({
          statusCode: 413,
          code: 'too_large',
          message: `an upload is larger than the limit of ${config.uploadMaxBytes} bytes (UPLOAD_MAX_BYTES)`,
        });
      throw err;
    }
  });
}
