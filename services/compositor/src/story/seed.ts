import { seedSampleLibrary, type BlobStore, type Logger, type SampleTrackSpec } from '@reelbus/kit';
import { ensureDefaultLogo } from './brand.ts';

/** What a story waiting for the sample music library tells its user (job step message). */
export const SEEDING_MUSIC_MESSAGE = 'generating the sample music library (first story only, a few seconds)';

/**
 * Start-up seeding, run in the background (consuming starts at once; story handlers wait for it before
 * choosing music): the default logo always, the sample music library when asked and `music/` is empty.
 * A failure is logged, never fatal: stories then render without music / with a lazily made logo.
 * `onSeedingMusic` is called when the music library is being generated.
 */
export function seedStoryAssets({
  blobs,
  logger,
  tmpDir,
  seedMusic,
  onSeedingMusic,
  library,
}: {
  blobs: BlobStore;
  logger: Logger;
  tmpDir?: string;
  seedMusic: boolean;
  onSeedingMusic?: () => void;
  /** Which sample tracks and lengths (default: the whole sample library; tests ask for less). */
  library?: { tracks?: SampleTrackSpec[]; variants?: number[] };
}): Promise<void> {
  const t = tmpDir ? { tmpDir } : {};
  return (async () => {
    await ensureDefaultLogo({ blobs, logger, ...t });
    if (seedMusic) {
      const r = await seedSampleLibrary({
        blobs,
        logger,
        ...t,
        ...library,
        ...(onSeedingMusic ? { onStart: onSeedingMusic } : {}),
      });
      if (!r.seeded) logger.info('music library present: not seeding the samples');
    }
  })().catch((err: unknown) =>
    logger.error({ err }, 'seeding the story assets failed; stories may have no music'),
  );
}

/**
 * The story assets, seeded once, when the first story needs them (a stack that only renders calls
 * never pays for them). The returned function resolves when they are ready; a story that has to wait
 * for the music library to be generated hears `SEEDING_MUSIC_MESSAGE` through `onWait`, at once if
 * the generation is already under way.
 */
export function storyAssetSeeder(
  opts: Omit<Parameters<typeof seedStoryAssets>[0], 'onSeedingMusic'>,
): (onWait?: (message: string) => void) => Promise<void> {
  let seeding: Promise<void> | undefined;
  let generating = false;
  const waiting = new Set<(message: string) => void>();
  return (onWait) => {
    seeding ??= seedStoryAssets({
      ...opts,
      onSeedingMusic: () => {
        generating = true;
        for (const w of waiting) w(SEEDING_MUSIC_MESSAGE);
      },
    }).finally(() => {
      generating = false;
      waiting.clear();
    });
    if (onWait) {
      if (generating) onWait(SEEDING_MUSIC_MESSAGE);
      else {
        waiting.add(onWait);
        void seeding.finally(() => waiting.delete(onWait));
      }
    }
    return seeding;
  };
}
