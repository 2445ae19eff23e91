import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { bindContext, runInContext, startServerSpan, type ServerSpan } from '@reelbus/kit';
import { bearerToken, isValidApiKey, parseKeyHashes, verifyLink } from './auth.ts';
import type { IngestDeps } from './deps.ts';
import { HttpError, errorBody } from './errors.ts';
import { loadModelRegistry } from '@reelbus/ai-generator/models';
import { generationRoutes } from './routes/generations.ts';
import { jobRoutes } from './routes/jobs.ts';
import { providerWebhookRoutes } from './routes/provider-webhooks.ts';
import { recordingRoutes } from './routes/recordings.ts';
import { storyRoutes } from './routes/stories.ts';
import { twilioRoutes } from './routes/twilio.ts';

export interface BuildAppOptions extends IngestDeps {
  /** Interval of SSE heartbeat comments. Default 15 s. */
  sseHeartbeatMs?: number;
}

/** What a route needs besides the deps: the access checks. */
export interface RouteContext extends IngestDeps {
  /** onRequest hook: 401 unless `Authorization: Bearer <valid key>`. */
  requireApiKey: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** onRequest hook: a valid API key, or a valid unexpired signed link for this exact path. */
  requireApiKeyOrSignedLink: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
  sseHeartbeatMs: number;
}

export interface RouteInfo {
  method: string;
  url: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route this app serves (HEAD routes Fastify adds are left out). */
    routeTable: RouteInfo[];
  }
}

const unauthorized = (message: string) =>
  new HttpError({
    statusCode: 401,
    code: 'unauthorized',
    message,
    headers: { 'www-authenticate': 'Bearer realm="reelbus"' },
  });

/** The ingest HTTP edge: Twilio webhook, uploads, job API, video downloads. Pass real or fake ports. */
export function buildApp(opts: BuildAppOptions): FastifyInstance {
  const { sseHeartbeatMs = 15_000, ...deps } = opts;
  const { config, logger } = deps;
  const app = Fastify({
    loggerInstance: logger,
    // Twilio signatures and links use PUBLIC_BASE_URL, never the Host header, so no proxy trust is needed.
    trustProxy: false,
    bodyLimit: 1024 * 1024,
  }) as unknown as FastifyInstance;

  const routeTable: RouteInfo[] = [];
  app.decorate('routeTable', routeTable);
  app.addHook('onRoute', (r) => {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    for (const m of methods) if (m !== 'HEAD') routeTable.push({ method: m, url: r.url });
  });

  // One SERVER span per request, active while its hooks and handler run (and bound to the request
  // stream, so body parsing keeps it): what a route publishes (recording.received) is its child,
  // making one job one trace from the webhook on.
  const spans = new WeakMap<FastifyRequest, ServerSpan>();
  app.addHook('onRequest', (req, _reply, done) => {
    const s = startServerSpan({
      method: req.method,
      path: req.url.split('?')[0] ?? req.url,
      headers: req.headers,
    });
    if (req.routeOptions.url) s.setRoute(req.routeOptions.url);
    spans.set(req, s);
    bindContext(s.context, req.raw);
    runInContext(s.context, done);
  });
  app.addHook('preHandler', (req, _reply, done) => {
    const s = spans.get(req);
    if (s) runInContext(s.context, done);
    else done();
  });
  app.addHook('onResponse', (req, reply, done) => {
    spans.get(req)?.end({ statusCode: reply.statusCode });
    done();
  });
  app.addHook('onRequestAbort', (req, done) => {
    spans.get(req)?.end({ statusCode: 499 });
    done();
  });

  const digests = parseKeyHashes(config.apiKeyHashes);
  const requireApiKey = async (req: FastifyRequest) => {
    const key = bearerToken(req.headers.authorization);
    if (!key) throw unauthorized('send an API key: "Authorization: Bearer <key>"');
    if (!isValidApiKey({ key, digests })) throw unauthorized('the API key is not valid');
  };
  const requireApiKeyOrSignedLink = async (req: FastifyRequest) => {
    const q = req.query as Record<string, string | undefined>;
    if (req.headers.authorization || (q.signature === undefined && q.expires === undefined)) {
      return requireApiKey(req);
    }
    const path = req.url.split('?')[0] ?? req.url;
    const check = verifyLink({
      path,
      expires: q.expires,
      signature: q.signature,
      secret: config.linkSigningSecret,
    });
    if (check.ok) return;
    const hint = 'ask for a fresh one with POST /v1/jobs/:id/links';
    throw new HttpError({
      statusCode: 403,
      code: check.reason === 'expired' ? 'link_expired' : 'link_invalid',
      message:
        check.reason === 'expired'
          ? `this video link expired at ${new Date(Number(q.expires) * 1000).toISOString()}; ${hint}`
          : `this video link is not valid for ${path}; ${hint}`,
    });
  };

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof HttpError) {
      if (err.statusCode >= 500) req.log.warn({ code: err.code, cause: err.cause }, err.message);
      return reply.code(err.statusCode).headers(err.headers).send(errorBody(err));
    }
    const e = err as { statusCode?: number; code?: string; message: string; validation?: unknown };
    if (e.code === 'FST_REQ_FILE_TOO_LARGE') {
      return reply.code(413).send(
        errorBody({
          code: 'too_large',
          message: `upload is larger than the limit of ${config.uploadMaxBytes} bytes (UPLOAD_MAX_BYTES)`,
        }),
      );
    }
    if (e.code === 'FST_INVALID_MULTIPART_CONTENT_TYPE') {
      return reply.code(415).send(
        errorBody({
          code: 'unsupported_media_type',
          message: 'send multipart/form-data with a "recording" file field',
        }),
      );
    }
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      return reply
        .code(e.statusCode)
        .send(errorBody({ code: (e.code ?? 'bad_request').toLowerCase(), message: e.message }));
    }
    if (err instanceof Error && (isTransientStoreError(err) || err.name === 'TransientError')) {
      // The job store or the bus is briefly unavailable (e.g. a NATS node failing over): say so, so
      // clients retry instead of giving up.
      req.log.warn({ err }, 'request failed on a transient error');
      return reply
        .code(503)
        .header('retry-after', '2')
        .send(errorBody({ code: 'unavailable', message: 'temporarily unavailable; try again shortly' }));
    }
    req.log.error({ err }, 'request failed');
    return reply
      .code(500)
      .send(errorBody({ code: 'internal', message: 'internal error; see the ingest logs' }));
  });
  app.setNotFoundHandler((req, reply) =>
    reply
      .code(404)
      .send(errorBody({ code: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` })),
  );

  const ctx: RouteContext = { ...deps, requireApiKey, requireApiKeyOrSignedLink, sseHeartbeatMs };
  app.register(twilioRoutes, { ctx });
  app.register(recordingRoutes, { ctx });
  app.register(storyRoutes, { ctx });
  app.register(jobRoutes, { ctx });
  app.register(generationRoutes, { ctx, models: deps.models ?? loadModelRegistry(config.modelsConfig) });
  app.register(providerWebhookRoutes, { ctx });
  return app;
}

/** Timeouts and "no responders" from NATS while a stream elects a leader. */
function isTransientStoreError(err: Error): boolean {
  return /timeout|no responders|503/i.test(
    `${err.name} ${(err as { code?: unknown }).code ?? ''} ${err.message}`,
  );
}
