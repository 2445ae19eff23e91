import { buildProviderInput } from '../models/input.ts';
import { loadModelRegistry, type ModelRegistry } from '../models/registry.ts';
import type { Model } from '../models/types.ts';

/**
 * What the call pipeline knows about an avatar model, read from the model registry (infra/models.yaml,
 * MODELS_CONFIG): where it runs, how long its input may be, its frame rate, how its input is built.
 */
export interface ModelSpec {
  id: string;
  provider: Model['provider'];
  /** Longest input audio the model accepts, seconds (Infinity when unlimited). */
  maxInputSec: number;
  /** Frame rate the model renders at. */
  fps: number;
  /** The provider's input fields the model reads. */
  inputFields: readonly string[];
  /** Builds the model's input from hosted URLs (the registry's input mapping of `image`, `audio`, `prompt`). */
  buildInput(opts: { imageUrl: string; audioUrl: string; prompt: string }): Record<string, unknown>;
}

let shipped: ModelRegistry | undefined;

/** The avatar model `id` of `registry` (the shipped one by default); throws when it is not an avatar model. */
export function modelSpec(
  id: string,
  registry: ModelRegistry = (shipped ??= loadModelRegistry()),
): ModelSpec {
  const model = registry.get(id);
  if (model.type !== 'avatar') throw new Error(`model "${id}" is a ${model.type} model, not an avatar model`);
  return {
    id: model.id,
    provider: model.provider,
    maxInputSec: model.limits.maxInputSec ?? Number.POSITIVE_INFINITY,
    fps: model.limits.fps ?? 25,
    inputFields: Object.keys(model.input ?? model.params.properties ?? {}),
    buildInput: ({ imageUrl, audioUrl, prompt }) =>
      buildProviderInput({ model, params: { prompt }, mediaUrls: { image: imageUrl, audio: audioUrl } }),
  };
}
