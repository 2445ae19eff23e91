import { env, parseConfig } from '@reelbus/kit';
import { z } from 'zod';

/** The ai-generator's own environment variables (the kit parses the shared ones). */
export const AiGeneratorEnv = z
  .object({
    /** Provider used when `clip.requested` names none: `local` (offline, the default) or `fal`. */
    AI_PROVIDER: env.enum(['local', 'fal']).default('local'),
    FAL_KEY: env.string().optional(),
    /** A model id from the registry (src/providers/registry.ts). */
    FAL_MODEL: env.string().default('fal-ai/infinitalk'),
    /** Send fal's queue and storage calls here instead of fal.ai (a proxy, or a local test server). */
    FAL_BASE_URL: env.url().optional(),
    /** Overall time a clip may take on fal, retries included. */
    FAL_TIMEOUT_MS: env.int({ min: 1000 }).default(600_000),
    FAL_RETRIES: env.int({ min: 0, max: 10 }).default(2),
    /** First retry delay; doubles on each retry. */
    FAL_RETRY_BASE_MS: env.int({ min: 0 }).default(1000),
    FAL_POLL_INTERVAL_MS: env.int({ min: 50 }).default(2000),
    /** Text prompt for models that take one. */
    FAL_PROMPT: env.string().default('A friendly person talking on a phone call, looking at the camera.'),
    /** Lowers the model's input limit (seconds per segment); for tests and cost control. */
    MAX_SEGMENT_SEC: env.number({ min: 1 }).optional(),
    /** Face images used when the job brings none (paths to PNG/JPEG); the bundled illustrations otherwise. */
    DEFAULT_CALLER_IMAGE: env.string().optional(),
    DEFAULT_CALLEE_IMAGE: env.string().optional(),
    CLIP_WIDTH: env.int({ min: 64, max: 3840 }).default(640),
    CLIP_HEIGHT: env.int({ min: 64, max: 2160 }).default(720),
    /** Segments of one long channel generated at once. */
    SEGMENT_CONCURRENCY: env.int({ min: 1, max: 16 }).default(2),
    /** The model registry file (YAML or JSON); the shipped infra/models.yaml by default. */
    MODELS_CONFIG: env.string().optional(),
    /** Scene projects: visuals given as URLs may be on private hosts (tests, intranets). */
    PROJECT_ALLOW_PRIVATE_URLS: env.bool().default(false),
    PROJECT_FETCH_TIMEOUT_MS: env.int({ min: 1_000, max: 600_000 }).default(60_000),
    /** The largest visual fetched for a scene project. */
    PROJECT_FETCH_MAX_BYTES: env.int({ min: 1024 }).default(500 * 1024 * 1024),
    REPLICATE_API_TOKEN: env.string().optional(),
    /** Send Replicate API calls here instead of https://api.replicate.com/v1 (a proxy, or a local test server). */
    REPLICATE_BASE_URL: env.url().optional(),
    ELEVENLABS_API_KEY: env.string().optional(),
    /** Send ElevenLabs API calls here instead of https://api.elevenlabs.io (a proxy, or a local test server). */
    ELEVENLABS_BASE_URL: env.url().optional(),
    /** Where providers reach ingest for their webhooks (`<PUBLIC_BASE_URL>/v1/webhooks/replicate|fal`); without it, polling only. */
    PUBLIC_BASE_URL: env.url().optional(),
    /** Signs the job id in provider webhook URLs; ingest must have the same value. Required with PUBLIC_BASE_URL. */
    GENERATION_WEBHOOK_SECRET: z
      .string()
      .min(16, 'must be at least 16 characters (a random secret)')
      .optional(),
    /** First status poll of a remote run (ms); with webhooks it is only the fallback. */
    GENERATION_POLL_INITIAL_MS: env.int({ min: 10 }).default(5_000),
    /** Longest wait between status polls (ms); the wait grows ×1.5 up to it. */
    GENERATION_POLL_MAX_MS: env.int({ min: 10 }).default(60_000),
    /** A remote run still going after this long is cancelled and the generation fails. */
    GENERATION_TIMEOUT_MS: env.int({ min: 1000 }).default(30 * 60_000),
    /** Retries of a submit that failed with 429, 5xx or a timeout; first delay doubles each time. */
    GENERATION_RETRIES: env.int({ min: 0, max: 10 }).default(3),
    GENERATION_RETRY_BASE_MS: env.int({ min: 0 }).default(1000),
  })
  .superRefine((v, ctx) => {
    if (v.AI_PROVIDER === 'fal' && !v.FAL_KEY && !v.FAL_BASE_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['FAL_KEY'],
        message: 'is required when AI_PROVIDER=fal (get a key at fal.ai/dashboard/keys)',
      });
    }
    if (v.PUBLIC_BASE_URL && !v.GENERATION_WEBHOOK_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['GENERATION_WEBHOOK_SECRET'],
        message:
          'is required with PUBLIC_BASE_URL (it signs the job id in provider webhook URLs; ingest needs the same value)',
      });
    }
    if (v.CLIP_WIDTH % 2 !== 0 || v.CLIP_HEIGHT % 2 !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: [v.CLIP_WIDTH % 2 ? 'CLIP_WIDTH' : 'CLIP_HEIGHT'],
        message: 'must be even (H.264 yuv420p)',
      });
    }
  });
export type AiGeneratorEnv = z.infer<typeof AiGeneratorEnv>;

/** Parses the ai-generator's variables from `source` (process.env by default); throws ConfigError, one line per bad value. */
export function loadAiGeneratorEnv(source: Record<string, string | undefined> = process.env): AiGeneratorEnv {
  return parseConfig(AiGeneratorEnv, source);
}

/** MODELS_CONFIG, read before the service starts (an invalid registry stops it first, exit 78). */
export function modelsConfigPath(
  source: Record<string, string | undefined> = process.env,
): string | undefined {
  return source.MODELS_CONFIG || undefined;
}
