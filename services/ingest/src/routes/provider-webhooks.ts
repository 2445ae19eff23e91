import { createHash, createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import type { Job } from '@reelbus/contracts';
import {
  CallbackBodyError,
  falCallback,
  replicateCallback,
  verifyWebhookToken,
  type CallbackFacts,
} from '@reelbus/ai-generator/models';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { z } from 'zod';
import type { RouteContext } from '../app.ts';
import { HttpError } from '../errors.ts';
import { ErrorBody } from '../http/schemas.ts';

/*
 * Provider webhooks (no API key: the providers call them). A webhook is accepted only when
 *  1. its URL carries the job id signed with GENERATION_WEBHOOK_SECRET (so it can only finish that job),
 *  2. its body is signed by the provider (Replicate: Standard Webhooks HMAC; fal: ED25519) within 5 minutes,
 *  3. its id was not seen before for that job (kept in the job document: shared by every ingest replica).
 * Then it becomes a `generation.callback` event for the ai-generator. Forged or stale → 401, replayed → 409;
 * nothing is published for either.
 */

export const WebhookQuery = z.object({ job: z.string().min(1).max(128), token: z.string().min(1).max(200) });

/** How old (or how far in the future) a signed webhook may be. */
export const WEBHOOK_TOLERANCE_SEC = 5 * 60;
/** Seen webhook ids are kept this long (a replay older than the tolerance fails its timestamp check anyway). */
const SEEN_TTL_MS = 15 * 60_000;

const unauthorized = (message: string) =>
  new HttpError({ statusCode: 401, code: 'webhook_unauthorized', message });

export type FalVerdict =
  { ok: true } | { ok: false; reason: 'missing' | 'stale' | 'forged'; message: string };

/**
 * Checks a fal webhook's ED25519 signature: the message is `request-id \n user-id \n timestamp \n
 * hex(sha256(body))`, signed (hex) by one of fal's keys; the timestamp within `toleranceSec` of `now`.
 */
export function verifyFalWebhook(opts: {
  headers: Record<string, string | string[] | undefined>;
  body: string | Buffer;
  keys: KeyObject[];
  now?: Date;
  toleranceSec?: number;
}): FalVerdict {
  const { headers, body, keys, now = new Date(), toleranceSec = WEBHOOK_TOLERANCE_SEC } = opts;
  const h = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const requestId = h('x-fal-webhook-request-id');
  const userId = h('x-fal-webhook-user-id');
  const timestamp = h('x-fal-webhook-timestamp');
  const signature = h('x-fal-webhook-signature');
  if (!requestId || !userId || !timestamp || !signature)
    return {
      ok: false,
      reason: 'missing',
      message: 'missing X-Fal-Webhook-Request-Id, -User-Id, -Timestamp or -Signature',
    };
  const ts = Number(timestamp);
  if (!Number.isFinite(ts) || Math.abs(now.getTime() / 1000 - ts) > toleranceSec)
    return {
      ok: false,
      reason: 'stale',
      message: `the webhook timestamp ${timestamp} is more than 5 minutes away`,
    };
  if (!/^[0-9a-f]{128}$/i.test(signature))
    return { ok: false, reason: 'forged', message: 'the signature is not 64 hex bytes' };
  const digest = createHash('sha256').update(body).digest('hex');
  const message = Buffer.from(`${requestId}\n${userId}\n${timestamp}\n${digest}`, 'utf8');
  const sig = Buffer.from(signature, 'hex');
  for (const key of keys) {
    if (verifySignature(null, message, key, sig)) return { ok: true };
  }
  return { ok: false, reason: 'forged', message: "the signature matches none of fal's keys" };
}

/** An ED25519 public key from a JWKS `x` (base64url of the raw 32 bytes). */
export function ed25519Key(x: string): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
}

/** fal's public keys: the configured ones, plus the JWKS fetched and cached for a day where the network allows. */
export class FalKeys {
  #fetched: { keys: KeyObject[]; at: number } | undefined;
  #lastForced = Number.NEGATIVE_INFINITY;
  readonly #configured: KeyObject[];
  constructor(
    private readonly opts: {
      jwksUrl: string | undefined;
      configured: string[];
      ttlMs?: number;
      /**
       * Forced re-fetches (a signature no cached key verifies) at most this often: a stream of forged
       * webhooks must not become a stream of requests to fal. Default one minute.
       */
      minRefreshMs?: number;
      log?: (msg: string, err?: unknown) => void;
    },
  ) {
    this.#configured = opts.configured.map(ed25519Key);
  }

  async keys(opts: { refresh?: boolean } = {}): Promise<KeyObject[]> {
    const { jwksUrl, ttlMs = 24 * 3600_000, minRefreshMs = 60_000 } = this.opts;
    const now = Date.now();
    const stale = !this.#fetched || now - this.#fetched.at > ttlMs;
    const forced = opts.refresh === true && now - this.#lastForced >= minRefreshMs;
    if (forced) this.#lastForced = now;
    if (jwksUrl && (stale || forced)) {
      try {
        const res = await fetch(jwksUrl, { signal: AbortSignal.timeout(5000) });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const jwks = (await res.json()) as { keys?: { kty?: string; crv?: string; x?: string }[] };
        const keys = (jwks.keys ?? [])
          .filter((k) => k.kty === 'OKP' && k.crv === 'Ed25519' && k.x)
          .map((k) => ed25519Key(k.x!));
        this.#fetched = { keys, at: Date.now() };
      } catch (err) {
        this.opts.log?.(`cannot fetch fal's JWKS from ${jwksUrl}; using the configured keys`, err);
        // keep what was fetched before; try again on the next webhook
      }
    }
    return [...this.#configured, ...(this.#fetched?.keys ?? [])];
  }
}

interface SeenWebhooks {
  seen?: Record<string, string>;
}

/**
 * Inside a compare-and-set: records `webhookId` as seen on the job (pruning old entries). False when it was
 * seen already: a replay.
 */
export function claimWebhookId(job: Job, webhookId: string, now: Date): boolean {
  const cur = (job.state.providerWebhooks ?? {}) as SeenWebhooks;
  const seen = { ...cur.seen };
  if (seen[webhookId]) return false;
  const cutoff = new Date(now.getTime() - SEEN_TTL_MS).toISOString();
  for (const [id, at] of Object.entries(seen)) if (at < cutoff) delete seen[id];
  seen[webhookId] = now.toISOString();
  job.state.providerWebhooks = { ...cur, seen };
  return true;
}

/** The query of a provider webhook URL, documented; checked (401 when wrong) by `checkJobToken`. */
const WebhookUrlQuery = z.object({
  job: z.string().optional().describe('The generation job the webhook is for'),
  token: z.string().optional().describe('That job id signed with GENERATION_WEBHOOK_SECRET'),
});
const WebhookAnswer = z.object({
  ok: z.literal(true),
  ignored: z.string().optional().describe('Why nothing was published (a prediction that is not finished)'),
});
/** Signed bytes are checked by the handler; the body is the provider's own JSON. */
const ProviderBody = z.record(z.string(), z.unknown());

/** Provider webhooks: no API key (the provider calls), not rate limited, signature-checked. */
const webhookRoute = (summary: string, description: string) => ({
  config: { access: 'public' as const, rateLimit: false as const },
  schema: {
    summary,
    description,
    tags: ['webhooks'],
    querystring: WebhookUrlQuery,
    body: ProviderBody,
    response: { 200: WebhookAnswer, '4xx': ErrorBody, 503: ErrorBody },
  },
});

export const providerWebhookRoutes: FastifyPluginAsyncZod<{ ctx: RouteContext }> = async (app, { ctx }) => {
  const { config, jobs, bus } = ctx;
  const falKeys = new FalKeys({
    jwksUrl: config.falJwksUrl,
    configured: config.falPublicKeys ?? [],
    log: (msg, err) => app.log.warn({ err }, msg),
  });
  // Signatures cover the exact bytes: keep the raw body (this plugin's scope only).
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    (req as FastifyRequest & { rawBody?: Buffer }).rawBody = body as Buffer;
    try {
      done(null, (body as Buffer).length ? JSON.parse((body as Buffer).toString('utf8')) : {});
    } catch {
      done(
        new HttpError({
          statusCode: 400,
          code: 'invalid_input',
          field: 'body',
          message: 'the body is not valid JSON',
        }),
        undefined,
      );
    }
  });

  const checkJobToken = (req: FastifyRequest, provider: 'replicate' | 'fal') => {
    if (!config.generationWebhookSecret)
      throw new HttpError({
        statusCode: 503,
        code: 'not_configured',
        message: 'GENERATION_WEBHOOK_SECRET is not set on ingest',
      });
    const q = WebhookQuery.safeParse(req.query ?? {});
    if (
      !q.success ||
      !verifyWebhookToken({
        secret: config.generationWebhookSecret,
        provider,
        jobId: q.data.job,
        token: q.data.token,
      })
    )
      throw unauthorized('this webhook URL is not valid for its job (job/token)');
    return q.data.job;
  };

  /** Replay check (per job, in the store), then publish; a failed publish frees the id so the provider's retry works. */
  const accept = async (opts: {
    req: FastifyRequest;
    jobId: string;
    provider: 'replicate' | 'fal';
    webhookId: string;
    facts: CallbackFacts;
  }) => {
    const { req, jobId, provider, webhookId, facts } = opts;
    const job = await jobs.get(jobId);
    if (!job || job.kind !== 'generation')
      throw new HttpError({ statusCode: 404, code: 'not_found', message: `no generation job "${jobId}"` });
    let fresh = false;
    const now = new Date();
    await jobs.update(jobId, (j) => {
      fresh = claimWebhookId(j, webhookId, now);
      return fresh ? j : undefined;
    });
    if (!fresh)
      throw new HttpError({
        statusCode: 409,
        code: 'webhook_replayed',
        message: `webhook ${webhookId} was already received`,
      });
    try {
      await bus.publish(
        'generation.callback',
        jobId,
        { provider, webhookId, receivedAt: now.toISOString(), ...facts },
        { id: `generation.callback:${jobId}:${webhookId}`.slice(0, 256) },
      );
    } catch (err) {
      await jobs
        .update(jobId, (j) => {
          const cur = (j.state.providerWebhooks ?? {}) as SeenWebhooks;
          const { [webhookId]: _gone, ...seen } = cur.seen ?? {};
          j.state.providerWebhooks = { ...cur, seen };
          return j;
        })
        .catch(() => undefined);
      throw new HttpError({
        statusCode: 503,
        code: 'bus_unavailable',
        message: 'cannot accept the webhook right now',
        cause: err,
      });
    }
    req.log.info(
      { jobId, provider, webhookId, status: facts.status, requestId: facts.requestId },
      'provider webhook accepted',
    );
    return { ok: true as const };
  };

  const bodyFacts = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof CallbackBodyError)
        throw new HttpError({ statusCode: 400, code: 'invalid_input', field: 'body', message: err.message });
      throw err;
    }
  };

  app.post(
    '/v1/webhooks/replicate',
    webhookRoute(
      'Replicate says a prediction finished (Standard Webhooks signature)',
      'The URL carries the job id signed by reelbus (`job`, `token`); the body is signed with REPLICATE_WEBHOOK_SECRET (HMAC-SHA256 of id.timestamp.body, 5 minutes tolerance). Forged or stale: 401; a replay: 409; nothing is published for either.',
    ),
    async (req, reply) => {
      const jobId = checkJobToken(req, 'replicate');
      if (!config.replicateWebhookSecret)
        throw new HttpError({
          statusCode: 503,
          code: 'not_configured',
          message: 'REPLICATE_WEBHOOK_SECRET is not set on ingest',
        });
      const raw = (req as FastifyRequest & { rawBody?: Buffer }).rawBody ?? Buffer.alloc(0);
      const headers = {
        'webhook-id': String(req.headers['webhook-id'] ?? ''),
        'webhook-timestamp': String(req.headers['webhook-timestamp'] ?? ''),
        'webhook-signature': String(req.headers['webhook-signature'] ?? ''),
      };
      try {
        // Standard Webhooks: HMAC-SHA256 of `id.timestamp.body`, timestamp within 5 minutes
        new Webhook(config.replicateWebhookSecret).verify(raw.toString('utf8'), headers);
      } catch (err) {
        if (err instanceof WebhookVerificationError) {
          const stale = /timestamp/i.test(err.message);
          throw unauthorized(
            stale ? `stale webhook: ${err.message}` : `the webhook signature is not valid: ${err.message}`,
          );
        }
        throw err;
      }
      const facts = bodyFacts(() => replicateCallback(req.body));
      if (!facts) return reply.code(200).send({ ok: true as const, ignored: 'not a completed prediction' });
      return accept({ req, jobId, provider: 'replicate', webhookId: headers['webhook-id'], facts });
    },
  );

  app.post(
    '/v1/webhooks/fal',
    webhookRoute(
      'fal says a request finished (ED25519 signature)',
      "The URL carries the job id signed by reelbus (`job`, `token`); the body is signed by one of fal's ED25519 keys (JWKS, or FAL_WEBHOOK_PUBLIC_KEYS) over request id, user id, timestamp and the body's SHA-256. Forged or stale: 401; a replay: 409.",
    ),
    async (req, reply) => {
      const jobId = checkJobToken(req, 'fal');
      const raw = (req as FastifyRequest & { rawBody?: Buffer }).rawBody ?? Buffer.alloc(0);
      let keys = await falKeys.keys();
      let verdict = verifyFalWebhook({ headers: req.headers, body: raw, keys });
      if (!verdict.ok && verdict.reason === 'forged' && config.falJwksUrl) {
        // fal rotates its keys: a signature by a new key is checked once more against a fresh JWKS
        keys = await falKeys.keys({ refresh: true });
        verdict = verifyFalWebhook({ headers: req.headers, body: raw, keys });
      }
      if (!verdict.ok) {
        if (keys.length === 0)
          throw new HttpError({
            statusCode: 503,
            code: 'not_configured',
            message: "no fal public key: fal's JWKS cannot be fetched and FAL_WEBHOOK_PUBLIC_KEYS is empty",
          });
        throw unauthorized(verdict.message);
      }
      const timestamp = String(req.headers['x-fal-webhook-timestamp']);
      const facts = bodyFacts(() =>
        falCallback(req.body, { completedAt: new Date(Number(timestamp) * 1000).toISOString() }),
      );
      if (facts.requestId !== String(req.headers['x-fal-webhook-request-id']))
        throw unauthorized('the body is for another request than the signed X-Fal-Webhook-Request-Id');
      const webhookId = `${facts.requestId}:${timestamp}`;
      void reply;
      return accept({ req, jobId, provider: 'fal', webhookId, facts });
    },
  );
};
