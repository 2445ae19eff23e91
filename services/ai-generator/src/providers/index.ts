import type { AiGeneratorEnv } from '../config.ts';
import type { ModelRegistry } from '../models/registry.ts';
import { createFalProvider } from './fal.ts';
import { createLocalProvider } from './local.ts';
import type { AvatarProvider } from './types.ts';

/** The providers this process can run: always `local`; `fal` when a key or a base URL (proxy) is configured. */
export function createProviders(opts: {
  config: AiGeneratorEnv;
  stallTimeoutMs?: number;
  registry?: ModelRegistry;
}): Record<string, AvatarProvider> {
  const { config, stallTimeoutMs, registry } = opts;
  const providers: Record<string, AvatarProvider> = {
    local: createLocalProvider({
      width: config.CLIP_WIDTH,
      height: config.CLIP_HEIGHT,
      ...(stallTimeoutMs ? { stallTimeoutMs } : {}),
    }),
  };
  if (config.FAL_KEY || config.FAL_BASE_URL) {
    providers.fal = createFalProvider({
      credentials: config.FAL_KEY,
      model: config.FAL_MODEL,
      baseUrl: config.FAL_BASE_URL,
      timeoutMs: config.FAL_TIMEOUT_MS,
      retries: config.FAL_RETRIES,
      retryBaseMs: config.FAL_RETRY_BASE_MS,
      pollIntervalMs: config.FAL_POLL_INTERVAL_MS,
      prompt: config.FAL_PROMPT,
      registry,
    });
  }
  return providers;
}
