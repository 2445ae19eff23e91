import multipart from '@fastify/multipart';
import {
  BlobKey,
  problemsOf,
  RenderRequestedV1,
  TimelineRequest,
  type EventDataInput,
  type Problem,
} from '@reelbus/contracts';
import type { FastifyRequest, FastifySchemaCompiler } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { extname } from 'node:path';
import { z } from 'zod';
import type { RouteContext } from '../app.ts';
import { checkCallbackUrl, isPrivateHost } from '../callback-url.ts';
import { HttpError, badRequest, invalidInput, isHttpError, type FieldIssue } from '../errors.ts';
import { ErrorBody, JobAccepted, NoQuery, TestModeField, jobLinks, readTestMode } from '../http/schemas.ts';
import { RequestValidationError, zodValidatorCompiler } from '../http/validation.ts';
import { newJobId } from '../ids.ts';

/**
 * `POST /v1/renders`: render any Timeline (issue 10 §1), job kind `render`. The body is a request
 * Timeline (contracts/schemas/timeline-request.v1.json) plus `callbackUrl`, `backend` and `testMode`; as JSON, or
 * as multipart with the Timeline in a `timeline` field and files that sources name by their field
 * (`source: { upload: "<field>" }`). Uploads are streamed to `jobs/<jobId>/input/<field><ext>` and
 * become `{ key }` sources before `render.requested` is published; the compositor fetches URLs, probes
 * and resolves the rest.
 */

/** The largest JSON body (a Timeline travels on the bus; NATS's default message limit is 1 MiB). */
export const RENDER_BODY_LIMIT = 512 * 1024;

/** The request's own fields beside the Timeline's (not part of `render.requested`'s Timeline). */
const RENDER_OPTIONS = ['callbackUrl', 'backend', 'testMode'] as const;

/**
 * The JSON body: a request Timeline plus `callbackUrl`, `backend` and `testMode`. The request
 * Timeline's objects are strict, so an unknown field at any level is refused by its JSON path.
 */
export const RenderJsonBody = TimelineRequest.safeExtend({
  callbackUrl: z.string().optional().describe('Where the notifier POSTs the signed result webhook'),
  backend: z
    .enum(['ffmpeg', 'mediaconvert'])
    .optional()
    .describe('Encoder backend (the encoder default when absent); chunked rendering is ffmpeg only'),
  testMode: TestModeField,
}).meta({
  id: 'RenderRequest',
  description:
    'A request Timeline (contracts/schemas/timeline-request.v1.json: start/duration may be "auto"; sources { key } | { url } | { upload }; unknown fields are refused at every level) plus callbackUrl, backend and testMode',
});

/** The multipart form: the Timeline as JSON text, and the files its `{ upload }` sources name. */
export const RenderForm = z
  .object({
    timeline: z
      .string()
      .describe('The request Timeline as JSON; sources name files as { "upload": "<field>" }'),
    callbackUrl: z.string().optional(),
    backend: z.enum(['ffmpeg', 'mediaconvert']).optional(),
    testMode: z
      .enum(['true', 'false'])
      .optional()
      .describe(TestModeField.description ?? 'A test run'),
  })
  .catchall(z.file().describe('A file a source names by this field'));

const RenderAccepted = JobAccepted.extend({
  uploads: z.number().int().describe('Files stored with the request'),
  urls: z.number().int().describe('URL sources the compositor will fetch'),
});

/** `400` naming every problem of a request Timeline by its JSON path (contracts' `problemsOf`). */
function timelineIssues(body: unknown): FieldIssue[] {
  const res = RenderJsonBody.safeParse(body);
  if (res.success) return [];
  return problemsOf(res.error).map((p: Problem) => ({ field: p.path || 'body', message: p.message }));
}

/**
 * The render route's body validator: contracts' `problemsOf`, which reads a failed union the way a
 * Timeline author means it (`{ key: "/abs" }` is told what is wrong with the key, not that it is
 * neither a URL nor an upload). Multipart bodies are read as a stream by the handler.
 */
const renderValidatorCompiler: FastifySchemaCompiler<z.ZodType> = (route) => {
  if (route.httpPart !== 'body') return zodValidatorCompiler(route);
  if (route.contentType === 'multipart/form-data') return () => true;
  return (data: unknown) => {
    const issues = timelineIssues(data);
    if (issues.length) return { error: new RequestValidationError(issues, 'body') };
    return { value: data };
  };
};

const MEDIA_EXTENSIONS = new Set([
  '.mp4',
  '.m4v',
  '.mov',
  '.webm',
  '.mkv',
  '.avi',
  '.ts',
  '.mpg',
  '.3gp',
  '.jpg',
  '.jpeg',
  '.png',
  '.webp',
  '.gif',
  '.heic',
  '.tif',
  '.tiff',
  '.bmp',
  '.wav',
  '.mp3',
  '.m4a',
  '.aac',
  '.ogg',
  '.oga',
  '.opus',
  '.flac',
]);

/**
 * Where an uploaded file is stored: `jobs/<jobId>/input/<field><ext>`, the extension taken from the
 * file's name (or its type), unless the field name already ends with one (`photo.jpg`).
 */
export function uploadKey({
  jobId,
  field,
  filename,
  mimetype,
}: {
  jobId: string;
  field: string;
  filename: string;
  mimetype: string;
}): string {
  const own = extname(field).toLowerCase();
  if (MEDIA_EXTENSIONS.has(own)) return `jobs/${jobId}/input/${field}`;
  const fromName = extname(filename).toLowerCase();
  const fromType = `.${mimetype.split('/')[1]?.split(';')[0]?.replace('jpeg', 'jpg').replace('quicktime', 'mov')}`;
  const ext = MEDIA_EXTENSIONS.has(fromName) ? fromName : MEDIA_EXTENSIONS.has(fromType) ? fromType : '';
  return `jobs/${jobId}/input/${field}${ext}`;
}

/** What `readRender` makes of a request. */
export interface ReadRender {
  data: EventDataInput<'render.requested'>;
  issues: FieldIssue[];
  /** URL sources (for the answer). */
  urls: number;
  /** `{ key }` sources the user named (each must be in blob storage). */
  keys: Array<{ path: string; key: string }>;
}

/** A source as the raw body holds it, with its JSON path: found even when the rest of the body is malformed. */
interface RawSource {
  path: string;
  source: Record<string, unknown>;
}

/** Every `source` object of a raw request body (clips, waveforms, audio tracks), in order. */
export function rawSources(body: unknown): RawSource[] {
  const out: RawSource[] = [];
  const isObj = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObj(body)) return out;
  const tracks = Array.isArray(body.tracks) ? body.tracks : [];
  tracks.forEach((track: unknown, ti) => {
    const clips = isObj(track) && Array.isArray(track.clips) ? track.clips : [];
    clips.forEach((clip: unknown, ci) => {
      if (isObj(clip) && isObj(clip.source))
        out.push({ path: `tracks[${ti}].clips[${ci}].source`, source: clip.source });
    });
  });
  (Array.isArray(body.audio) ? body.audio : []).forEach((a: unknown, i) => {
    if (isObj(a) && isObj(a.source)) out.push({ path: `audio[${i}].source`, source: a.source });
  });
  return out;
}

/**
 * Pure: a request body (the JSON, or the multipart `timeline` parsed, with `callbackUrl`/`backend`)
 * and the keys of the files uploaded with it → `render.requested` data, and every problem by its JSON
 * path at once: schema problems, `{ upload }` sources without a file (or a file no source uses), URLs
 * that are not https on a public host (unless `allowPrivateUrls`). `keys` lists the `{ key }` sources
 * the caller must find in blob storage.
 */
export function readRender({
  body,
  uploads,
  allowPrivateUrls,
}: {
  body: unknown;
  /** Uploaded files by multipart field name → their blob key. */
  uploads: ReadonlyMap<string, string>;
  allowPrivateUrls: boolean;
}): ReadRender {
  const issues = timelineIssues(body);
  const reported = new Set(issues.map((i) => i.field));
  const used = new Set<string>();
  const keys: Array<{ path: string; key: string }> = [];
  let urls = 0;
  const sources = rawSources(body);
  for (const { path, source: s } of sources) {
    if (reported.has(path) || [...reported].some((f) => f.startsWith(`${path}.`))) continue;
    if (typeof s.upload === 'string') {
      if (uploads.has(s.upload)) used.add(s.upload);
      else
        issues.push({
          field: path,
          message:
            uploads.size === 0
              ? `names the upload "${s.upload}", but no file was sent: send multipart/form-data with the file in the field "${s.upload}"`
              : `no file was uploaded in the multipart field "${s.upload}"`,
        });
    } else if (typeof s.url === 'string') {
      urls++;
      const url = new URL(s.url);
      if (!allowPrivateUrls && url.protocol !== 'https:')
        issues.push({ field: path, message: `must be an https URL (got ${url.protocol.replace(':', '')})` });
      else if (!allowPrivateUrls && isPrivateHost(url.hostname))
        issues.push({
          field: path,
          message: `host "${url.hostname}" is private or loopback; use a public host`,
        });
    } else if (typeof s.key === 'string') keys.push({ path, key: s.key });
  }
  for (const field of uploads.keys()) {
    if (!used.has(field))
      issues.push({
        field,
        message: 'this uploaded file is not named by any source ({ "upload": "<field>" })',
      });
  }
  if (issues.length > 0) return { data: { timeline: { version: 1 } }, issues, urls, keys };
  // Uploads become the keys they were stored at; the user's other fields go on as sent.
  const {
    callbackUrl,
    backend,
    testMode: _testMode,
    ...timeline
  } = structuredClone(body) as Record<string, unknown>;
  for (const { source } of rawSources(timeline)) {
    if (typeof source.upload === 'string') {
      const key = uploads.get(source.upload)!;
      delete source.upload;
      source.key = key;
    }
  }
  const data = {
    timeline,
    ...(typeof callbackUrl === 'string' ? { callbackUrl } : {}),
    ...(typeof backend === 'string' ? { backend } : {}),
  } as EventDataInput<'render.requested'>;
  return { data, issues, urls, keys };
}

export const renderRoutes: FastifyPluginAsyncZod<{ ctx: RouteContext }> = async (app, { ctx }) => {
  const { config, blobs } = ctx;
  const allowPrivateUrls = config.allowPrivateUrls ?? false;
  await app.register(multipart, {
    limits: {
      fileSize: config.uploadMaxBytes,
      files: 200,
      fields: 6,
      fieldSize: RENDER_BODY_LIMIT,
      parts: 206,
    },
  });

  /** Reads the form: text fields, and every file streamed straight into `jobs/<jobId>/input/`. */
  async function readMultipart(
    req: FastifyRequest,
    jobId: string,
  ): Promise<{ fields: Record<string, string>; uploads: Map<string, string> }> {
    const fields: Record<string, string> = {};
    const uploads = new Map<string, string>();
    for await (const part of req.parts()) {
      if (part.type === 'field') {
        if (!['timeline', ...RENDER_OPTIONS].includes(part.fieldname))
          throw badRequest(
            part.fieldname,
            'unknown field; expected timeline (JSON), callbackUrl, backend, testMode and files',
          );
        fields[part.fieldname] = String(part.value);
        continue;
      }
      const field = part.fieldname;
      if (!/^[A-Za-z0-9_.-]{1,100}$/.test(field) || uploads.has(field)) {
        part.file.resume();
        throw badRequest(
          field,
          uploads.has(field)
            ? 'two files were sent in this field; give each file its own field name'
            : 'a file field name must be 1-100 letters, digits, "_", "-" or "."',
        );
      }
      const key = uploadKey({ jobId, field, filename: part.filename, mimetype: part.mimetype });
      await blobs.put(key, part.file, { contentType: part.mimetype || 'application/octet-stream' });
      if (part.file.truncated) {
        throw new HttpError({
          statusCode: 413,
          code: 'too_large',
          field,
          message: `"${part.filename}" is larger than the limit of ${config.uploadMaxBytes} bytes (UPLOAD_MAX_BYTES)`,
        });
      }
      uploads.set(field, key);
    }
    return { fields, uploads };
  }

  app.route({
    method: 'POST',
    url: '/v1/renders',
    config: { access: 'user' },
    bodyLimit: RENDER_BODY_LIMIT,
    // Typed by the route's schema object; the compiler reads its zod schemas the way the app's does.
    validatorCompiler: renderValidatorCompiler as never,
    schema: {
      summary: 'Render a Timeline to an MP4 (and HLS, a poster), chunked in parallel when long',
      description:
        'JSON: a request Timeline (contracts/schemas/timeline-request.v1.json) with `callbackUrl`, `backend` and `testMode` beside its fields. Multipart: the Timeline as JSON in a `timeline` field, and each file in the field its source names (`{ "upload": "<field>" }`), streamed to `jobs/<jobId>/input/`. URL sources are fetched by the compositor (https, public hosts). Every bad field, an unknown (misspelt) one at any level too, is named by its JSON path in one 400.',
      tags: ['renders'],
      querystring: NoQuery,
      body: {
        content: {
          'application/json': { schema: RenderJsonBody },
          'multipart/form-data': { schema: RenderForm },
        },
      },
      response: { 202: RenderAccepted, '4xx': ErrorBody, 503: ErrorBody },
    },
    handler: async (req, reply) => {
      const jobId = newJobId();
      let uploaded = false;
      try {
        let body: unknown = req.body;
        let uploads = new Map<string, string>();
        if (req.isMultipart()) {
          uploaded = true;
          const mp = await readMultipart(req, jobId);
          uploads = mp.uploads;
          if (mp.fields.timeline === undefined)
            throw badRequest('timeline', 'is required: the Timeline as JSON');
          let timeline: unknown;
          try {
            timeline = JSON.parse(mp.fields.timeline);
          } catch (err) {
            throw badRequest('timeline', `is not JSON (${(err as Error).message})`);
          }
          if (typeof timeline !== 'object' || timeline === null || Array.isArray(timeline))
            throw badRequest('timeline', 'must be a JSON object (the Timeline)');
          body = {
            ...timeline,
            ...(mp.fields.callbackUrl ? { callbackUrl: mp.fields.callbackUrl } : {}),
            ...(mp.fields.backend ? { backend: mp.fields.backend } : {}),
            // a text field: "true" or "false" (a 400 naming testMode otherwise)
            ...(mp.fields.testMode !== undefined ? { testMode: readTestMode(mp.fields.testMode) } : {}),
          };
        }
        const read = readRender({ body, uploads, allowPrivateUrls });
        const { issues } = read;
        // Named keys must exist, and the callback must be a usable URL: in the same answer.
        for (const { path, key } of read.keys) {
          if (!BlobKey.safeParse(key).success) continue;
          if (!(await blobs.stat(key)))
            issues.push({
              field: path,
              message: `blob "${key}" is not in storage; upload it, or give an https URL`,
            });
        }
        let callbackUrl: string | undefined;
        try {
          callbackUrl = checkCallbackUrl({
            // from the body as sent: checked even when other fields are wrong
            value: (body as Record<string, unknown> | null)?.callbackUrl,
            allowPrivate: config.allowPrivateCallbacks,
          });
        } catch (err) {
          if (!isHttpError(err) || !err.issues) throw err;
          issues.push(...err.issues);
        }
        if (issues.length > 0) throw invalidInput(issues);
        const data = RenderRequestedV1.data.parse({ ...read.data, ...(callbackUrl ? { callbackUrl } : {}) });

        await ctx.submitJob({
          job: { id: jobId, kind: 'render', input: data, ...(callbackUrl ? { callbackUrl } : {}) },
          event: { type: 'render.requested', data },
          principal: req.principal,
          testMode: (body as { testMode?: unknown }).testMode === true,
        });
        uploaded = false;
        req.log.info({ jobId, uploads: uploads.size, urls: read.urls }, 'render job created');
        return reply
          .code(202)
          .send({ jobId, ...jobLinks(config.publicBaseUrl, jobId), uploads: uploads.size, urls: read.urls });
      } catch (err) {
        if (uploaded) {
          const found = await blobs.list(`jobs/${jobId}/input/`).catch(() => []);
          await Promise.all(found.map((b) => blobs.delete(b.key).catch(() => undefined)));
        }
        if ((err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') {
          throw new HttpError({
            statusCode: 413,
            code: 'too_large',
            message: `an upload is larger than the limit of ${config.uploadMaxBytes} bytes (UPLOAD_MAX_BYTES)`,
          });
        }
        throw err;
      }
    },
  });
};
