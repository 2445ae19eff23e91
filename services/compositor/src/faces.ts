import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Job, SpeakerRole } from '@reelbus/contracts';
import {
  describeError,
  isBlobNotFound,
  isFfmpegError,
  isPermanent,
  probe,
  runFfmpeg,
  withLocalFile,
  type BlobStore,
} from '@reelbus/kit';

/** Where the default faces are stored: by content, so a changed file gets a new key. */
export const DEFAULT_FACE_PREFIX = 'avatars/faces/';

/** Codecs of still pictures the encoder draws as image clips (ffprobe's names: JPEG is `mjpeg`). */
const STILL_CODECS = new Set(['png', 'mjpeg', 'webp', 'bmp', 'tiff', 'gif']);

const CONTENT_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
};

/**
 * The default face of each role (the bundled illustrations, or DEFAULT_CALLER_IMAGE /
 * DEFAULT_CALLEE_IMAGE) as blob keys the encoder can read: each file is stored once per process at
 * `avatars/faces/<sha256 prefix><ext>` (skipped when that key exists already).
 */
export class DefaultFaces {
  readonly #blobs: BlobStore;
  readonly #files: Record<SpeakerRole, string>;
  readonly #keys = new Map<SpeakerRole, Promise<string>>();

  constructor({ blobs, files }: { blobs: BlobStore; files: Record<SpeakerRole, string> }) {
    this.#blobs = blobs;
    this.#files = files;
  }

  /** The blob key of `role`'s default face, stored on first use. */
  key(role: SpeakerRole): Promise<string> {
    let key = this.#keys.get(role);
    if (!key) {
      key = this.#store(this.#files[role]);
      this.#keys.set(role, key);
      key.catch(() => this.#keys.delete(role)); // try again on the next call
    }
    return key;
  }

  async #store(file: string): Promise<string> {
    const bytes = await readFile(file);
    const ext = extname(file).toLowerCase() || '.png';
    const key = `${DEFAULT_FACE_PREFIX}${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}${ext}`;
    if (!(await this.#blobs.stat(key))) {
      await this.#blobs.put(key, bytes, { contentType: CONTENT_TYPES[ext] ?? 'application/octet-stream' });
    }
    return key;
  }
}

/** The job's own face for `role` (`callerImage` / `calleeImage`), when it names one. */
export function jobFaceKey(job: Job, role: SpeakerRole): string | undefined {
  const v = role === 'caller' ? job.input.callerImage : job.input.calleeImage;
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/**
 * The face to draw for each role: the job's image when it is in storage and is a picture ffmpeg can
 * read, else the default face, with a warning saying why (the ai-generator's local provider does the
 * same). Storage errors other than "not found" are thrown (transient: the message is retried).
 */
export async function resolveFaces({
  job,
  roles,
  labels,
  blobs,
  defaults,
  tmpDir,
  warn,
}: {
  job: Job;
  roles: readonly SpeakerRole[];
  labels: Record<SpeakerRole, string>;
  blobs: BlobStore;
  defaults: Pick<DefaultFaces, 'key'>;
  tmpDir?: string;
  warn: (message: string) => Promise<void>;
}): Promise<Partial<Record<SpeakerRole, string>>> {
  const faces: Partial<Record<SpeakerRole, string>> = {};
  for (const role of roles) {
    const key = jobFaceKey(job, role);
    const problem = key ? await faceProblem({ blobs, key, ...(tmpDir ? { tmpDir } : {}) }) : undefined;
    if (key && !problem) {
      faces[role] = key;
      continue;
    }
    if (key && problem) await warn(`The ${labels[role]} image ${key} ${problem}; the default face is used.`);
    faces[role] = await defaults.key(role);
  }
  return faces;
}

/**
 * Why the image at `key` cannot be drawn, or undefined when it can: it must be a still picture
 * (ffprobe reads a text file as ANSI "video", and this ffmpeg cannot decode HEIC) whose first frame
 * decodes, so that the encode never fails on it.
 */
async function faceProblem({
  blobs,
  key,
  tmpDir,
}: {
  blobs: BlobStore;
  key: string;
  tmpDir?: string;
}): Promise<string | undefined> {
  try {
    return await withLocalFile({ blobs, key, ...(tmpDir ? { tmpDir } : {}) }, async (path) => {
      const codec = (await probe(path)).video?.codec;
      if (!codec) return 'has no picture';
      if (!STILL_CODECS.has(codec)) return `is not a JPEG, PNG or WebP picture (${codec})`;
      try {
        await runFfmpeg({ step: 'compose', args: ['-i', path, '-frames:v', '1', '-f', 'null', '-'] });
      } catch (err) {
        if (!isFfmpegError(err) || err.exitCode === null) throw err; // killed (shutdown): retry
        return `cannot be decoded (${decodeReason(err.stderrTail)})`;
      }
      return undefined;
    });
  } catch (err) {
    if (isBlobNotFound(err)) return 'was not found';
    if (isPermanent(err)) return `cannot be read as a picture (${describeError(err)})`;
    throw err;
  }
}

/** The line of ffmpeg's stderr that says why a picture does not decode, without the `[png @ 0x…]` prefix. */
export function decodeReason(stderrTail: string): string {
  const lines = stderrTail
    .split('\n')
    .map((l) => l.replace(/^\[[^\]]*@ 0x[0-9a-f]+\]\s*/, '').trim())
    .filter((l) => l && !/^Conversion failed/.test(l));
  return (
    lines.find((l) => /invalid|error|corrupt|truncat|missing/i.test(l)) ?? lines.at(-1) ?? 'ffmpeg failed'
  );
}
