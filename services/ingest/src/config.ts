import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { env, parseConfig } from '@reelbus/kit';
import { checkKeyList, legacyKeyName, parseApiKeys, type ApiKeyConfig } from './api-keys.ts';

const SHA256_HASH = /^sha256:[0-9a-f]{64}$/i;

/**
 * The ingest service's own environment variables (the kit runtime parses the shared ones).
 * Keys are the variable names; `toIngestConfig` turns the parsed values into `IngestConfig`.
 */
export const IngestEnv = z
  .object({
    INGEST_HOST: env.string().default('0.0.0.0'),
    INGEST_PORT: env.int({ min: 0, max: 65535 }).default(8080),
    /** The URL the world reaches this service at (Twilio signs it; links are built on it). */
    PUBLIC_BASE_URL: env.url().optional(),
    TWILIO_AUTH_TOKEN: env.string().optional(),
    /** Named keys: `name:role:sha256:<hex>,…` or a JSON array (see api-keys.ts). */
    API_KEYS: env.string().optional(),
    /** The older form: anonymous hashes, each a `user` key named `key-<first 8 hex digits>`. */
    API_KEY_HASHES: env
      .list()
      .refine((l) => l.every((h) => SHA256_HASH.test(h)), {
        message:
          'must be a comma-separated list of "sha256:<64 hex digits>" (hash of each key, never the key)',
      })
      .optional(),
    LINK_SIGNING_SECRET: z
      .string({ error: 'is required: a random secret that signs video links (e.g. `openssl rand -hex 32`)' })
      .min(16, 'must be at least 16 characters (a random secret)'),
    VIDEO_LINK_TTL_SEC: env.int({ min: 60, max: 7 * 86_400 }).default(86_400),
    UPLOAD_MAX_BYTES: env.int({ min: 1 }).default(200 * 1024 * 1024),
    ALLOW_PRIVATE_CALLBACKS: env.bool().default(false),
    /** Accept story media URLs that are http or on loopback/private hosts (local development only). */
    ALLOW_PRIVATE_URLS: env.bool().default(false),
    /** Requests per minute per API key (0 = no limit). */
    RATE_LIMIT_REQUESTS_PER_MINUTE: env.int({ min: 0 }).default(3000),
    /** `replica`: each ingest process counts on its own; `cluster`: counts shared through NATS KV. */
    RATE_LIMIT_SCOPE: env.enum(['replica', 'cluster']).default('replica'),
    /** Unfinished jobs (queued, running, stalled) per API key (0 = no limit); always across replicas. */
    MAX_ACTIVE_JOBS_PER_KEY: env.int({ min: 0 }).default(100),
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
    /** Serve the studio (the web app) at `/`. */
    STUDIO_ENABLED: env.bool().default(true),
    /** The studio's build; `services/ingest/studio/dist` by default. */
    STUDIO_DIR: env.string().optional(),
    /** Origins besides this one the studio's <video>/<img> may load from (a CDN in front of the blobs). */
    STUDIO_MEDIA_ORIGINS: env
      .list()
      .refine((l) => l.every(isOrigin), {
        message: 'must be a comma-separated list of origins like https://cdn.example.com (no path)',
      })
      .optional(),
    /** Jaeger's UI: jobs link their trace there (`links.trace`); `off`: no link. */
    JAEGER_URL: z
      .union([z.literal('off'), env.url()], { error: 'must be an http(s) URL of the Jaeger UI, or off' })
      .default('http://localhost:16686'),
  })
  .superRefine((e, ctx) => {
    if (e.API_KEYS === undefined && (e.API_KEY_HASHES === undefined || e.API_KEY_HASHES.length === 0)) {
      ctx.addIssue({
        code: 'custom',
        path: ['API_KEYS'],
        message:
          'is required: name each API key with its role and hash, e.g. API_KEYS=ci:user:sha256:<hex>,ops:operator:sha256:<hex> (the older API_KEY_HASHES=sha256:<hex>,… still works)',
      });
      return;
    }
    const { problems } = collectKeys(e);
    for (const p of problems) ctx.addIssue({ code: 'custom', path: [p.variable], message: p.message });
  });
export type IngestEnv = z.infer<typeof IngestEnv>;

/** The keys of API_KEYS and API_KEY_HASHES together, and what is wrong with them. */
function collectKeys(e: Pick<IngestEnv, 'API_KEYS' | 'API_KEY_HASHES'>): {
  keys: ApiKeyConfig[];
  problems: Array<{ variable: 'API_KEYS' | 'API_KEY_HASHES'; message: string }>;
} {
  const named = e.API_KEYS !== undefined ? parseApiKeys(e.API_KEYS) : { keys: [], problems: [] };
  const legacy: ApiKeyConfig[] = (e.API_KEY_HASHES ?? []).map((h) => ({
    name: legacyKeyName(h),
    role: 'user',
    hash: h.toLowerCase(),
  }));
  const keys = [...named.keys, ...legacy];
  return {
    keys,
    problems: [
      ...named.problems.map((message) => ({ variable: 'API_KEYS' as const, message })),
      ...(named.problems.length === 0 && e.API_KEYS !== undefined && named.keys.length === 0
        ? [{ variable: 'API_KEYS' as const, message: 'lists no key' }]
        : []),
      ...checkKeyList(keys).map((message) => ({ variable: 'API_KEYS' as const, message })),
    ],
  };
}

export interface RateLimits {
  /** Requests per minute per key; 0 = none. A key's own `requestsPerMinute` wins. */
  requestsPerMinute: number;
  /** Where requests are counted: in each ingest process, or shared by all through NATS KV. */
  scope: 'replica' | 'cluster';
  /** Unfinished jobs per key; 0 = none. A key's own `maxActiveJobs` wins. */
  maxActiveJobs: number;
}

export interface IngestConfig {
  host: string;
  port: number;
  /** No trailing slash, e.g. `https://calls.example.com`. */
  publicBaseUrl: string;
  twilioAuthToken: string | undefined;
  /** The accepted API keys: name, role, `sha256:<hex>` hash, optional limits. */
  apiKeys: ApiKeyConfig[];
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
  limits: RateLimits;
  /** The studio at `/`: where its build is, and extra media origins for its CSP; undefined: not served. */
  studio?: { dir: string; mediaOrigins: string[] } | undefined;
  /** Jaeger's UI (no trailing slash), for `links.trace`; undefined: no link. */
  jaegerUrl?: string | undefined;
}

/** Where the studio's build is in this repository (and in the container image). */
export const DEFAULT_STUDIO_DIR = fileURLToPath(new URL('../studio/dist', import.meta.url));

function isOrigin(v: string): boolean {
  try {
    const u = new URL(v);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === v.replace(/\/+$/, '');
  } catch {
    return false;
  }
}

/** Turns parsed environment values into the service's settings. */
export function toIngestConfig(e: IngestEnv): IngestConfig {
  const base = e.PUBLIC_BASE_URL ?? `http://localhost:${e.INGEST_PORT}`;
  return {
    host: e.INGEST_HOST,
    port: e.INGEST_PORT,
    publicBaseUrl: base.replace(/\/+$/, ''),
    twilioAuthToken: e.TWILIO_AUTH_TOKEN,
    apiKeys: collectKeys(e).keys,
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
    limits: {
      requestsPerMinute: e.RATE_LIMIT_REQUESTS_PER_MINUTE,
      scope: e.RATE_LIMIT_SCOPE,
      maxActiveJobs: e.MAX_ACTIVE_JOBS_PER_KEY,
    },
    studio: e.STUDIO_ENABLED
      ? {
          dir: e.STUDIO_DIR ?? DEFAULT_STUDIO_DIR,
          mediaOrigins: (e.STUDIO_MEDIA_ORIGINS ?? []).map((o) => o.replace(/\/+$/, '')),
        }
      : undefined,
    jaegerUrl: e.JAEGER_URL === 'off' ? undefined : e.JAEGER_URL.replace(/\/+$/, ''),
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
