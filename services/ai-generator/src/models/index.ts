// The model registry and what ingest shares with the ai-generator (no provider SDKs here):
// `@reelbus/ai-generator/models`.
export * from './types.ts';
export {
  ModelRegistry,
  RegistryError,
  UnknownModelError,
  loadModelRegistry,
  loadModelRegistryOrExit,
  parseModelRegistry,
  publicModel,
  DEFAULT_MODELS_CONFIG,
  LOCAL_GENERATORS,
  type ParamsResult,
} from './registry.ts';
export { estimateCostUsd, actualCostUsd, type RunFacts } from './pricing.ts';
export { buildProviderInput, outputUrls, valueAtPath } from './input.ts';
export { signWebhookToken, verifyWebhookToken } from './webhook-token.ts';
export { replicateCallback, falCallback, CallbackBodyError, type CallbackFacts } from './callbacks.ts';
