import { open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventDataInput, EventOf } from '@reelbus/contracts';
import {
  describeError,
  withTempDir,
  type BlobStore,
  type HandlerContext,
  type HandlerOutcome,
} from '@reelbus/kit';
import { convertImage, heicSupported, isHeicHead, type ConvertSettings } from './convert.ts';
import {
  describeSource,
  ImageUnavailableError,
  withImageFile,
  type ImageFetchSettings,
} from './fetch-image.ts';

export interface ImageConverterSettings {
  fetch: ImageFetchSettings;
  maxInputPixels: number;
  quality: number;
  /** Images fetched and converted at once. */
  concurrency: number;
  /** Where temp dirs go (BaseConfig.tmpDir). */
  tmpDir: string;
}

/** Blob keys this step writes (deterministic: a redelivery overwrites). `n` is the display position. */
export const keys = {
  image: (jobId: string, n: number) => `jobs/${jobId}/images/${n}.jpg`,
};

type Converted = EventDataInput<'images.converted'>['images'][number];
type Skipped = { origin: string; reason: string };

/**
 * story.received → every image (user photo first, then `images` in order) fetched and converted in
 * parallel, at most `concurrency` at once → images.converted with the list in display order. An image
 * that cannot be used is skipped with a `job.warning`; the job never fails here. With none left the
 * list is empty and `usedFallback` is true (the compositor shows the brand instead).
 */
export async function handleStoryImages(opts: {
  event: EventOf<'story.received'>;
  ctx: HandlerContext;
  blobs: BlobStore;
  settings: ImageConverterSettings;
}): Promise<HandlerOutcome> {
  const { event, ctx, blobs, settings } = opts;
  const { jobId, data } = event;
  const sources = [
    ...(data.userPhoto ? [{ origin: 'userPhoto', source: data.userPhoto }] : []),
    ...data.images.map((source, i) => ({ origin: `images[${i}]`, source })),
  ];
  await ctx.progress('images', 'started');
  const convert: ConvertSettings = {
    maxInputPixels: settings.maxInputPixels,
    quality: settings.quality,
    background: data.brand.background,
  };

  const results = await withTempDir(
    'reelbus-images',
    async (dir) => {
      let done = 0;
      return mapBounded(sources, settings.concurrency, async ({ origin, source }, n) => {
        const result = await convertOne({
          jobId,
          n,
          origin,
          source,
          dir,
          blobs,
          settings,
          convert,
          signal: ctx.signal,
        });
        done++;
        ctx.working();
        void ctx
          .progress('images', 'running', Math.round((done / sources.length) * 100))
          .catch(() => undefined);
        if ('reason' in result) {
          const message = `${origin} (${describeSource(source)}) was skipped: ${result.reason}`;
          ctx.logger.warn({ origin, reason: result.reason }, 'image skipped');
          await ctx.warn('images', message);
        }
        return result;
      });
    },
    { tmpDir: settings.tmpDir },
  );

  const images = results.filter((r): r is Converted => 'key' in r);
  const skipped = results.filter((r): r is Skipped => 'reason' in r);
  const usedFallback = images.length === 0;
  if (usedFallback && sources.length > 0) {
    await ctx.warn(
      'images',
      `none of the ${sources.length} images could be used; the video shows the brand instead`,
    );
  }
  await ctx.publish(
    'images.converted',
    jobId,
    { images, skipped, usedFallback },
    { id: `images.converted:${jobId}` },
  );
  await ctx.progress('images', 'completed', 100, `${images.length} converted, ${skipped.length} skipped`);
  return { outcome: 'ok' };
}

async function convertOne(opts: {
  jobId: string;
  n: number;
  origin: string;
  source: EventOf<'story.received'>['data']['images'][number];
  dir: string;
  blobs: BlobStore;
  settings: ImageConverterSettings;
  convert: ConvertSettings;
  signal: AbortSignal;
}): Promise<Converted | Skipped> {
  const { jobId, n, origin, source, dir, blobs, settings, convert, signal } = opts;
  const output = join(dir, `out-${n}.jpg`);
  const download = join(dir, `in-${n}`);
  let converted;
  try {
    converted = await withImageFile(
      { source, blobs, file: download, tmpDir: dir, settings: settings.fetch, signal },
      async (input) => {
        await checkDecodable({ input });
        return convertImage({ input, output, settings: convert });
      },
    );
  } catch (err) {
    if (signal.aborted) throw err;
    return { origin, reason: skipReason({ err, settings }) };
  } finally {
    await rm(download, { force: true });
  }
  // storing the result is our infrastructure, not the user's image: its errors are retried (thrown)
  const key = keys.image(jobId, n);
  await blobs.putFile(key, output, { contentType: 'image/jpeg', retention: 'intermediate' });
  return { key, width: converted.width, height: converted.height, origin };
}

/** Refuses what sharp must not be handed: an empty file, and HEIC when this build cannot decode it. */
async function checkDecodable(opts: { input: string }): Promise<void> {
  const { input } = opts;
  const size = (await stat(input)).size;
  if (size === 0) throw new ImageUnavailableError('the file is empty (0 bytes)');
  const fh = await open(input, 'r');
  const head = new Uint8Array(12);
  try {
    await fh.read(head, 0, 12, 0);
  } finally {
    await fh.close();
  }
  if (isHeicHead(head) && !heicSupported()) {
    throw new ImageUnavailableError(
      'HEIC images cannot be decoded by this server (its sharp/libheif build has no HEVC decoder); send JPEG, PNG or WebP',
    );
  }
}

function skipReason(opts: { err: unknown; settings: ImageConverterSettings }): string {
  const { err, settings } = opts;
  if (err instanceof ImageUnavailableError) return err.message;
  const message = describeError(err);
  if (/pixel limit/i.test(message)) {
    return `the image has more than ${Math.round(settings.maxInputPixels / 1e6)} megapixels (IMAGE_MAX_INPUT_PIXELS)`;
  }
  return `not a decodable image (${message.split('\n')[0]})`;
}

/** Maps `items` with at most `limit` calls in flight; results keep the input order. */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return results;
}
