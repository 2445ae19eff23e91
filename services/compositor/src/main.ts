import { BUNDLED_FACES } from '@reelbus/ai-generator/local-look';
import { loadModelRegistryOrExit } from '@reelbus/ai-generator/models';
import { startService } from '@reelbus/kit';
import { CompositorEnv } from './config.ts';
import { DefaultFaces } from './faces.ts';
import { composeCall } from './handle-audio-split.ts';
import { collectCallClip } from './handle-clip-generated.ts';
import { RenderEnv, resolveRenderRequest, type RenderResolveDeps } from './render/index.ts';
import { collectProjectAsset, requestProjectAssets, type ProjectDeps } from './project/handle.ts';
import { StoryEnv, collectStoryAudio, collectStoryImages, storyAssetSeeder } from './story/index.ts';

const rt = await startService({
  name: 'compositor',
  configSchema: CompositorEnv.extend(StoryEnv.shape).extend(RenderEnv.shape),
  needs: { blobs: true, jobs: true },
});
// Scene projects name models of the registry (voices, generated visuals, music): the same file as the ai-generator's.
const registry = loadModelRegistryOrExit({
  path: rt.config.MODELS_CONFIG || undefined,
  service: 'compositor',
});
// Stories: the default logo and sample music are made when the first story needs them (a few
// CPU-seconds for the music), so a stack that only renders calls never pays for them.
const storyDeps = {
  jobs: rt.jobs,
  blobs: rt.blobs,
  tmpDir: rt.base.tmpDir,
  brandFetch: {
    allowPrivate: rt.config.BRAND_ALLOW_PRIVATE_URLS,
    timeoutMs: rt.config.BRAND_FETCH_TIMEOUT_MS,
  },
  assetsReady: storyAssetSeeder({
    blobs: rt.blobs,
    logger: rt.logger,
    tmpDir: rt.base.tmpDir,
    seedMusic: rt.config.COMPOSITOR_SEED_MUSIC,
  }),
};
const renderDeps: RenderResolveDeps = {
  blobs: rt.blobs,
  tmpDir: rt.base.tmpDir,
  fetch: {
    allowPrivate: rt.config.RENDER_ALLOW_PRIVATE_URLS,
    timeoutMs: rt.config.RENDER_FETCH_TIMEOUT_MS,
    maxBytes: rt.config.RENDER_SOURCE_MAX_BYTES,
  },
};
const deps = {
  jobs: rt.jobs,
  defaultSize: { width: rt.config.CALL_VIDEO_WIDTH, height: rt.config.CALL_VIDEO_HEIGHT },
  calls: { defaultProvider: rt.config.AI_PROVIDER, localRender: rt.config.CALL_LOCAL_RENDER },
  faces: {
    blobs: rt.blobs,
    tmpDir: rt.base.tmpDir,
    defaults: new DefaultFaces({
      blobs: rt.blobs,
      files: {
        caller: rt.config.DEFAULT_CALLER_IMAGE ?? BUNDLED_FACES.caller,
        callee: rt.config.DEFAULT_CALLEE_IMAGE ?? BUNDLED_FACES.callee,
      },
    }),
  },
};

const projectDeps: ProjectDeps = {
  jobs: rt.jobs,
  blobs: rt.blobs,
  tmpDir: rt.base.tmpDir,
  model: (id) => {
    if (!registry.has(id)) return undefined;
    const m = registry.get(id);
    return { type: m.type, params: Object.keys(m.params.properties ?? {}) };
  },
};

await rt.bus.consume({
  service: rt.name,
  concurrency: Math.max(rt.base.concurrency, 5), // one per consumed type, so a waiting story never holds up calls
  handlers: {
    'audio.split': { step: 'compose', handle: (event, ctx) => composeCall({ event, ctx, deps }) },
    'clip.generated': { step: 'compose', handle: (event, ctx) => collectCallClip({ event, ctx, deps }) },
    'audio.normalized': {
      step: 'compose',
      handle: (event, ctx) => collectStoryAudio({ event, ctx, deps: storyDeps }),
    },
    'project.render.requested': {
      step: 'prepare',
      handle: (event, ctx) => requestProjectAssets({ event, ctx, deps: projectDeps }),
    },
    'project.asset.ready': {
      step: 'prepare',
      handle: (event, ctx) => collectProjectAsset({ event, ctx, deps: projectDeps }),
    },
    'images.converted': {
      step: 'compose',
      handle: (event, ctx) => collectStoryImages({ event, ctx, deps: storyDeps }),
    },
    'render.requested': {
      step: 'compose',
      handle: (event, ctx) => resolveRenderRequest({ event, ctx, deps: renderDeps }),
    },
  },
});
