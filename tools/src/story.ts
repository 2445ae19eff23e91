// Submitting a story (`POST /v1/stories`) from the CLI or a test: media as local files (uploaded,
// streamed from disk) or as blob keys / https URLs (sent as JSON).
import { existsSync, openAsBlob, statSync } from 'node:fs';
import { basename } from 'node:path';
import { ApiError, type ClientOptions } from './client.ts';

export interface SubmitStoryOptions {
  client: ClientOptions;
  /** The story recording: a local file, a blob key or an https URL. */
  audio: string;
  userPhoto?: string;
  /** Generated images, in order: local files, blob keys or https URLs. */
  images?: string[];
  storyId?: string;
  storyteller?: string;
  title?: string;
  music?: {
    mood?: 'adventurous' | 'family' | 'nostalgic' | 'reflective' | 'none';
    gainDb?: number;
    duck?: boolean;
  };
  brand?: { logo?: string; background?: string; introSeconds?: number; outroSeconds?: number };
  backend?: 'ffmpeg' | 'mediaconvert';
  allowDegradation?: boolean;
  callbackUrl?: string;
}

export interface SubmittedStory {
  jobId: string;
  statusUrl: string;
  created: boolean;
}

/** True when `ref` names a local file (then it is uploaded); keys and URLs are passed on as they are. */
export function isLocalFile(ref: string): boolean {
  return !/^https?:\/\//i.test(ref) && existsSync(ref) && statSync(ref).isFile();
}

/** The request a story becomes (pure but for the file check): JSON when no media is local, else multipart parts in order. */
export function storyRequestParts(opts: Omit<SubmitStoryOptions, 'client'>): {
  json?: Record<string, unknown>;
  fields?: Array<[string, string]>;
  files?: Array<[string, string]>;
} {
  const {
    audio,
    userPhoto,
    images = [],
    storyId,
    storyteller,
    title,
    music,
    brand,
    backend,
    allowDegradation,
    callbackUrl,
  } = opts;
  const media: Array<[string, string]> = [
    ['audio', audio],
    ...(userPhoto ? [['userPhoto', userPhoto] as [string, string]] : []),
    ...images.map((i) => ['images', i] as [string, string]),
    ...(brand?.logo ? [['logo', brand.logo] as [string, string]] : []),
  ];
  const { logo: _logo, ...brandRest } = brand ?? {};
  const plain: Record<string, unknown> = {
    ...(storyId ? { storyId } : {}),
    ...(storyteller ? { storyteller } : {}),
    ...(title ? { title } : {}),
    ...(music ? { music } : {}),
    ...(Object.keys(brandRest).length ? { brand: brandRest } : {}),
    ...(backend ? { backend } : {}),
    ...(allowDegradation !== undefined ? { allowDegradation } : {}),
    ...(callbackUrl ? { callbackUrl } : {}),
  };
  if (!media.some(([, ref]) => isLocalFile(ref))) {
    return {
      json: {
        ...plain,
        audio,
        ...(userPhoto ? { userPhoto } : {}),
        ...(images.length ? { images } : {}),
        ...(brand?.logo ? { logo: brand.logo } : {}),
      },
    };
  }
  // Multipart: the story id first (it names the upload folder), then the settings, then the media.
  const fields: Array<[string, string]> = Object.entries(plain).map(([k, v]) => [
    k,
    typeof v === 'string' ? v : JSON.stringify(v),
  ]);
  const files: Array<[string, string]> = [];
  for (const [name, ref] of media) (isLocalFile(ref) ? files : fields).push([name, ref]);
  return { fields, files };
}

/** Submits a story; resolves to the job id and status URL (202), throws ApiError with the server's message otherwise. */
export async function submitStory(opts: SubmitStoryOptions): Promise<SubmittedStory> {
  const { client, ...story } = opts;
  const parts = storyRequestParts(story);
  let body: string | FormData;
  const headers: Record<string, string> = { authorization: `Bearer ${client.apiKey}` };
  if (parts.json) {
    body = JSON.stringify(parts.json);
    headers['content-type'] = 'application/json';
  } else {
    const form = new FormData();
    for (const [k, v] of parts.fields ?? []) form.append(k, v);
    // openAsBlob streams from disk: a large recording is never read whole into memory.
    for (const [k, file] of parts.files ?? []) form.append(k, await openAsBlob(file), basename(file));
    body = form;
  }
  const res = await fetch(`${client.baseUrl}/v1/stories`, { method: 'POST', headers, body });
  const text = await res.text();
  if (!res.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
    } catch {
      // not JSON
    }
    throw new ApiError(res.status, `POST /v1/stories: ${res.status} ${message}`);
  }
  return JSON.parse(text) as SubmittedStory;
}
