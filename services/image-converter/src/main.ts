import { startService } from '@reelbus/kit';
import { ImageConverterEnv, toImageConverterSettings } from './config.ts';
import { configureSharpForService, heicSupported } from './convert.ts';
import { handleStoryImages } from './handle-story.ts';

// The image-converter: fetches, orients and converts a story's images (see README.md).
configureSharpForService();
const rt = await startService({
  name: 'image-converter',
  configSchema: ImageConverterEnv,
  needs: { blobs: true, jobs: false }, // keeps no job state
});
const settings = toImageConverterSettings({ env: rt.config, tmpDir: rt.base.tmpDir });

await rt.bus.consume({
  service: rt.name,
  concurrency: rt.base.concurrency,
  handlers: {
    'story.received': {
      step: 'images',
      handle: (event, ctx) => handleStoryImages({ event, ctx, blobs: rt.blobs, settings }),
    },
  },
});
rt.logger.info(
  {
    imageConcurrency: settings.concurrency,
    fetchTimeoutMs: settings.fetch.timeoutMs,
    allowPrivateUrls: settings.fetch.allowPrivate,
    heic: heicSupported(),
  },
  heicSupported()
    ? 'image-converter consuming story.received'
    : 'image-converter consuming story.received (HEIC images will be skipped: this sharp build cannot decode HEVC)',
);
