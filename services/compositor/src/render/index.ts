export { RenderEnv, type RenderConfig } from './config.ts';
export { resolveRenderRequest, type RenderResolveDeps } from './handle.ts';
export { fetchedSourceKey, keyRefs, urlFetches, type UrlFetch } from './sources.ts';
