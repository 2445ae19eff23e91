import multipart from '@fastify/multipart';
import { BlobKey, MusicMood, StoryReceivedV1, type EventData, type EventDataInput } from '@reelbus/contracts';
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
const IGNORED_FIELDS = new Set(['email']);
/** A test run (issue 15 §4), read by the route beside the story fields (the reference spells it both ways). */
const TEST_MODE_FIELDS = ['testMode', 'test_mode'] as const;
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

/** Maps the names a field may arrive under onto one value each; an issue per unknown or conflicting field. */
function canonicalise(
  body: Record<string, unknown>,
  issues: FieldIssue[],
): Partial<Record<Canonical, unknown>> {
  const out: Partial<Record<Canonical, unknown>> = {};
  const from: Partial<Record<Canonical, string>> = {};
  for (const [name, value] of Object.entries(body)) {
    if (IGNORED_FIELDS.has(name) || (TEST_MODE_FIELDS as readonly string[]).includes(name)) continue;
    const canon = ALIAS_TO_CANONICAL.get(name.endsWith('[]') ? name.slice(0, -2) : name);
    if (!canon) {
      issues.push({
        field: name,
        message: `unknown field; expected one of ${Object.keys(STORY_FIELD_ALIASES).join(', ')} (or their aliases, see the ingest README)`,
      });
      continue;
    }
    if (value === undefined || value === null || value === '') continue;
    if (out[canon] !== undefined && JSON.stringify(out[canon]) !== JSON.stringify(value)) {
      issues.push({ field: name, message: `conflicts with "${from[canon]}" (both name the ${canon})` });
      continue;
    }
    out[canon] = value;
    from[canon] = name;
  }
  return out;
}

/** Runs `fn`; a 400 it throws becomes issues (so one answer names every bad field), anything else propagates. */
function collecting(issues: FieldIssue[]) {
  return <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (err) {
      if (isHttpError(err) && err.statusCode === 400 && err.issues) {
        issues.push(...err.issues);
        return undefined;
      }
      throw err;
    }
  };
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

type StoryUploads = { audio?: string; userPhoto?: string; images?: string[]; logo?: string };

/**
 * Pure: reads a story request (JSON body, or multipart fields plus the keys of uploaded files) into
 * `story.received` data. Throws one 400 naming every bad field.
 */
export function extractStory(args: {
  body: Record<string, unknown>;
  uploads?: StoryUploads;
}): ExtractedStory {
  const { storyId, data, issues } = readStory(args);
  if (issues.length > 0) throw invalidInput(issues);
  return { storyId, data: data as StoryData };
}

/** True when `field` is `reported` or inside it (`music.mood` is inside `music`). */
const within = (field: string, reported: Iterable<string>) =>
  [...reported].some((r) => field === r || field.startsWith(`${r}.`) || field.startsWith(`${r}[`));

/**
 * Pure: what `extractStory` does, without throwing: the data read so far (fields that failed are
 * left out) and every issue, so a caller can add its own (media lookups) before answering once.
 */
export function readStory({
  body,
  uploads = {},
}: {
  body: Record<string, unknown>;
  uploads?: StoryUploads;
}): { storyId: string | undefined; data: Partial<StoryData>; issues: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  const attempt = collecting(issues);
  const f = canonicalise(body, issues);

  let storyId: string | undefined;
  if (f.storyId !== undefined) {
    storyId = attempt(() => {
      const id = typeof f.storyId === 'number' ? String(f.storyId) : stringField('storyId', f.storyId);
      if (!/^[A-Za-z0-9_-]{1,100}$/.test(id))
        throw badRequest('storyId', 'must be 1-100 letters, digits, "-" or "_"');
      return id;
    });
  }

  const audio = attempt((): MediaRef => {
    if (uploads.audio && f.audio !== undefined)
      throw badRequest('audio', 'send the audio as a file or as a key/URL, not both');
    if (uploads.audio) return { key: uploads.audio };
    if (f.audio !== undefined) return mediaRef('audio', f.audio);
    throw badRequest('audio', 'is required: the story recording (a file, a blob key or an https URL)');
  });

  let userPhoto: MediaRef | undefined;
  if (uploads.userPhoto) userPhoto = { key: uploads.userPhoto };
  else if (f.userPhoto !== undefined) {
    const isPlaceholder = typeof f.userPhoto === 'string' && f.userPhoto.split('/').pop() === NO_PHOTO;
    if (!isPlaceholder) userPhoto = attempt(() => mediaRef('userPhoto', f.userPhoto));
  }

  const images = [
    ...((f.images !== undefined ? attempt(() => mediaList('images', f.images)) : undefined) ?? []),
    ...(uploads.images ?? []).map((key) => ({ key })),
  ];
  if (images.length > 100)
    issues.push({ field: 'images', message: `has ${images.length} images; at most 100` });

  const music: Record<string, unknown> = {};
  if (f.music !== undefined) {
    if (typeof f.music === 'string' && !f.music.trim().startsWith('{')) {
      music.mood = attempt(() => moodField('music', f.music));
    } else {
      const m = attempt(() => objectField('music', f.music)) ?? {};
      for (const k of Object.keys(m)) {
        if (!['mood', 'gainDb', 'duck'].includes(k))
          issues.push({ field: `music.${k}`, message: 'unknown field; expected mood, gainDb, duck' });
      }
      if (m.mood !== undefined) music.mood = attempt(() => moodField('music.mood', m.mood));
      if (m.gainDb !== undefined) music.gainDb = attempt(() => numberField('music.gainDb', m.gainDb));
      if (m.duck !== undefined) music.duck = attempt(() => boolField('music.duck', m.duck));
    }
  }
  if (f.mood !== undefined) music.mood = attempt(() => moodField('mood', f.mood));
  if (f.gainDb !== undefined) music.gainDb = attempt(() => numberField('gainDb', f.gainDb));
  if (f.duck !== undefined) music.duck = attempt(() => boolField('duck', f.duck));
  if (typeof music.gainDb === 'number' && (music.gainDb < -60 || music.gainDb > 0)) {
    issues.push({
      field: 'music.gainDb',
      message: `must be between -60 and 0 dB (music sits under the voice; got ${music.gainDb})`,
    });
  }

  const brand: Record<string, unknown> = {};
  if (f.brand !== undefined) {
    const b = attempt(() => objectField('brand', f.brand)) ?? {};
    for (const k of Object.keys(b)) {
      if (!['logo', 'background', 'introSeconds', 'outroSeconds'].includes(k)) {
        issues.push({
          field: `brand.${k}`,
          message: 'unknown field; expected logo, background, introSeconds, outroSeconds',
        });
      }
    }
    if (b.logo !== undefined) brand.logo = attempt(() => mediaRef('brand.logo', b.logo));
    if (b.background !== undefined)
      brand.background = attempt(() => stringField('brand.background', b.background));
    if (b.introSeconds !== undefined)
      brand.introSeconds = attempt(() => numberField('brand.introSeconds', b.introSeconds));
    if (b.outroSeconds !== undefined)
      brand.outroSeconds = attempt(() => numberField('brand.outroSeconds', b.outroSeconds));
  }
  if (uploads.logo) brand.logo = { key: uploads.logo };
  else if (f.logo !== undefined) brand.logo = attempt(() => mediaRef('logo', f.logo));
  if (f.background !== undefined) brand.background = attempt(() => stringField('background', f.background));
  if (f.introSeconds !== undefined)
    brand.introSeconds = attempt(() => numberField('introSeconds', f.introSeconds));
  if (f.outroSeconds !== undefined)
    brand.outroSeconds = attempt(() => numberField('outroSeconds', f.outroSeconds));

  const storyteller =
    f.storyteller !== undefined ? attempt(() => stringField('storyteller', f.storyteller)) : undefined;
  const title = f.title !== undefined ? attempt(() => stringField('title', f.title)) : undefined;
  const backend = f.backend !== undefined ? attempt(() => stringField('backend', f.backend)) : undefined;
  const allowDegradation =
    f.allowDegradation !== undefined
      ? attempt(() => boolField('allowDegradation', f.allowDegradation))
      : undefined;
  const callbackUrl =
    f.callbackUrl !== undefined ? attempt(() => stringField('callbackUrl', f.callbackUrl)) : undefined;
  const data: Partial<StoryData> = {
    ...(audio ? { audio } : {}),
    ...(userPhoto ? { userPhoto } : {}),
    images,
    ...(storyteller !== undefined ? { storyteller } : {}),
    ...(title !== undefined ? { title } : {}),
    music: music as StoryData['music'],
    brand: brand as StoryData['brand'],
    ...(backend !== undefined ? { backend: backend as 'ffmpeg' } : {}),
    ...(allowDegradation !== undefined ? { allowDegradation } : {}),
    ...(callbackUrl !== undefined ? { callbackUrl } : {}),
  };
  // The contract's own rules (colour format, ranges, backends) for what is not reported already.
  const check = StoryReceivedV1.data.safeParse(data);
  if (!check.success) {
    const reported = issues.map((i) => i.field);
    for (const i of fieldIssues(check.error)) if (!within(i.field, reported)) issues.push(i);
  }
  return { storyId, data, issues };
}

/** Deterministic: a retried POST with the same story id lands on the same job. */
export const storyJobId = (storyId: string) => `story_${storyId}`;

/** Every media reference of a story, with the field that names it. */
function mediaFields(data: Partial<StoryData>): Array<{ field: string; ref: MediaRef }> {
  return [
    ...(data.audio ? [{ field: 'audio', ref: data.audio }] : []),
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

/** What a story's media field accepts in JSON. */
const MediaInput = z
  .union(
    [
      z.string().describe('A blob key, or an https URL on a public host'),
      z.object({ key: z.string() }),
      z.object({ url: z.string() }),
      z.object({ convertedKey: z.string() }),
      z.object({ processedKey: z.string() }),
    ],
    { error: 'must be a blob key, an https URL, or { "key": … } / { "url": … }' },
  )
  .meta({ id: 'StoryMedia', description: 'A blob key or an https URL, or { key } / { url }' });
const NumberInput = z.union([z.number(), z.string()], { error: 'must be a number' });
const BoolInput = z.union([z.boolean(), z.enum(['true', 'false', '1', '0'])], {
  error: 'must be true or false',
});

/** The JSON type and meaning of each canonical field (aliases take the same type). */
const STORY_FIELD_TYPES: Record<Canonical, [z.ZodType, string]> = {
  storyId: [
    z.union([z.string(), z.number()]),
    'Makes the job id `story_<storyId>`: a retried POST lands on the same job',
  ],
  audio: [MediaInput, 'The story recording (required)'],
  userPhoto: [MediaInput, 'Shown first; "default-story-image.jpg" means none'],
  images: [
    z.union([z.array(MediaInput), z.string()]),
    'Images shown after the photo: a list, a JSON string of a list, a comma list, or one key/URL (at most 100)',
  ],
  storyteller: [z.string(), 'The storyteller’s name'],
  title: [z.string(), 'The story’s title'],
  music: [
    z.union([
      z.string(),
      z.strictObject({
        mood: z.string().optional(),
        gainDb: NumberInput.optional(),
        duck: BoolInput.optional(),
      }),
    ]),
    `A mood (${MusicMood.options.join(', ')}; default family) or { mood, gainDb: -60…0 (default -25), duck }`,
  ],
  mood: [z.string(), `Flat form of music.mood: ${MusicMood.options.join(', ')}`],
  gainDb: [NumberInput, 'Flat form of music.gainDb: -60…0 dB under the voice (default -25)'],
  duck: [BoolInput, 'Flat form of music.duck: dip the music further while the voice speaks'],
  brand: [
    z.union([
      z.string(),
      z.strictObject({
        logo: MediaInput.optional(),
        background: z.string().optional(),
        introSeconds: NumberInput.optional(),
        outroSeconds: NumberInput.optional(),
      }),
    ]),
    '{ logo, background: "#rrggbb" (#f3e9dc), introSeconds 0…30 (3), outroSeconds 0…30 (2) }, or a JSON string of it',
  ],
  logo: [MediaInput, 'Flat form of brand.logo'],
  background: [z.string(), 'Flat form of brand.background'],
  introSeconds: [NumberInput, 'Flat form of brand.introSeconds'],
  outroSeconds: [NumberInput, 'Flat form of brand.outroSeconds'],
  backend: [z.string(), 'ffmpeg or mediaconvert (the encoder default when absent)'],
  allowDegradation: [BoolInput, 'Let a backend drop what it cannot render instead of failing'],
  callbackUrl: [z.string(), 'Where the notifier POSTs the signed result webhook'],
};

/** The JSON body: every canonical field and alias (see STORY_FIELD_ALIASES), unknown fields refused. */
export const StoryJsonBody = z.strictObject(
  Object.fromEntries([
    ...(Object.entries(STORY_FIELD_ALIASES) as Array<[Canonical, readonly string[]]>).flatMap(
      ([canon, names]) => {
        const [type, meaning] = STORY_FIELD_TYPES[canon];
        return names.map((n) => [n, type.optional().describe(n === canon ? meaning : `Alias of ${canon}`)]);
      },
    ),
    ...[...IGNORED_FIELDS].map((n) => [
      n,
      z.unknown().optional().describe('Accepted and ignored (never stored)'),
    ]),
    ...TEST_MODE_FIELDS.map((n) => [
      n,
      z
        .union([z.boolean(), z.enum(['true', 'false'])], { error: 'must be true or false' })
        .optional()
        .describe(n === 'testMode' ? (TestModeField.description ?? 'A test run') : 'Alias of testMode'),
    ]),
  ]),
);

/** The multipart form: the same fields as text, the media as files. */
export const StoryForm = z.object({
  storyId: z.string().optional().describe('Send it before the files: it names their folder'),
  audio: z.file().describe('The story recording (or a text field with a blob key / URL)'),
  userPhoto: z.file().optional(),
  images: z.array(z.file()).optional().describe('Repeat the field for each image'),
  logo: z.file().optional(),
  storyteller: z.string().optional(),
  title: z.string().optional(),
  music: z.string().optional().describe('A mood, or the music object as JSON'),
  mood: z.string().optional(),
  gainDb: z.string().optional(),
  duck: z.string().optional(),
  brand: z.string().optional().describe('The brand object as JSON'),
  background: z.string().optional(),
  introSeconds: z.string().optional(),
  outroSeconds: z.string().optional(),
  backend: z.string().optional(),
  allowDegradation: z.string().optional(),
  callbackUrl: z.string().optional(),
});

const StoryAccepted = JobAccepted.extend({
  created: z.boolean().describe('False when a retried request (same storyId) found the job'),
});

export const storyRoutes: FastifyPluginAsyncZod<{ ctx: RouteContext }> = async (app, { ctx }) => {
  const { config, jobs, blobs } = ctx;
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
        retention: 'intermediate',
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

  app.route({
    method: 'POST',
    url: '/v1/stories',
    config: { access: 'user' },
    schema: {
      summary: 'A spoken story (plus photos, music, brand) becomes a branded slideshow',
      description:
        'JSON with blob keys or https URLs, or multipart with files (streamed to `jobs/<jobId>/input/…`). The field names of the replaced workflow are accepted as aliases (services/ingest/README.md#stories). Every bad field is named in one 400.',
      tags: ['stories'],
      querystring: NoQuery,
      body: {
        content: {
          'application/json': { schema: StoryJsonBody },
          'multipart/form-data': { schema: StoryForm },
        },
      },
      response: { 202: StoryAccepted, '4xx': ErrorBody, 503: ErrorBody },
    },
    handler: async (req, reply) => {
      let uploadedPrefix = '';
      let uploadedJobId = '';
      try {
        let read: ReturnType<typeof readStory>;
        let jobId: string;
        let raw: Record<string, unknown>;
        if (req.isMultipart()) {
          const mp = await readMultipart(req);
          uploadedPrefix = mp.prefix;
          uploadedJobId = mp.jobId;
          raw = mp.body;
          read = readStory({ body: mp.body, uploads: mp.uploads });
          const fromId = read.storyId ? storyJobId(read.storyId) : undefined;
          if (mp.jobId && fromId && mp.jobId !== fromId)
            read.issues.push({ field: 'storyId', message: 'send it before the files in the multipart body' });
          jobId = mp.jobId || fromId || newJobId();
        } else {
          const body = req.body;
          if (typeof body !== 'object' || body === null || Array.isArray(body)) {
            throw badRequest(
              'body',
              'send a JSON object (Content-Type: application/json) or multipart/form-data',
            );
          }
          raw = body as Record<string, unknown>;
          read = readStory({ body: raw });
          jobId = read.storyId ? storyJobId(read.storyId) : newJobId();
        }
        const { data, issues } = read;
        const testMode = readTestMode(
          raw.testMode ?? raw.test_mode,
          raw.testMode !== undefined ? 'testMode' : 'test_mode',
        );

        // Where the media is: https URLs on public hosts (no server-side request forgery), keys that
        // exist; reported with the body's own issues, so one answer names every bad field.
        const attempt = collecting(issues);
        const reported = issues.map((i) => i.field);
        for (const { field, ref } of mediaFields(data)) {
          if (within(field, reported)) continue;
          if ('url' in ref)
            attempt(() => checkMediaUrl({ field, value: ref.url, allowPrivate: allowPrivateUrls }));
          else if (!(await blobs.stat(ref.key)))
            issues.push({
              field,
              message: `blob "${ref.key}" is not in storage; upload it first or give an https URL`,
            });
        }
        const callbackUrl = within('callbackUrl', reported)
          ? undefined
          : attempt(() =>
              checkCallbackUrl({ value: data.callbackUrl, allowPrivate: config.allowPrivateCallbacks }),
            );
        if (issues.length > 0) throw invalidInput(issues);
        const input = StoryReceivedV1.data.parse({ ...data, ...(callbackUrl ? { callbackUrl } : {}) });

        const { created } = await ctx.submitJob({
          job: { id: jobId, kind: 'story', input, ...(callbackUrl ? { callbackUrl } : {}) },
          event: { type: 'story.received', data: input },
          principal: req.principal,
          testMode,
        });
        uploadedPrefix = '';
        req.log.info(
          { jobId, created, images: input.images.length },
          created ? 'story job created' : 'retry of a known story',
        );
        return reply.code(202).send({ jobId, ...jobLinks(config.publicBaseUrl, jobId), created });
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
    },
  });
};
