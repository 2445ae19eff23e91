import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import {
  describeError,
  probe,
  redactUrl,
  runFfmpeg,
  safeFetch,
  withTempDir,
  type BlobStore,
  type Logger,
} from '@reelbus/kit';
import { DEFAULT_FONT } from './font.ts';

/** Where the bundled default brand logo lives in blob storage (used when a story names no logo). */
export const DEFAULT_LOGO_KEY = 'brand/default-logo.png';

/**
 * ffmpeg arguments (pure) for the default logo: a warm brown rounded badge with "reelbus" in white,
 * on a transparent 800×300 PNG, so it sits on any background and reads at corner size.
 */
export function defaultLogoArgs({
  file,
  fontFile = DEFAULT_FONT,
}: {
  file: string;
  fontFile?: string;
}): string[] {
  const w = 800;
  const h = 300;
  const r = 60;
  // Alpha: inside a rounded rectangle (distance to the inner rectangle ≤ r).
  const dx = `max(max(${r}-X\\,X-(W-1-${r}))\\,0)`;
  const dy = `max(max(${r}-Y\\,Y-(H-1-${r}))\\,0)`;
  const alpha = `if(lte(${dx}*${dx}+${dy}*${dy}\\,${r * r})\\,255\\,0)`;
  return [
    '-f',
    'lavfi',
    '-i',
    `color=c=0x8a4b2a:s=${w}x${h}:d=1`,
    '-vf',
    [
      'format=rgba',
      `geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='${alpha}'`,
      `drawtext=fontfile=${fontFile}:text=reelbus:fontsize=150:fontcolor=0xfff4e6:x=(w-text_w)/2:y=(h-text_h)/2`,
    ].join(','),
    '-frames:v',
    '1',
    '-update',
    '1',
    file,
  ];
}

/** Writes the default logo into blob storage unless it is there (idempotent; replicas may race, both write the same file). */
export async function ensureDefaultLogo({
  blobs,
  tmpDir,
  logger,
}: {
  blobs: BlobStore;
  tmpDir?: string;
  logger?: Logger;
}): Promise<string> {
  if (await blobs.stat(DEFAULT_LOGO_KEY)) return DEFAULT_LOGO_KEY;
  await withTempDir(
    'reelbus-logo',
    async (dir) => {
      const file = join(dir, 'logo.png');
      await runFfmpeg({ step: 'brand-logo', args: defaultLogoArgs({ file }), ...(logger ? { logger } : {}) });
      await blobs.putFile(DEFAULT_LOGO_KEY, file, { contentType: 'image/png' });
    },
    tmpDir ? { tmpDir } : {},
  );
  logger?.info({ key: DEFAULT_LOGO_KEY }, 'wrote the default brand logo');
  return DEFAULT_LOGO_KEY;
}

/**
 * Fetches a brand logo given as an https URL through the kit's `safeFetch` (public hosts only unless
 * `allowPrivate`; at most `maxBytes`), converts it to PNG with ffmpeg (keeps transparency; refuses
 * what is not an image) and stores it at `jobs/<jobId>/brand/logo.png`. Returns the key, or a reason
 * the caller turns into a warning: a logo that cannot be had never fails the video.
 */
export async function fetchBrandLogo({
  url,
  jobId,
  blobs,
  allowPrivate,
  timeoutMs,
  maxBytes = 10 * 1024 * 1024,
  tmpDir,
  logger,
}: {
  url: string;
  jobId: string;
  blobs: BlobStore;
  allowPrivate: boolean;
  timeoutMs: number;
  maxBytes?: number;
  tmpDir?: string;
  logger?: Logger;
}): Promise<{ key: string } | { reason: string }> {
  const key = `jobs/${jobId}/brand/logo.png`;
  try {
    return await withTempDir(
      'reelbus-brand',
      async (dir) => {
        const raw = join(dir, 'logo-source');
        const res = await safeFetch({
          url,
          allowPrivate,
          timeoutMs,
          maxBytes,
          headers: { accept: 'image/*' },
        });
        if (!res.ok) {
          await res.body.cancel().catch(() => undefined);
          return { reason: `brand.logo ${redactUrl(url)} answered HTTP ${res.status}` };
        }
        await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), createWriteStream(raw));
        const info = await probe(raw);
        if (!info.video) return { reason: `brand.logo ${redactUrl(url)} is not an image` };
        const png = join(dir, 'logo.png');
        await runFfmpeg({
          step: 'brand-logo',
          args: ['-i', raw, '-frames:v', '1', '-vf', 'format=rgba', '-update', '1', png],
          ...(logger ? { logger } : {}),
        });
        await blobs.putFile(key, png, { contentType: 'image/png', retention: 'intermediate' });
        return { key };
      },
      tmpDir ? { tmpDir } : {},
    );
  } catch (err) {
    return { reason: `brand.logo ${redactUrl(url)} could not be fetched: ${describeError(err)}` };
  }
}
