import multipart from '@fastify/multipart';
import {
  BlobKey,
  MusicMood,
  StoryReceivedV1,
  newJob,
  type EventData,
  type EventDataInput,
} from '@reelbus/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { extname } from 'node:path';
import type { RouteContext } from '../app.ts';
import { checkCallbackUrl, isPrivateHost } from '../callback-url.ts';
import { HttpError, badRequest } from '../errors.ts';
import { newJobId } from '../ids.ts';

/**
 * `POST /v1/stories`: a spoken story (plus images, music and brand) becomes a branded slideshow.
 * JSON (blob keys or https URLs) or multipart uploads. Accepts the field names of the system it
 * replaces (its `extractN8NData`: `story_id`, `audio_key`, `photo_key`, `name`, `generatedImageKeys`
 * as a JSON string, …) so existing callers keep working.
 */

/** Canonical field → the names it may arrive under (first found wins; two different ones → 400). */
export const STORY_FIELD_ALIASES = {
  storyId: ['storyId', 'story_id'],
  audio: ['audio', 'audioKey', 'audio_key', 'audioUrl', 'audio_url'],
  userPhoto: [
    'userPhoto',
    'userPhotoKey',
    'user_photo',
    'photo_key',
    'photoKey',
    'userPhotoUrl',
    'photo_url',
    'photoUrl',
  ],
  images: [
    'images',
    'generatedImageKeys',
    'generated_image_keys',
    'generatedImages',
    'generated_images',
    'imageKeys',
    'image_keys',
  ],
  storyteller: ['storyteller', 'storytellerName', 'storyteller_name', 'name'],
  title: ['title', 'prompt', 'storyTitle', 'story_title'],
  music: ['music', 'musicSelection', 'music_selection'],
  mood: ['mood', 'musicMood', 'music_mood'],
  gainDb: ['gainDb', 'musicGainDb', 'music_gain_db'],
  duck: ['duck', 'musicDuck', 'music_duck'],
  brand: ['brand'],
  logo: ['logo', 'logoKey', 'logo_key', 'logoUrl', 'logo_url'],
  background: ['background', 'backgroundColor', 'background_color'],
  introSeconds: ['introSeconds', 'intro_seconds'],
  outroSeconds: ['outroSeconds', 'outro_seconds'],
  backend: ['backend'],
  allowDegradation: ['allowDegradation', 'allow_degradation'],
  callbackUrl: ['callbackUrl', 'callback_url'],
} as const;
type Canonical = keyof typeof STORY_FIELD_ALIASES;

/** Fields the old callers send that reelbus does not use: accepted and dropped (never stored). */
const IGNORED_FIELDS = new Set(['email', 'testMode', 'test_mode']);
/** The reference's placeholder for "no user photo". */
const NO_PHOTO = 'default-story-image.jpg';

const ALIAS_TO_CANONICAL = new Map<string, Canonical>();
for (const [canon, names] of Object.entries(STORY_FIELD_ALIASES) as Array<[Canonical, readonly string[]]>) {
  for (const n of names) ALIAS_TO_CANONICAL.set(n, canon);
}

type MediaRef = { key: string } | { url: string };
export type StoryData = EventDataInput<'story.received'>;

export interface ExtractedStory {
  storyId: string | undefined;
  data: StoryData;
}

/** Maps the names a field may arrive under onto one value each; 400 for unknown or conflicting fields. */
function canonicalise(body: Record<string, unknown>): Partial<Record<Canonical, unknown>> {
  const out: Partial<Record<Canonical, unknown>> = {};
  const from: Partial<Record<Canonical, string>> = {};
  for (const [name, value] of Object.entries(body)) {
    if (IGNORED_FIELDS.has(name)) continue;
    const canon = ALIAS_TO_CANONICAL.get(name.endsWith('[]') ? name.slice(0, -2) : name);
    if (!canon) {
      throw badRequest(
        name,
        `unknown field; expected one of ${Object.keys(STORY_FIELD_ALIASES).join(', ')} (or their aliases, see the ingest README)`,
      );
    }
    if (value === undefined || value === null || value === '') continue;
    if (out[canon] !== undefined && JSON.stringify(out[canon]) !== JSON.stringify(value)) {
      throw badRequest(name, `conflicts with "${from[canon]}" (both name the ${canon})`);
    }
    out[canon] = value;
    from[canon] = name;
  }
  return out;
}

/** A blob key, an http(s) URL, or `{ key }` / `{ url }` (checked for safety later). */
function mediaRef(field: string, value: unknown): MediaRef {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    const inner = o.key ?? o.url ?? o.convertedKey ?? o.processedKey;
    if (typeof inner === 'string') return mediaRef(field, inner);
    throw badRequest(field, 'must be a blob key, an https URL, or { "key": … } / { "url": … }');
  }
  if (typeof value !== 'string' || value.trim() === '')
    throw badRequest(field, 'must be a blob key or an https URL');
  const v = value.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) {
    if (/^https?:\/\//i.test(v)) return { url: v };
    throw badRequest(
      field,
      `"${v.slice(0, 100)}" is not an https URL or a blob key (s3:// URLs: upload the file, or give its key in reelbus's blob storage)`,
    );
  }
  const key = BlobKey.safeParse(v);
  if (!key.success)
    throw badRequest(field, `"${v.slice(0, 100)}" ${key.error.issues[0]?.message ?? 'is not a blob key'}`);
  return { key: v };
}

/** A list, or a JSON string of a list (workflow tools send `generatedImageKeys` that way), or one item. */
function mediaList(field: string, value: unknown): MediaRef[] {
  let list = value;
  if (typeof value === 'string') {
    const t = value.trim();
    if (t.startsWith('[')) {
      try {
        list = JSON.parse(t);
      } catch {
        throw badRequest(
          field,
          'looks like a JSON list but does not parse; send a list of blob keys or https URLs',
        );
      }
    } else
      list =
        t.includes(',') && !/^https?:/i.test(t)
          ? t
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean)
          : [t];
  }
  if (!Array.isArray(list)) throw badRequest(field, 'must be a list of blob keys or https URLs');
  if (list.length > 100) throw badRequest(field, `has ${list.length} images; at most 100`);
  return list.map((item, i) => mediaRef(`${field}[${i}]`, item));
}

/** An object, or a JSON string of one (multipart sends nested objects as strings). */
function objectField(field: string, value: unknown): Record<string, unknown> {
  let v = value;
  if (typeof v === 'string' && v.trim().startsWith('{')) {
    try {
      v = JSON.parse(v);
    } catch {
      throw badRequest(field, 'does not parse as a JSON object');
    }
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badRequest(field, 'must be an object');
  return v as Record<string, unknown>;
}

function numberField(field: string, value: unknown): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n))
    throw badRequest(field, `must be a number (got ${JSON.stringify(value)})`);
  return n;
}

function boolField(field: string, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw badRequest(field, 'must be true or false');
}

function stringField(field: string, value: unknown): string {
  if (typeof value !== 'string') throw badRequest(field, 'must be a string');
  return value.trim();
}

function moodField(field: string, value: unknown): EventData<'story.received'>['music']['mood'] {
  const raw = typeof value === 'string' ? value.trim().toLowerCase() : value;
  const m = MusicMood.safeParse(raw === 'no music' || raw === 'off' ? 'none' : raw);
  if (!m.success)
    throw badRequest(field, `must be one of ${MusicMood.options.join(', ')} (got ${JSON.stringify(value)})`);
  return m.data;
}

/**
 * Pure: reads a story request (JSON body, or multipart fields plus the keys of uploaded files) into
 * `story.received` data. Throws a 400 naming the first bad field.
 */
export function extractStory({
  body,
  uploads = {},
}: {
  body: Record<string, unknown>;
  uploads?: { audio?: string; userPhoto?: string; images?: string[]; logo?: string };
}): ExtractedStory {
  const f = canonicalise(body);

  let storyId: string | undefined;
  if (f.storyId !== undefined) {
    storyId = typeof f.storyId === 'number' ? String(f.storyId) : stringField('storyId', f.storyId);
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(storyId))
      throw badRequest('storyId', 'must be 1-100 letters, digits, "-" or "_"');
  }

  if (uploads.audio && f.audio !== undefined)
    throw badRequest('audio', 'send the audio as a file or as a key/URL, not both');
  const audio: MediaRef | undefined = uploads.audio
    ? { key: uploads.audio }
    : f.audio !== undefined
      ? mediaRef('audio', f.audio)
      : undefined;
  if (!audio)
    throw badRequest('audio', 'is required: the story recording (a file, a blob key or an https URL)');

  let userPhoto: MediaRef | undefined;
  if (uploads.userPhoto) userPhoto = { key: uploads.userPhoto };
  else if (f.userPhoto !== undefined) {
    const isPlaceholder = typeof f.userPhoto === 'string' && f.userPhoto.split('/').pop() === NO_PHOTO;
    if (!isPlaceholder) userPhoto = mediaRef('userPhoto', f.userPhoto);
  }

  const images = [
    ...(f.images !== undefined ? mediaList('images', f.images) : []),
    ...(uploads.images ?? []).map((key) => ({ key })),
  ];
  if (images.length > 100) throw badRequest('images', `has ${images.length} images; at most 100`);

  const music: Record<string, unknown> = {};
  if (f.music !== undefined) {
    if (typeof f.music === 'string' && !f.music.trim().startsWith('{'))
      music.mood = moodField('music', f.music);
    else {
      const m = objectField('music', f.music);
      for (const k of Object.keys(m)) {
        if (!['mood', 'gainDb', 'duck'].includes(k))
          throw badRequest(`music.${k}`, 'unknown field; expected mood, gainDb, duck');
      }
      if (m.mood !== undefined) music.mood = moodField('music.mood', m.mood);
      if (m.gainDb !== undefined) music.gainDb = numberField('music.gainDb', m.gainDb);
      if (m.duck !== undefined) music.duck = boolField('music.duck', m.duck);
    }
  }
  if (f.mood !== undefined) music.mood = moodField('mood', f.mood);
  if (f.gainDb !== undefined) music.gainDb = numberField('gainDb', f.gainDb);
  if (f.duck !== undefined) music.duck = boolField('duck', f.duck);
  if (typeof music.gainDb === 'number' && (music.gainDb < -60 || music.gainDb > 0)) {
    throw badRequest(
      'music.gainDb',
      `must be between -60 and 0 dB (music sits under the voice; got ${music.gainDb})`,
    );
  }

  const brand: Record<string, unknown> = {};
  if (f.brand !== undefined) {
    const b = objectField('brand', f.brand);
    for (const k of Object.keys(b)) {
      if (!['logo', 'background', 'introSeconds', 'outroSeconds'].includes(k)) {
        throw badRequest(
          `brand.${k}`,
          'unknown field; expected logo, background, introSeconds, outroSeconds',
        );
      }
    }
    if (b.logo !== undefined) brand.logo = mediaRef('brand.logo', b.logo);
    if (b.background !== undefined) brand.background = stringField('brand.background', b.background);
    if (b.introSeconds !== undefined) brand.introSeconds = numberField('brand.introSeconds', b.introSeconds);
    if (b.outroSeconds !== undefined) brand.outroSeconds = numberField('brand.outroSeconds', b.outroSeconds);
  }
  if (uploads.logo) brand.logo = { key: uploads.logo };
  else if (f.logo !== undefined) brand.logo = mediaRef('logo', f.logo);
  if (f.background !== undefined) brand.background = stringField('background', f.background);
  if (f.introSeconds !== undefined) brand.introSeconds = numberField('introSeconds', f.introSeconds);
  if (f.outroSeconds !== undefined) brand.outroSeconds = numberField('outroSeconds', f.outroSeconds);

  const data: StoryData = {
    audio,
    ...(userPhoto ? { userPhoto } : {}),
    images,
    ...(f.storyteller !== undefined ? { storyteller: stringField('storyteller', f.storyteller) } : {}),
    ...(f.title !== undefined ? { title: stringField('title', f.title) } : {}),
    music: music as StoryData['music'],
    brand: brand as StoryData['brand'],
    ...(f.backend !== undefined ? { backend: stringField('backend', f.backend) as 'ffmpeg' } : {}),
    ...(f.allowDegradation !== undefined
      ? { allowDegradation: boolField('allowDegradation', f.allowDegradation) }
      : {}),
    ...(f.callbackUrl !== undefined ? { callbackUrl: stringField('callbackUrl', f.callbackUrl) } : {}),
  };
  const check = StoryReceivedV1.data.safeParse(data);
  if (!check.success) {
    const issue = check.error.issues[0];
    const field = (issue?.path ?? []).map(String).join('.') || 'body';
    throw badRequest(field, issue?.message ?? 'invalid');
  }
  return { storyId, data };
}

/** Deterministic: a retried POST with the same story id lands on the same job. */
export const storyJobId = (storyId: string) => `story_${storyId}`;

/** Every media reference of a story, with the field that names it. */
function mediaFields(data: StoryData): Array<{ field: string; ref: MediaRef }> {
  return [
    { field: 'audio', ref: data.audio },
    ...(data.userPhoto ? [{ field: 'userPhoto', ref: data.userPhoto }] : []),
    ...(data.images ?? []).map((ref, i) => ({ field: `images[${i}]`, ref })),
    ...(data.brand?.logo ? [{ field: 'brand.logo', ref: data.brand.logo }] : []),
  ];
}

/** https only and a public host, unless ALLOW_PRIVATE_URLS (then http and private hosts too: local development). */
export function checkMediaUrl({
  field,
  value,
  allowPrivate,
}: {
  field: string;
  value: string;
  allowPrivate: boolean;
}): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw badRequest(field, `is not a valid URL ("${value.slice(0, 100)}")`);
  }
  if (url.username || url.password) throw badRequest(field, 'must not contain credentials');
  if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:')) {
    throw badRequest(field, `must be an https URL (got "${url.protocol}")`);
  }
  if (!allowPrivate && isPrivateHost(url.hostname)) {
    throw badRequest(
      field,
      `host "${url.hostname}" is private or loopback; use a public https URL (or set ALLOW_PRIVATE_URLS=true for local development)`,
    );
  }
}

const AUDIO_EXTS = new Set(['.wav', '.mp3', '.m4a', '.ogg', '.flac', '.webm', '.aac']);
const IMAGE_EXTS = new Set([
  '.jpg',
  '.jpeg',
  '.png',
  '.webp',
  '.heic',
  '.heif',
  '.gif',
  '.tif',
  '.tiff',
  '.avif',
]);
const FILE_FIELDS: Record<string, 'audio' | 'userPhoto' | 'images' | 'logo'> = {
  audio: 'audio',
  userPhoto: 'userPhoto',
  user_photo: 'userPhoto',
  photo: 'userPhoto',
  images: 'images',
  'images[]': 'images',
  generated_images: 'images',
  logo: 'logo',
};

function fileExtension({
  filename,
  mimetype,
  kind,
}: {
  filename: string;
  mimetype: string;
  kind: 'audio' | 'image';
}): string | undefined {
  const ext = extname(filename).toLowerCase();
  if ((kind === 'audio' ? AUDIO_EXTS : IMAGE_EXTS).has(ext)) return ext === '.jpeg' ? '.jpg' : ext;
  const type = mimetype.toLowerCase().split(';')[0]?.trim() ?? '';
  if (!type.startsWith(`${kind}/`)) return undefined;
  const sub = type.slice(kind.length + 1).replace(/^x-/, '');
  const known: Record<string, string> = {
    mpeg: '.mp3',
    mp3: '.mp3',
    wav: '.wav',
    wave: '.wav',
    jpeg: '.jpg',
    png: '.png',
    webp: '.webp',
    mp4: '.m4a',
    ogg: '.ogg',
    flac: '.flac',
    heic: '.heic',
  };
  return known[sub] ?? '';
}

export async function storyRoutes(app: FastifyInstance, { ctx }: { ctx: RouteContext }) {
  const { config, bus, jobs, blobs } = ctx;
  const allowPrivateUrls = config.allowPrivateUrls ?? false;
  await app.register(multipart, {
    limits: { fileSize: config.uploadMaxBytes, files: 104, fields: 40, fieldSize: 64 * 1024, parts: 150 },
  });

  /** Streams the multipart files into `jobs/<id>/input/…`; text fields must come before the files they depend on (storyId). */
  async function readMultipart(req: FastifyRequest): Promise<{
    body: Record<string, unknown>;
    uploads: NonNullable<Parameters<typeof extractStory>[0]['uploads']>;
    jobId: string;
    prefix: string;
  }> {
    const body: Record<string, unknown> = {};
    const uploads: { audio?: string; userPhoto?: string; images?: string[]; logo?: string } = {};
    let jobId: string | undefined;
    const prefix = () => `jobs/${jobId}/input/`;
    for await (const part of req.parts()) {
      if (part.type === 'field') {
        const name = part.fieldname;
        const value = String(part.value);
        if (name === 'images' || name === 'images[]') {
          const prior = body.images;
          body.images = prior === undefined ? value : [...(Array.isArray(prior) ? prior : [prior]), value];
        } else body[name] = value;
        continue;
      }
      const what = FILE_FIELDS[part.fieldname];
      if (!what) {
        part.file.resume();
        throw badRequest(
          part.fieldname,
          'unknown file field; expected audio, userPhoto, images (repeatable) or logo',
        );
      }
      if (!jobId) {
        const sid = body.storyId ?? body.story_id;
        jobId = typeof sid === 'string' && /^[A-Za-z0-9_-]{1,100}$/.test(sid) ? storyJobId(sid) : newJobId();
      }
      const kind = what === 'audio' ? 'audio' : 'image';
      const ext = fileExtension({ filename: part.filename, mimetype: part.mimetype, kind });
      if (ext === undefined) {
        part.file.resume();
        throw new HttpError({
          statusCode: 415,
          code: 'unsupported_media_type',
          field: part.fieldname,
          message: `${part.fieldname} "${part.filename}" (${part.mimetype}) is not ${kind === 'audio' ? 'audio; send WAV, MP3, M4A, OGG, FLAC or WebM' : 'an image; send JPEG, PNG, WebP or HEIC'}`,
        });
      }
      let key: string;
      if (what === 'images') {
        uploads.images ??= [];
        key = `${prefix()}image-${uploads.images.length + 1}${ext}`;
        uploads.images.push(key);
      } else {
        if (uploads[what]) {
          part.file.resume();
          throw badRequest(part.fieldname, 'was sent twice; send one file');
        }
        key = `${prefix()}${what === 'userPhoto' ? 'user-photo' : what}${ext}`;
        uploads[what] = key;
      }
      // Streamed straight into storage: an upload is never held whole in memory.
      await blobs.put(key, part.file, {
        contentType: part.mimetype.startsWith(`${kind}/`) ? part.mimetype : 'application/octet-stream',
      });
      if (part.file.truncated) {
        throw new HttpError({
          statusCode: 413,
          code: 'too_large',
          field: part.fieldname,
          message: `"${part.filename}" is larger than the limit of ${config.uploadMaxBytes} bytes (UPLOAD_MAX_BYTES)`,
        });
      }
    }
    return { body, uploads, jobId: jobId ?? '', prefix: jobId ? prefix() : '' };
  }

  app.post('/v1/stories', { onRequest: ctx.requireApiKey }, async (req, reply) => {
    let uploadedPrefix = '';
    let uploadedJobId = '';
    try {
      let extracted: ExtractedStory;
      let jobId: string;
      if (req.isMultipart()) {
        const mp = await readMultipart(req);
        uploadedPrefix = mp.prefix;
        uploadedJobId = mp.jobId;
        extracted = extractStory({ body: mp.body, uploads: mp.uploads });
        const fromId = extracted.storyId ? storyJobId(extracted.storyId) : undefined;
        if (mp.jobId && fromId && mp.jobId !== fromId)
          throw badRequest('storyId', 'send it before the files in the multipart body');
        jobId = mp.jobId || fromId || newJobId();
      } else {
        const body = req.body;
        if (typeof body !== 'object' || body === null || Array.isArray(body)) {
          throw badRequest(
            'body',
            'send a JSON object (Content-Type: application/json) or multipart/form-data',
          );
        }
        extracted = extractStory({ body: body as Record<string, unknown> });
        jobId = extracted.storyId ? storyJobId(extracted.storyId) : newJobId();
      }
      const { data } = extracted;

      // Where the media is: https URLs on public hosts (no server-side request forgery), keys that exist.
      for (const { field, ref } of mediaFields(data)) {
        if ('url' in ref) checkMediaUrl({ field, value: ref.url, allowPrivate: allowPrivateUrls });
        else if (!(await blobs.stat(ref.key)))
          throw badRequest(
            field,
            `blob "${ref.key}" is not in storage; upload it first or give an https URL`,
          );
      }
      const callbackUrl = checkCallbackUrl({
        value: data.callbackUrl,
        allowPrivate: config.allowPrivateCallbacks,
      });
      const input = StoryReceivedV1.data.parse({ ...data, ...(callbackUrl ? { callbackUrl } : {}) });

      const { created, job } = await jobs.create(
        newJob({ id: jobId, kind: 'story', input, ...(callbackUrl ? { callbackUrl } : {}) }),
      );
      // A retry of a story still queued republishes under the same id (JetStream drops a duplicate; this
      // covers a crash between create and publish); a started one publishes nothing.
      if (created || job.status === 'queued') {
        try {
          await bus.publish('story.received', jobId, input, { id: `story.received:${jobId}` });
        } catch (err) {
          req.log.error({ err, jobId }, 'publishing story.received failed');
          if (created) await jobs.delete(jobId).catch(() => undefined);
          throw new HttpError({
            statusCode: 503,
            code: 'bus_unavailable',
            message: 'cannot queue the story right now; try again shortly',
            cause: err,
          });
        }
      }
      uploadedPrefix = '';
      req.log.info(
        { jobId, created, images: input.images.length },
        created ? 'story job created' : 'retry of a known story',
      );
      const statusUrl = `${config.publicBaseUrl}/v1/jobs/${jobId}`;
      return reply.code(202).send({ jobId, statusUrl, eventsUrl: `${statusUrl}/events`, created });
    } catch (err) {
      // Remove this request's uploads, unless they belong to a job that exists (a failed retry of a known story).
      if (uploadedPrefix && !(await jobs.get(uploadedJobId).catch(() => undefined))) {
        const found = await blobs.list(uploadedPrefix).catch(() => []);
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
  });
}
