import multipart from '@fastify/multipart';
import {
  BlobKey,
  MAX_MERGE_CLIPS,
  MergeRequestedV1,
  type EventDataInput,
  type MergeClip,
} from '@reelbus/contracts';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { extname } from 'node:path';
import { z } from 'zod';
import type { RouteContext } from '../app.ts';
import { checkCallbackUrl, isPrivateHost } from '../callback-url.ts';
import { HttpError, badRequest, invalidInput, isHttpError, type FieldIssue } from '../errors.ts';
import { ErrorBody, JobAccepted, NoQuery, TestModeField, jobLinks, readTestMode } from '../http/schemas.ts';
import { fieldIssues } from '../http/validation.ts';
import { newJobId } from '../ids.ts';

/*
 * `POST /v1/merges`: N clips (2-500) → one MP4, job kind `merge`, started by `merge.requested`.
 * JSON (blob keys and URLs) or multipart (files, optionally mixed with keys and URLs through a
 * `clips` field). Both are checked by one schema (`mergeRequestBody`), which names every bad clip by
 * its JSON path in one 400: Fastify runs it on JSON bodies, `extractMerge` on multipart ones once
 * the files are stored.
 */

const CLIP_HELP =
  'must be a blob key, an https URL, { "key": … }, { "url": … } or { "upload": "<file field>" }';
const UPLOAD_FIELD = /^[A-Za-z0-9_.[\]-]{1,64}$/;

/** A clip as a request names it (before it becomes a `MergeClip` of the event). */
export const MergeClipRef = z
  .union(
    [
      z
        .string()
        .min(1, 'must not be empty')
        .max(2048, 'must be at most 2048 characters')
        .describe('A blob key, or an https URL'),
      z
        .strictObject({
          key: BlobKey.optional().describe('A blob key'),
          url: z
            .string()
            .max(2048, 'must be at most 2048 characters')
            .optional()
            .describe('An https URL on a public host'),
          upload: z
            .string()
            .regex(UPLOAD_FIELD, 'must name a multipart file field (1-64 letters, digits, _ . - [ ])')
            .optional()
            .describe('Multipart only: the name of the file field that holds this clip'),
        })
        .describe('Exactly one of key, url, upload'),
    ],
    { error: CLIP_HELP },
  )
  .meta({ id: 'MergeClip', description: 'A blob key or https URL, or { key } / { url } / { upload }' });
export type MergeClipRef = z.infer<typeof MergeClipRef>;

/** What a clip reference names once checked. */
export type ReadClip = MergeClip | { upload: string };

export interface ClipRules {
  /** Accept `http` and private/loopback hosts (ALLOW_PRIVATE_URLS, local development). */
  allowPrivateUrls: boolean;
  /** The file fields uploaded with a multipart request; undefined for a JSON request (no files). */
  uploads: ReadonlySet<string> | undefined;
}

/** Pure: why a clip URL is refused (https on a public host, unless `allowPrivateUrls`), or undefined. */
export function clipUrlProblem(value: string, allowPrivateUrls: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `"${value.slice(0, 100)}" is not a valid URL`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return `"${value.slice(0, 100)}" is neither an http(s) URL nor a blob key`;
  if (url.username || url.password) return 'must not contain credentials';
  if (!allowPrivateUrls && url.protocol !== 'https:') return 'must be an https URL (got http)';
  if (!allowPrivateUrls && isPrivateHost(url.hostname))
    return `host "${url.hostname}" is private or loopback; use a public host (or ALLOW_PRIVATE_URLS=true for local development)`;
  return undefined;
}

/**
 * Pure: what one clip reference names (a blob key, a URL, an uploaded file), or what is wrong with it
 * and where (`path` relative to the clip: `[]` or `['url']`, …). A string with a scheme is a URL,
 * anything else a blob key.
 */
export function readClipRef(
  ref: MergeClipRef,
  { allowPrivateUrls, uploads }: ClipRules,
): { clip: ReadClip } | { path: string[]; message: string } {
  if (typeof ref === 'string') {
    const v = ref.trim();
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) {
      const problem = clipUrlProblem(v, allowPrivateUrls);
      return problem ? { path: [], message: problem } : { clip: { url: v } };
    }
    const key = BlobKey.safeParse(v);
    if (!key.success)
      return {
        path: [],
        message: `"${v.slice(0, 100)}" ${key.error.issues[0]?.message ?? 'is not a blob key'}`,
      };
    return { clip: { key: v } };
  }
  const given = (['key', 'url', 'upload'] as const).filter((k) => ref[k] !== undefined);
  if (given.length !== 1) {
    return {
      path: [],
      message:
        given.length === 0
          ? 'give one of key, url or upload'
          : `give only one of key, url or upload (got ${given.join(', ')})`,
    };
  }
  if (ref.key !== undefined) return { clip: { key: ref.key } };
  if (ref.url !== undefined) {
    const problem = clipUrlProblem(ref.url, allowPrivateUrls);
    return problem ? { path: ['url'], message: problem } : { clip: { url: ref.url } };
  }
  const upload = ref.upload!;
  if (!uploads?.has(upload)) {
    return {
      path: ['upload'],
      message: uploads
        ? `no file was uploaded in the multipart field "${upload}"`
        : `no file was uploaded in the multipart field "${upload}" (a JSON request carries no files: send multipart/form-data)`,
    };
  }
  return { clip: { upload } };
}

/**
 * The request body, checked under the service's rules: every bad clip and a bad `callbackUrl` become
 * issues at their JSON paths (`clips[3].url`), so one 400 names them all.
 */
export function mergeRequestBody(rules: ClipRules & { allowPrivateCallbacks: boolean }) {
  const clip = MergeClipRef.superRefine((ref, ctx) => {
    const read = readClipRef(ref, rules);
    if ('message' in read) ctx.addIssue({ code: 'custom', path: read.path, message: read.message });
  });
  return z.strictObject({
    clips: z
      .array(clip)
      .min(2, 'a merge needs at least 2 clips')
      .max(MAX_MERGE_CLIPS, `a merge takes at most ${MAX_MERGE_CLIPS} clips`)
      .describe('The clips, in the order they are joined (2-500)'),
    callbackUrl: z
      .string()
      .optional()
      .superRefine((value, ctx) => {
        try {
          checkCallbackUrl({ value, allowPrivate: rules.allowPrivateCallbacks });
        } catch (err) {
          if (!isHttpError(err)) throw err;
          ctx.addIssue({ code: 'custom', message: err.issues?.[0]?.message ?? err.message });
        }
      })
      .describe('Where the notifier POSTs the signed result webhook'),
    testMode: z
      .union([z.boolean(), z.enum(['true', 'false'])], { error: 'must be true or false' })
      .optional()
      .describe(TestModeField.description ?? 'A test run'),
  });
}

/** The multipart form (documentation only: the route reads it as a stream, files straight to storage). */
export const MergeForm = z
  .object({
    clips: z
      .string()
      .optional()
      .describe(
        'The clips as a JSON list (the items of the JSON body; a file is { "upload": "<its field name>" }). Without it, the files are the clips in the order sent.',
      ),
    callbackUrl: z.string().optional().describe('Where the notifier POSTs the signed result webhook'),
    testMode: z
      .enum(['true', 'false'])
      .optional()
      .describe(TestModeField.description ?? 'A test run'),
    clip: z
      .array(z.file())
      .optional()
      .describe('Files, repeat the field: each is one clip, in order (when no clips field is sent)'),
  })
  .catchall(z.file().describe('A file named by { "upload": "<field>" } in clips'));

export const MergeAccepted = JobAccepted.extend({
  clips: z.number().int().describe('How many clips the merge joins'),
});

/**
 * Pure: a request body (JSON, or multipart fields parsed) plus the blob keys of the files uploaded
 * with it (multipart field → key; undefined for JSON) → `merge.requested` data. Throws one 400 naming
 * every bad clip, a file two clips use, and every uploaded file no clip uses.
 */
export function extractMerge({
  body,
  uploads,
  allowPrivateUrls,
  allowPrivateCallbacks,
}: {
  body: unknown;
  uploads: ReadonlyMap<string, string> | undefined;
  allowPrivateUrls: boolean;
  allowPrivateCallbacks: boolean;
}): EventDataInput<'merge.requested'> {
  const rules = {
    allowPrivateUrls,
    allowPrivateCallbacks,
    uploads: uploads ? new Set(uploads.keys()) : undefined,
  };
  const parsed = mergeRequestBody(rules).safeParse(body);
  const issues: FieldIssue[] = parsed.success ? [] : fieldIssues(parsed.error);

  // Each file is one clip: a second use, and a file no clip names, are mistakes worth naming.
  const raw = (body as { clips?: unknown } | null | undefined)?.clips;
  const usedBy = new Map<string, number>();
  (Array.isArray(raw) ? raw : []).forEach((ref: unknown, i) => {
    const upload = (ref as { upload?: unknown } | null)?.upload;
    if (typeof upload !== 'string' || !uploads?.has(upload)) return;
    const first = usedBy.get(upload);
    if (first === undefined) usedBy.set(upload, i);
    else
      issues.push({
        field: `clips[${i}].upload`,
        message: `the file "${upload}" is already clips[${first}]; upload it again under another name to use it twice`,
      });
  });
  for (const name of uploads?.keys() ?? []) {
    if (!usedBy.has(name))
      issues.push({
        field: name,
        message: 'this uploaded file is not used by any clip ({ "upload": "<field>" })',
      });
  }
  if (!parsed.success || issues.length > 0) throw invalidInput(issues);

  const clips = parsed.data.clips.map((ref): MergeClip => {
    const read = readClipRef(ref, rules);
    if (!('clip' in read)) throw new Error('unreachable: the schema checked every clip');
    return 'upload' in read.clip ? { key: uploads!.get(read.clip.upload)! } : read.clip;
  });
  const callbackUrl = checkCallbackUrl({
    value: parsed.data.callbackUrl,
    allowPrivate: allowPrivateCallbacks,
  });
  const data = { clips, ...(callbackUrl ? { callbackUrl } : {}) };
  const check = MergeRequestedV1.data.safeParse(data);
  if (!check.success) throw invalidInput(fieldIssues(check.error));
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
    // Streamed straight into storage: an upload is never held whole in memory.
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
  return {
    body: {
      clips,
      ...(fields.callbackUrl ? { callbackUrl: fields.callbackUrl } : {}),
      ...(fields.testMode !== undefined ? { testMode: fields.testMode } : {}),
    },
    uploads,
  };
}

export const mergeRoutes: FastifyPluginAsyncZod<{ ctx: RouteContext }> = async (app, { ctx }) => {
  const { config, blobs } = ctx;
  const rules = {
    allowPrivateUrls: config.allowPrivateUrls ?? false,
    allowPrivateCallbacks: config.allowPrivateCallbacks,
  };
  await app.register(multipart, {
    limits: {
      fileSize: config.uploadMaxBytes,
      files: MAX_MERGE_CLIPS,
      fields: 10,
      fieldSize: 512 * 1024,
      parts: MAX_MERGE_CLIPS + 10,
    },
  });

  app.route({
    method: 'POST',
    url: '/v1/merges',
    config: { access: 'user' },
    // 500 clips of long URLs
    bodyLimit: 2 * 1024 * 1024,
    schema: {
      summary: 'Join 2-500 clips into one MP4 (stream copy when they match)',
      description:
        'JSON with blob keys and https URLs, or multipart with the files (streamed to `jobs/<jobId>/input/clip-NNN.<ext>`), optionally mixed with keys and URLs through a `clips` field. Every bad clip is named by its JSON path in one 400. A clip that is missing or does not decode fails the job, naming it. The job completes with `outputs.video` (`videoCount` = the number of clips).',
      tags: ['merges'],
      querystring: NoQuery,
      body: {
        content: {
          'application/json': { schema: mergeRequestBody({ ...rules, uploads: undefined }) },
          'multipart/form-data': { schema: MergeForm },
        },
      },
      response: { 202: MergeAccepted, '4xx': ErrorBody, 503: ErrorBody },
    },
    handler: async (req, reply) => {
      const jobId = newJobId();
      const prefix = `jobs/${jobId}/input/`;
      let uploaded = false;
      try {
        let body: unknown = req.body;
        let uploads: Map<string, string> | undefined;
        if (req.isMultipart()) {
          uploaded = true;
          ({ body, uploads } = await readMultipart({ req, ctx, prefix }));
        }
        const data = extractMerge({ body, uploads, ...rules });
        await ctx.submitJob({
          job: {
            id: jobId,
            kind: 'merge',
            input: data,
            ...(data.callbackUrl ? { callbackUrl: data.callbackUrl } : {}),
          },
          event: { type: 'merge.requested', data },
          principal: req.principal,
          testMode: readTestMode((body as { testMode?: unknown }).testMode),
        });
        uploaded = false;
        req.log.info({ jobId, clips: data.clips.length }, 'merge job created');
        return reply
          .code(202)
          .send({ jobId, ...jobLinks(config.publicBaseUrl, jobId), clips: data.clips.length });
      } catch (err) {
        // A refused request (400, 413, 429, 503) keeps none of its files.
        if (uploaded) {
          const found = await blobs.list(prefix).catch(() => []);
          await Promise.all(found.map((b) => blobs.delete(b.key).catch(() => undefined)));
        }
        if ((err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE')
          throw new HttpError({
            statusCode: 413,
            code: 'too_large',
            message: `an upload is larger than the limit of ${config.uploadMaxBytes} bytes (UPLOAD_MAX_BYTES)`,
          });
        throw err;
      }
    },
  });
};
