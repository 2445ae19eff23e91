import { z } from 'zod';
import { env } from '@reelbus/kit';

/** Settings of the render resolver (merged into the compositor's schema in main.ts). */
export const RenderEnv = z.object({
  /** Fetch render sources from http and loopback / private / link-local hosts too (tests, private networks). */
  RENDER_ALLOW_PRIVATE_URLS: env.bool().default(false),
  /** Time allowed for one source download: connect, redirects and the whole body. */
  RENDER_FETCH_TIMEOUT_MS: env.int({ min: 1_000, max: 3_600_000 }).default(300_000),
  /** Largest source download accepted, bytes (default 2 GiB). */
  RENDER_SOURCE_MAX_BYTES: env.int({ min: 1024 }).default(2 * 1024 * 1024 * 1024),
});
export type RenderConfig = z.infer<typeof RenderEnv>;
