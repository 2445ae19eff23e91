import { z } from 'zod';
import { env, parseConfig } from '@reelbus/kit';

const SHA256_HASH = /^sha256:[0-9a-f]{64}$/i;

/**
 * The ingest service's own environment variables (the kit runtime parses the shared ones).
 * Keys are the variable names; `toIngestConfig` turns the parsed values into `IngestConfig`.
 */
export const IngestEnv = z.object({
  INGEST_HOST: env.string().default('0.0.0.0'),
  INGEST_PORT: env.int({ min: 0, max: 65535 }).default(8080),
  /** The URL the world reaches this service at (Twilio signs it; links are built on it). */
  PUBLIC_BASE_URL: env.url().optional(),
  TWILIO_AUTH_TOKEN: env.string().optional(),
  API_KEY_HASHES: env
    .list()
    .refine((l) => l.length > 0, { message: 'must list at least one API key hash (sha256:<hex>)' })
    .refine((l) => l.every((h) => SHA256_HASH.test(h)), {
      message: 'must be a comma-separated list of "sha256:<64 hex digits>" (hash of each key, never the key)',
    }),
  LINK_SIGNING_SECRET: z
    .string({ error: 'is required: a random secret that signs video links (e.g. `openssl rand -hex 32`)' })
    .min(16, 'must be at least 16 characters (a random secret)'),
  VIDEO_LINK_TTL_SEC: env.int({ min: 60, max: 7 * 86_400 }).default(86_400),
  UPLOAD_MAX_BYTES: env.int({ min: 1 }).default(200 * 1024 * 1024),
  ALLOW_PRIVATE_CALLBACKS: env.bool().default(false),
  /** Accept story media URLs that are http or on loopback/private hosts (local development only). */
  ALLOW_PRIVATE_URLS: env.bool().default(false),
  /** The model registry file (YAML or JSON); the shipped infra/models.yaml by default. */
  MODELS_CONFIG: env.string().optional(),
  /** Signs the job id in provider webhook URLs; the ai-generator must have the same value. */
  GENERATION_WEBHOOK_SECRET: z
    .string()
    .min(16, 'must be at least 16 characters (a random secret)')
    .optional(),
  /** Replicate's webhook signing secret (`whsec_…`, from GET /v1/webhooks/default/secret); without it the Replicate webhook answers 503. */
  REPLICATE_WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/=]+$/, 'must be a Standard Webhooks secret: "whsec_" and base64')
    .optional(),
  /** fal's public keys (JWKS), fetched and cached for a day; unset or unreachable: only FAL_WEBHOOK_PUBLIC_KEYS. */
  FAL_WEBHOOK_JWKS_URL: env.url().default('https://rest.alpha.fal.ai/.well-known/jwks.json'),
  /** fal ED25519 public keys (the JWKS `x` values, base64url), comma-separated: accepted offline. */
  FAL_WEBHOOK_PUBLIC_KEYS: env.list().optional(),
  /** Do not fetch fal's JWKS (offline installs): only FAL_WEBHOOK_PUBLIC_KEYS are accepted. */
  FAL_WEBHOOK_JWKS_FETCH: env.bool().default(true),
});
export type IngestEnv = z.infer<typeof IngestEnv>;

export interface IngestConfig {
  host: string;
  port: number;
  /** No trailing slash, e.g. `https://calls.example.com`. */
  publicBaseUrl: string;
  twilioAuthToken: string | undefined;
  /** `sha256:<hex>` hashes of the accepted API keys. */
  apiKeyHashes: string[];
  linkSigningSecret: string;
  videoLinkTtlSec: number;
  uploadMaxBytes: number;
  allowPrivateCallbacks: boolean;
  /** Story media URLs may be http or private hosts (ALLOW_PRIVATE_URLS); false when absent. */
  allowPrivateUrls?: boolean;
  /** MODELS_CONFIG: the model registry file (the shipped one when absent). */
  modelsConfig?: string | undefined;
  /** GENERATION_WEBHOOK_SECRET: checks the signed job id of provider webhook URLs. */
  generationWebhookSecret?: string | undefined;
  /** REPLICATE_WEBHOOK_SECRET (`whsec_…`). */
  replicateWebhookSecret?: string | undefined;
  /** fal's JWKS URL, or undefined to use only the configured keys. */
  falJwksUrl?: string | undefined;
  /** fal public keys accepted offline (base64url raw ED25519 keys). */
  falPublicKeys?: string[];
}

/** Turns parsed environment values into the service's settings. */
export function toIngestConfig(e: IngestEnv): IngestConfig {
  const base = e.PUBLIC_BASE_URL ?? `http://localhost:${e.INGEST_PORT}`;
  return {
    host: e.INGEST_HOST,
    port: e.INGEST_PORT,
    publicBaseUrl: base.replace(/\/+$/, ''),
    twilioAuthToken: e.TWILIO_AUTH_TOKEN,
    apiKeyHashes: e.API_KEY_HASHES.map((h) => h.toLowerCase()),
    linkSigningSecret: e.LINK_SIGNING_SECRET,
    videoLinkTtlSec: e.VIDEO_LINK_TTL_SEC,
    uploadMaxBytes: e.UPLOAD_MAX_BYTES,
    allowPrivateCallbacks: e.ALLOW_PRIVATE_CALLBACKS,
    allowPrivateUrls: e.ALLOW_PRIVATE_URLS,
    modelsConfig: e.MODELS_CONFIG,
    generationWebhookSecret: e.GENERATION_WEBHOOK_SECRET,
    replicateWebhookSecret: e.REPLICATE_WEBHOOK_SECRET,
    falJwksUrl: e.FAL_WEBHOOK_JWKS_FETCH ? e.FAL_WEBHOOK_JWKS_URL : undefined,
    falPublicKeys: e.FAL_WEBHOOK_PUBLIC_KEYS ?? [],
  };
}

/** Reads the ingest settings from an environment (process.env by default); throws ConfigError naming each bad variable. */
export function loadIngestConfig(source: Record<string, string | undefined> = process.env): IngestConfig {
  return toIngestConfig(parseConfig(IngestEnv, source));
}

/** MODELS_CONFIG, read before the service starts (an invalid registry stops it first, exit 78). */
export function modelsConfigPath(
  source: Record<string, string | undefined> = process.env,
): string | undefined {
  return source.MODELS_CONFIG || undefined;
}
