import { z } from 'zod';
import { env } from '@reelbus/kit';

/** The story part's settings (merged into the compositor's schema in main.ts). */
export const StoryEnv = z.object({
  /** Seed the sample music library (only when `music/` is empty) and the default logo at start. The embedded profile needs music. */
  COMPOSITOR_SEED_MUSIC: env.bool().default(true),
  /** Fetch brand logos from loopback/private hosts too (tests, private networks). */
  BRAND_ALLOW_PRIVATE_URLS: env.bool().default(false),
  /** Time allowed to download a brand logo. */
  BRAND_FETCH_TIMEOUT_MS: env.int({ min: 1_000, max: 300_000 }).default(20_000),
});
export type StoryConfig = z.infer<typeof StoryEnv>;
