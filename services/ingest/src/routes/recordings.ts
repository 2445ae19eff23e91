import multipart from '@fastify/multipart';
import { RecordingReceivedV1, type EventDataInput } from '@reelbus/contracts';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { extname } from 'node:path';
import { z } from 'zod';
import type { RouteContext } from '../app.ts';
import { checkCallbackUrl } from '../callback-url.ts';
import { HttpError, badRequest, invalidInput } from '../errors.ts';
import { ErrorBody, JobAccepted, NoQuery, jobLinks, readTestMode } from '../http/schemas.ts';
import { fieldIssues } from '../http/validation.ts';
import { newJobId } from '../ids.ts';

const AUDIO_EXTS = new Set(['.wav', '.mp3', '.m4a', '.ogg', '.flac', '.webm']);
const AUDIO_EXT_BY_TYPE: Record<string, string> = {
  'audio/wav': '.wav',
  'audio/x-wav': '.wav',
  'audio/wave': '.wav',
  'audio/vnd.wave': '.wav',
  'audio/mpeg': '.mp3',
  'audio/mp3': '.mp3',
  'audio/mp4': '.m4a',
  'audio/x-m4a': '.m4a',
  'audio/aac': '.m4a',
  'audio/ogg': '.ogg',
  'audio/flac': '.flac',
  'audio/x-flac': '.flac',
  'audio/webm': '.webm',
};
const TYPE_BY_EXT: Record<string, string> = {
  '.wav': 'audio/wav',
  '.mp3': 'audio/mpeg',
  '.m4a': 'audio/mp4',
  '.ogg': 'audio/ogg',
  '.flac': 'audio/flac',
  '.webm': 'audio/webm',
  '.jpg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.heic': 'image/heic',
  '.heif': 'image/heif',
};

/** The part's own type when it names the kind of media, else the one its extension implies (curl sends octet-stream). */
function contentTypeOf({
  mimetype,
  ext,
  kind,
}: {
  mimetype: string;
  ext: string;
  kind: 'audio' | 'image';
}): string {
  const type = mimetype.toLowerCase().split(';')[0]?.trim() ?? '';
  if (type.startsWith(`${kind}/`)) return type;
  return TYPE_BY_EXT[ext] ?? 'application/octet-stream';
}

const IMAGE_EXTS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.heic', '.heif']);
const IMAGE_EXT_BY_TYPE: Record<string, string> = {
  'image/jpeg': '.jpg',
  'image/png': '.png',
  'image/webp': '.webp',
  'image/heic': '.heic',
  'image/heif': '.heif',
};

/** `.wav` etc. for an accepted recording, or undefined when it is neither audio by type nor by name. */
export function recordingExtension({
  filename,
  mimetype,
}: {
  filename: string;
  mimetype: string;
}): string | undefined {
  const ext = extname(filename).toLowerCase();
  if (AUDIO_EXTS.has(ext)) return ext;
  const type = mimetype.toLowerCase().split(';')[0]?.trim() ?? '';
  if (type.startsWith('audio/')) return AUDIO_EXT_BY_TYPE[type] ?? '';
  return undefined;
}

function imageExtension({ filename, mimetype }: { filename: string; mimetype: string }): string | undefined {
  const ext = extname(filename).toLowerCase();
  if (IMAGE_EXTS.has(ext)) return ext === '.jpeg' ? '.jpg' : ext;
  const type = mimetype.toLowerCase().split(';')[0]?.trim() ?? '';
  if (type.startsWith('image/')) return IMAGE_EXT_BY_TYPE[type] ?? '';
  return undefined;
}

const TEXT_FIELDS = new Set(['callbackUrl', 'provider', 'testMode']);

/** The multipart form, for the OpenAPI document (the route reads it as a stream, part by part). */
export const RecordingForm = z.object({
  recording: z
    .file()
    .describe('The call recording: WAV, MP3, M4A, OGG, FLAC or WebM; left channel = caller, right = callee'),
  callerImage: z.file().optional().describe("The caller's face: JPEG, PNG, WebP or HEIC"),
  calleeImage: z.file().optional().describe("The callee's face: JPEG, PNG, WebP or HEIC"),
  callbackUrl: z.url().optional().describe('Where the notifier POSTs the signed result webhook'),
  provider: z
    .string()
    .optional()
    .describe(
      'Avatar provider for this job (`local`, `fal`); the service default when absent (`local` for a test run)',
    ),
  testMode: z
    .enum(['true', 'false'])
    .optional()
    .describe(
      'A test run: same pipeline, tagged in the job, metrics, traces and webhook, left out of success-rate and cost figures; `local` provider unless `provider` says otherwise',
    ),
});

export const recordingRoutes: FastifyPluginAsyncZod<{ ctx: RouteContext }> = async (app, { ctx }) => {
  const { config, blobs } = ctx;
  await app.register(multipart, {
    limits: { fileSize: config.uploadMaxBytes, files: 3, fields: 10, fieldSize: 4096, parts: 16 },
  });

  app.route({
    method: 'POST',
    url: '/v1/recordings',
    config: { access: 'user' },
    schema: {
      summary: 'Upload a call recording (multipart) and start the call pipeline',
      description:
        'Files are streamed into blob storage at `jobs/<jobId>/input/…`, never buffered whole; a file over UPLOAD_MAX_BYTES is a 413 and nothing is kept. Send text fields before files to have a bad `callbackUrl` refused before the upload.',
      tags: ['recordings'],
      querystring: NoQuery,
      body: { content: { 'multipart/form-data': { schema: RecordingForm } } },
      response: { 202: JobAccepted, '4xx': ErrorBody, 503: ErrorBody },
    },
    handler: async (req, reply) => {
      const jobId = newJobId();
      const prefix = `jobs/${jobId}/input/`;
      try {
        const { stored, fields } = await readRecordingParts({ req, prefix, ctx });
        if (!stored.recording)
          throw badRequest('recording', 'is required: a multipart file field with the call recording');
        const callbackUrl = checkCallbackUrl({
          value: fields.callbackUrl,
          allowPrivate: config.allowPrivateCallbacks,
        });
        const testMode = readTestMode(fields.testMode);
        // A test run makes no paid generation unless the request names the provider.
        const provider = fields.provider ?? (testMode ? 'local' : undefined);
        const data = {
          source: 'upload',
          recording: { key: stored.recording.key, contentType: stored.recording.contentType },
          ...(stored.callerImage ? { callerImage: stored.callerImage } : {}),
          ...(stored.calleeImage ? { calleeImage: stored.calleeImage } : {}),
          ...(provider ? { provider } : {}),
          ...(callbackUrl ? { callbackUrl } : {}),
        } satisfies EventDataInput<'recording.received'>;
        const check = RecordingReceivedV1.data.safeParse(data);
        if (!check.success) throw invalidInput(fieldIssues(check.error));

        await ctx.submitJob({
          job: { id: jobId, kind: 'call', input: data, ...(callbackUrl ? { callbackUrl } : {}) },
          event: { type: 'recording.received', data },
          principal: req.principal,
          testMode,
        });
        req.log.info({ jobId, key: stored.recording.key }, 'job created from upload');
        return reply.code(202).send({ jobId, ...jobLinks(config.publicBaseUrl, jobId) });
      } catch (err) {
        await removeUploads({ blobs, prefix }).catch((e) =>
          req.log.warn({ err: e, prefix }, 'cleaning up a failed upload failed'),
        );
        if ((err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE')
          throw tooLarge(config.uploadMaxBytes);
        throw err;
      }
    },
  });
};

interface StoredParts {
  recording?: { key: string; contentType: string };
  callerImage?: string;
  calleeImage?: string;
}

/** Streams the multipart parts into blob storage under `prefix`, checking each as it arrives. */
async function readRecordingParts({
  req,
  prefix,
  ctx,
}: {
  req: FastifyRequest;
  prefix: string;
  ctx: RouteContext;
}): Promise<{ stored: StoredParts; fields: Record<string, string> }> {
  const { config, blobs } = ctx;
  const fields: Record<string, string> = {};
  const stored: StoredParts = {};
  for await (const part of req.parts()) {
    if (part.type === 'field') {
      if (!TEXT_FIELDS.has(part.fieldname)) {
        throw badRequest(
          part.fieldname,
          'unknown field; expected recording (file), callerImage, calleeImage (files), callbackUrl, provider, testMode',
        );
      }
      fields[part.fieldname] = String(part.value);
      // Checked as it arrives: a client that sends fields first learns of a bad one before uploading the file.
      if (part.fieldname === 'callbackUrl') {
        checkCallbackUrl({ value: fields.callbackUrl, allowPrivate: config.allowPrivateCallbacks });
      }
      continue;
    }
    const { fieldname, filename, mimetype } = part;
    let key: string;
    let contentType: string;
    if (fieldname === 'recording') {
      const ext = recordingExtension({ filename, mimetype });
      if (ext === undefined) {
        part.file.resume();
        throw new HttpError({
          statusCode: 415,
          code: 'unsupported_media_type',
          field: 'recording',
          message: `recording "${filename}" (${mimetype}) is not an audio file; send WAV, MP3, M4A, OGG, FLAC or WebM audio`,
        });
      }
      key = `${prefix}recording${ext}`;
      contentType = contentTypeOf({ mimetype, ext, kind: 'audio' });
      stored.recording = { key, contentType };
    } else if (fieldname === 'callerImage' || fieldname === 'calleeImage') {
      const ext = imageExtension({ filename, mimetype });
      if (ext === undefined) {
        part.file.resume();
        throw new HttpError({
          statusCode: 415,
          code: 'unsupported_media_type',
          field: fieldname,
          message: `${fieldname} "${filename}" (${mimetype}) is not an image; send JPEG, PNG, WebP or HEIC`,
        });
      }
      key = `${prefix}${fieldname === 'callerImage' ? 'caller' : 'callee'}-image${ext}`;
      contentType = contentTypeOf({ mimetype, ext, kind: 'image' });
      stored[fieldname] = key;
    } else {
      part.file.resume();
      throw badRequest(fieldname, 'unknown file field; expected recording, callerImage or calleeImage');
    }
    // Streamed straight into storage: the upload is never held whole in memory.
    await blobs.put(key, part.file, { contentType, retention: 'intermediate' });
    if (part.file.truncated) throw tooLarge(config.uploadMaxBytes, filename, fieldname);
  }
  return { stored, fields };
}

function tooLarge(limit: number, filename?: string, field = 'recording'): HttpError {
  return new HttpError({
    statusCode: 413,
    code: 'too_large',
    field,
    message: `${filename ? `"${filename}"` : 'the upload'} is larger than the limit of ${limit} bytes (${Math.round(limit / 1024 / 1024)} MB, UPLOAD_MAX_BYTES)`,
  });
}

async function removeUploads({ blobs, prefix }: { blobs: RouteContext['blobs']; prefix: string }) {
  const found = await blobs.list(prefix);
  await Promise.all(found.map((b) => blobs.delete(b.key)));
}
