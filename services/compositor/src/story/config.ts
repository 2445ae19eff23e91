import { z } from 'zod';
import { env } from '@reelbus/kit';

/** The story part's settings (merged into the compositor's schema in main.ts). */
export const StoryEnv = z.object({
  /** Seed the sample music library (only when `music/` is empty) and the default logo at start. The embedded profile needs music. */
  COMPOSITOR_SEED_MUSIC: env.bool().default(true),
});
export type StoryConfig = z.infer<typeof StoryEnv>;
