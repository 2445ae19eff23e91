import { seedSampleLibrary, type BlobStore, type Logger } from '@reelbus/kit';
import { ensureDefaultLogo } from './brand.ts';

/**
 * Start-up seeding, run in the background (consuming starts at once; story handlers wait for it before
 * choosing music): the default logo always, the sample music library when asked and `music/` is empty.
 * A failure is logged, never fatal: stories then render without music / with a lazily made logo.
 */
export function seedStoryAssets({
  blobs,
  logger,
  tmpDir,
  seedMusic,
}: {
  blobs: BlobStore;
  logger: Logger;
  tmpDir?: string;
  seedMusic: boolean;
}): Promise<void> {
  const t = tmpDir ? { tmpDir } : {};
  return (async () => {
    await ensureDefaultLogo({ blobs, logger, ...t });
    if (seedMusic) {
      const r = await seedSampleLibrary({ blobs, logger, ...t });
      if (!r.seeded) logger.info('music library present: not seeding the samples');
    }
  })().catch((err: unknown) =>
    logger.error({ err }, 'seeding the story assets failed; stories may have no music'),
  );
}
