import { hostname } from 'node:os';
import { startService } from '@reelbus/kit';
import { AiGeneratorEnv, modelsConfigPath } from './config.ts';
import { createGenerationProviders } from './generation/providers.ts';
import {
  handleGenerationCallback,
  handleGenerationRequested,
  type GenerationDeps,
} from './generation/handle-generation.ts';
import { BUNDLED_FACES, handleClipRequested, type ClipDeps } from './handle-clip-requested.ts';
import { loadModelRegistryOrExit } from './models/registry.ts';
import { createProviders } from './providers/index.ts';
import { handleProjectAssetRequested, type ProjectAssetDeps } from './project/handle-asset.ts';

// an invalid model registry stops the service before it starts, one line per problem (exit 78)
const registry = loadModelRegistryOrExit({ path: modelsConfigPath(), service: 'ai-generator' });
const rt = await startService({
  name: 'ai-generator',
  configSchema: AiGeneratorEnv,
  needs: { blobs: true, jobs: true },
});
const { config, base } = rt;

const fal = registry.has(config.FAL_MODEL) ? registry.get(config.FAL_MODEL) : undefined;
if (!fal || fal.type !== 'avatar' || fal.provider !== 'fal') {
  rt.logger.fatal(
    `FAL_MODEL: "${config.FAL_MODEL}" is not a fal avatar model of the registry ${registry.source}`,
  );
  process.exit(78);
}

const deps: ClipDeps = {
  blobs: rt.blobs,
  registry,
  providers: createProviders({ config, stallTimeoutMs: base.stallTimeoutMs, registry }),
  defaultProvider: config.AI_PROVIDER,
  settings: {
    width: config.CLIP_WIDTH,
    height: config.CLIP_HEIGHT,
    segmentConcurrency: config.SEGMENT_CONCURRENCY,
    maxSegmentSec: config.MAX_SEGMENT_SEC,
    defaultImages: {
      caller: config.DEFAULT_CALLER_IMAGE ?? BUNDLED_FACES.caller,
      callee: config.DEFAULT_CALLEE_IMAGE ?? BUNDLED_FACES.callee,
    },
    tmpDir: base.tmpDir,
    stallTimeoutMs: base.stallTimeoutMs,
  },
};
const generation: GenerationDeps = {
  registry,
  providers: createGenerationProviders({ config, registry, stallTimeoutMs: base.stallTimeoutMs }),
  blobs: rt.blobs,
  jobs: rt.jobs,
  watchJob: (jobId, onEvent) => rt.bus.watchJob(jobId, onEvent),
  webhooks:
    config.PUBLIC_BASE_URL && config.GENERATION_WEBHOOK_SECRET
      ? { baseUrl: config.PUBLIC_BASE_URL, secret: config.GENERATION_WEBHOOK_SECRET }
      : undefined,
  poll: {
    initialMs: config.GENERATION_POLL_INITIAL_MS,
    maxMs: config.GENERATION_POLL_MAX_MS,
    timeoutMs: config.GENERATION_TIMEOUT_MS,
    maxErrors: 5,
  },
  retries: config.GENERATION_RETRIES,
  retryBaseMs: config.GENERATION_RETRY_BASE_MS,
  tmpDir: base.tmpDir,
  instance: `${hostname()}:${process.pid}`,
};
const projectAssets: ProjectAssetDeps = {
  registry,
  providers: generation.providers,
  blobs: rt.blobs,
  tmpDir: base.tmpDir,
  poll: generation.poll,
  fetch: {
    allowPrivate: config.PROJECT_ALLOW_PRIVATE_URLS,
    timeoutMs: config.PROJECT_FETCH_TIMEOUT_MS,
    maxBytes: config.PROJECT_FETCH_MAX_BYTES,
  },
};
rt.logger.info(
  {
    provider: deps.defaultProvider,
    providers: Object.keys(deps.providers),
    generationProviders: Object.keys(generation.providers),
    models: registry.list().length,
    registry: registry.source,
    webhooks: Boolean(generation.webhooks),
    model: config.FAL_MODEL,
  },
  'ai-generator ready',
);

await rt.bus.consume({
  service: rt.name,
  // Both sides of a call in parallel by default: a call's two clips arrive together, and on the local
  // provider each is one ffmpeg process (benchmarks: the single biggest cut in a call's wall time).
  concurrency: Math.max(base.concurrency, 2),
  // generation can take minutes: the consume loop's heartbeat keeps the message alive meanwhile
  handlers: {
    'clip.requested': { step: 'generate', handle: (e, ctx) => handleClipRequested({ e, ctx, deps }) },
    'generation.requested': {
      step: 'generate',
      handle: (e, ctx) => handleGenerationRequested({ e, ctx, deps: generation }),
    },
    'project.asset.requested': {
      step: 'prepare',
      handle: (e, ctx) => handleProjectAssetRequested({ e, ctx, deps: projectAssets }),
    },
    'generation.callback': {
      step: 'generate',
      handle: (e, ctx) => handleGenerationCallback({ e, ctx, deps: generation }),
    },
  },
});
