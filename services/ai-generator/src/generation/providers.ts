import type { AiGeneratorEnv } from '../config.ts';
import type { ModelRegistry } from '../models/registry.ts';
import type { ProviderName } from '../models/types.ts';
import { createElevenLabsProvider } from './elevenlabs-provider.ts';
import { createFalGenerationProvider } from './fal-provider.ts';
import { createLocalGenerationProvider } from './local-provider.ts';
import { createReplicateProvider } from './replicate-provider.ts';
import type { GenerationProvider } from './types.ts';

/**
 * The generation providers this process runs: always `local`; `replicate`, `fal`, `elevenlabs` when their
 * key (or a base URL, e.g. a proxy that adds it) is set.
 */
export function createGenerationProviders(opts: {
  config: AiGeneratorEnv;
  registry: ModelRegistry;
  stallTimeoutMs?: number;
}): Partial<Record<ProviderName, GenerationProvider>> {
  const { config, stallTimeoutMs } = opts;
  const out: Partial<Record<ProviderName, GenerationProvider>> = {
    local: createLocalGenerationProvider(stallTimeoutMs ? { stallTimeoutMs } : {}),
  };
  if (config.REPLICATE_API_TOKEN)
    out.replicate = createReplicateProvider({
      token: config.REPLICATE_API_TOKEN,
      baseUrl: config.REPLICATE_BASE_URL,
    });
  if (config.FAL_KEY || config.FAL_BASE_URL)
    out.fal = createFalGenerationProvider({ credentials: config.FAL_KEY, baseUrl: config.FAL_BASE_URL });
  if (config.ELEVENLABS_API_KEY || config.ELEVENLABS_BASE_URL)
    out.elevenlabs = createElevenLabsProvider({
      apiKey: config.ELEVENLABS_API_KEY,
      baseUrl: config.ELEVENLABS_BASE_URL,
      retries: config.GENERATION_RETRIES,
      retryBaseMs: config.GENERATION_RETRY_BASE_MS,
      ...(stallTimeoutMs ? { stallTimeoutMs } : {}),
    });
  return out;
}
