import rateLimit, { type FastifyRateLimitStore, type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { Metrics } from '@reelbus/kit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiKeyConfig } from '../api-keys.ts';
import type { RateLimits } from '../config.ts';
import { HttpError } from '../errors.ts';
import { keyToken, type CasMap } from './cas-map.ts';

/** Counted on every 429: `limit` is `requests_per_minute` or `active_jobs`, `key` the key's name. */
export const LIMITED_METRIC = 'reelbus_api_limited_total';
export const LIMITED_HELP = 'Requests answered 429 because an API key was over one of its limits';

export function countLimited(metrics: Metrics, key: string, limit: 'requests_per_minute' | 'active_jobs') {
  metrics.add(LIMITED_METRIC, { key, limit }, 1, 'counter', LIMITED_HELP);
}

const WINDOW_MS = 60_000;
const MAX_CAS_ATTEMPTS = 25;

/** Pure: the fixed one-minute window `now` falls in, and the milliseconds left in it. */
export function windowOf(now: number, windowMs = WINDOW_MS): { index: number; ttlMs: number } {
  const index = Math.floor(now / windowMs);
  return { index, ttlMs: (index + 1) * windowMs - now };
}

/**
 * A store for @fastify/rate-limit that counts in a CasMap (NATS KV): every ingest replica adds to
 * one counter per key and fixed one-minute window (`rpm.<key>.<window>`; the bucket's TTL drops old ones).
 */
export function casRateLimitStore(map: CasMap, now: () => number = Date.now): FastifyRateLimitStoreCtor {
  const make = (prefix: string): FastifyRateLimitStore => ({
    incr(key, cb, timeWindow) {
      void (async () => {
        const { index, ttlMs } = windowOf(now(), timeWindow);
        const entryKey = `rpm.${keyToken(prefix + key)}.${index}`;
        for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
          const cur = await map.get(entryKey);
          const next = (cur ? Number(cur.value) || 0 : 0) + 1;
          if (await map.put(entryKey, String(next), cur?.revision ?? 0)) return { current: next, ttl: ttlMs };
        }
        throw new Error(`rate limit counter ${entryKey}: too many concurrent updates`);
      })().then(
        (res) => cb(null, res),
        (err: Error) => cb(err),
      );
    },
    child(routeOptions) {
      // A route with its own limit counts apart (the plugin passes the route as `routeInfo`).
      const info =
        (routeOptions as { routeInfo?: { method?: unknown; url?: string } }).routeInfo ?? routeOptions;
      return make(info.url ? `${String(info.method)} ${info.url} ` : prefix);
    },
  });
  // @fastify/rate-limit constructs the store with `new`.
  return function CasRateLimitStore() {
    return make('');
  } as unknown as FastifyRateLimitStoreCtor;
}

/** What a request counts against: its API key, or (signed links) the client address. */
export const limiterKey = (req: FastifyRequest) =>
  req.principal ? `key:${req.principal.name}` : `ip:${req.ip}`;

/**
 * Requests per minute per API key with @fastify/rate-limit: `429` + `Retry-After` past the limit,
 * counted in `reelbus_api_limited_total`. Routes opt out with `config: { rateLimit: false }`.
 * Runs after the access check (route-level onRequest), so it knows the key. Call before any route.
 */
export function registerRequestLimit(
  app: FastifyInstance,
  opts: { limits: RateLimits; keys: ApiKeyConfig[]; counters?: CasMap; metrics: Metrics },
): void {
  const { limits, keys, counters, metrics } = opts;
  const perKey = new Map(keys.map((k) => [k.name, k.requestsPerMinute ?? limits.requestsPerMinute]));
  const limitFor = (req: FastifyRequest) =>
    req.principal ? (perKey.get(req.principal.name) ?? limits.requestsPerMinute) : limits.requestsPerMinute;
  // On the root instance (not inside a plugin of its own), so its onRoute hook sees every route.
  app.register(rateLimit, {
    global: true,
    hook: 'onRequest',
    timeWindow: WINDOW_MS,
    keyGenerator: limiterKey,
    max: (req) => limitFor(req),
    allowList: (req) => limitFor(req) === 0,
    ...(limits.scope === 'cluster' && counters ? { store: casRateLimitStore(counters) } : {}),
    // A counter store that cannot be reached lets requests through rather than failing them all.
    skipOnError: true,
    onExceeded: (req) => countLimited(metrics, req.principal?.name ?? '(no key)', 'requests_per_minute'),
    errorResponseBuilder: (req, ctx) =>
      new HttpError({
        statusCode: 429,
        code: 'rate_limited',
        message: `${req.principal ? `the API key "${req.principal.name}"` : 'this client'} made more than ${ctx.max} requests in a minute; try again in ${ctx.after}`,
        headers: { 'retry-after': String(Math.max(1, Math.ceil(ctx.ttl / 1000))) },
      }),
  });
}
