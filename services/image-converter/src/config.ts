import { env } from '@reelbus/kit';
import { z } from 'zod';
import { DEFAULT_CONVERT_SETTINGS } from './convert.ts';
import type { ImageConverterSettings } from './handle-story.ts';

/** The image-converter's own environment (the kit runtime parses the shared settings). */
export const ImageConverterEnv = z.object({
  /** Allow http and loopback / private / link-local image URLs (tests, the embedded stack). Off: no SSRF. */
  IMAGES_ALLOW_PRIVATE_URLS: env.bool().default(false),
  /** Limit of one image download: connect, redirects and the whole body. */
  FETCH_TIMEOUT_MS: env.int({ min: 100, max: 600_000 }).default(30_000),
  /** Images fetched and converted at once per story (memory ≈ this × one image's peak). */
  IMAGE_CONCURRENCY: env.int({ min: 1, max: 16 }).default(4),
  /** Largest image download accepted, bytes. */
  IMAGE_MAX_BYTES: env.int({ min: 1024 }).default(64 * 1024 * 1024),
  /** Largest image decoded, pixels (decompression-bomb guard); 100 MP by default. */
  IMAGE_MAX_INPUT_PIXELS: env
    .int({ min: 1_000_000, max: 1_000_000_000 })
    .default(DEFAULT_CONVERT_SETTINGS.maxInputPixels),
  IMAGE_JPEG_QUALITY: env.int({ min: 1, max: 100 }).default(DEFAULT_CONVERT_SETTINGS.quality),
});
export type ImageConverterEnv = z.infer<typeof ImageConverterEnv>;

/** Turns parsed environment values into the handler's settings. */
export function toImageConverterSettings(opts: {
  env: ImageConverterEnv;
  tmpDir: string;
}): ImageConverterSettings {
  const { env: e, tmpDir } = opts;
  return {
    fetch: {
      allowPrivate: e.IMAGES_ALLOW_PRIVATE_URLS,
      timeoutMs: e.FETCH_TIMEOUT_MS,
      maxBytes: e.IMAGE_MAX_BYTES,
    },
    maxInputPixels: e.IMAGE_MAX_INPUT_PIXELS,
    quality: e.IMAGE_JPEG_QUALITY,
    concurrency: e.IMAGE_CONCURRENCY,
    tmpDir,
  };
}
