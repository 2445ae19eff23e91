import type { Principal, EventType } from '@reelbus/contracts';
import {
  bindContext,
  metrics as processMetrics,
  runInContext,
  startServerSpan,
  type ServerSpan,
} from '@reelbus/kit';
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifySchema } from 'fastify';
import { serializerCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { KeyRing } from './api-keys.ts';
import type { IngestDeps } from './deps.ts';
import { HttpError, errorBody } from './errors.ts';
import { loadModelRegistry } from '@reelbus/ai-generator/models';
import { accessHook, checkRouteDeclaration } from './http/access.ts';
import { documentAccess, registerOpenApi } from './http/openapi.ts';
import { RequestValidationError, zodValidatorCompiler } from './http/validation.ts';
import { isActiveJob, submitJob, type SubmitJobRequest, type SubmittedJob } from './jobs/submit.ts';
import { ActiveJobs } from './limits/active-jobs.ts';
import { MemoryCasMap } from './limits/cas-map.ts';
import { registerRequestLimit } from './limits/request-limit.ts';
import { adminRoutes } from './routes/admin.ts';
import { eventRoutes } from './routes/events.ts';
import { generationRoutes } from './routes/generations.ts';
import { hlsRoutes } from './routes/hls.ts';
import { jobRoutes } from './routes/jobs.ts';
import { keyRoutes } from './routes/keys.ts';
import { kindRoutes } from './routes/kinds.ts';
import { mergeRoutes } from './routes/merges.ts';
import { operatorRoutes } from './routes/operator.ts';
import { projectRoutes } from './routes/projects.ts';
import { providerWebhookRoutes } from './routes/provider-webhooks.ts';
import { recordingRoutes } from './routes/recordings.ts';
import { reelRoutes } from './routes/reels.ts';
import { renderRoutes } from './routes/renders.ts';
import { storyRoutes } from './routes/stories.ts';
import { twilioRoutes } from './routes/twilio.ts';
import { studioRoutes } from './studio.ts';

export interface BuildAppOptions extends IngestDeps {
  /** Interval of SSE heartbeat comments. Default 15 s. */
  sseHeartbeatMs?: number;
}

/** What a route module gets (as its plugin option `ctx`): the deps, the keys, and the job-creating path. */
export interface RouteContext extends Omit<IngestDeps, 'limitStores' | 'metrics'> {
  sseHeartbeatMs: number;
  keys: KeyRing;
  /** Unfinished jobs per key (undefined when no key has a limit). */
  activeJobs: ActiveJobs | undefined;
  /**
   * Creates a job and publishes its first event (jobs/submit.ts): the only way a route makes a job.
   * Sets the trace id and `submittedBy`, applies the key's active-jobs limit, answers 503 on a bus failure.
   */
  submitJob<T extends EventType>(req: SubmitJobRequest<T>): Promise<SubmittedJob>;
}

export interface RouteInfo {
  method: string;
  url: string;
  /** The route's schema as declared (zod), for the schema-completeness test. */
  schema: FastifySchema | undefined;
  access: string | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route this app serves (HEAD routes Fastify adds are left out). */
    routeTable: RouteInfo[];
  }
}

/** The ingest HTTP edge: Twilio webhook, uploads, stories, job API, video downloads, API description. */
export function buildApp(opts: BuildAppOptions): FastifyInstance {
  const { sseHeartbeatMs = 15_000, limitStores, metrics = processMetrics, ...deps } = opts;
  const { config, logger, jobs } = deps;
  const app = Fastify({
    loggerInstance: logger,
    // Twilio signatures and links use PUBLIC_BASE_URL, never the Host header, so no proxy trust is needed.
    trustProxy: false,
    bodyLimit: 1024 * 1024,
  }).withTypeProvider<ZodTypeProvider>() as unknown as FastifyInstance;
  app.setValidatorCompiler(zodValidatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  const routeTable: RouteInfo[] = [];
  app.decorate('routeTable', routeTable);
  app.decorateRequest('principal', undefined);
  app.addHook('onRoute', (r) => {
    if (r.url.startsWith('/v1/')) {
      documentAccess(r);
      checkRouteDeclaration(r);
    }
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    for (const m of methods) {
      if (m !== 'HEAD')
        routeTable.push({ method: m, url: r.url, schema: r.schema, access: r.config?.access });
    }
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

  // Access first (app-level onRequest), then the rate limit (route-level onRequest), so it knows the key.
  const keys = new KeyRing(config.apiKeys);
  app.addHook('onRequest', accessHook({ keys, linkSecret: config.linkSigningSecret }));

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof HttpError) {
      if (err.statusCode >= 500) req.log.warn({ code: err.code, cause: err.cause }, err.message);
      return reply.code(err.statusCode).headers(err.headers).send(errorBody(err));
    }
    if (err instanceof RequestValidationError) {
      return reply.code(400).send(
        errorBody({
          code: 'invalid_input',
          message: err.message,
          field: err.issues[0]?.field,
          issues: err.issues,
        }),
      );
    }
    const e = err as { statusCode?: number; code?: string; message: string };
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

  const stores = limitStores ?? { activeJobs: new MemoryCasMap(), requestCounts: new MemoryCasMap() };
  const keyLimits = new Map(
    config.apiKeys.map((k) => [k.name, k.maxActiveJobs ?? config.limits.maxActiveJobs]),
  );
  const activeJobLimit = (p: Principal) => keyLimits.get(p.name) ?? config.limits.maxActiveJobs;
  const anyActiveLimit = [...keyLimits.values()].some((n) => n > 0);
  const activeJobs = anyActiveLimit
    ? new ActiveJobs(stores.activeJobs, async (id) => isActiveJob(await jobs.get(id)))
    : undefined;
  const submitDeps = {
    jobs,
    bus: deps.bus,
    metrics,
    logger,
    ...(activeJobs ? { activeJobs: { counter: activeJobs, limitFor: activeJobLimit } } : {}),
  };
  const ctx: RouteContext = {
    ...deps,
    sseHeartbeatMs,
    keys,
    activeJobs,
    submitJob: (req) => submitJob(submitDeps, req),
  };

  // Order matters: the API description and the rate limit see the routes registered after them.
  registerOpenApi(app, { publicBaseUrl: config.publicBaseUrl });
  registerRequestLimit(app, {
    limits: config.limits,
    keys: config.apiKeys,
    counters: stores.requestCounts,
    metrics,
  });
  app.register(twilioRoutes, { ctx });
  app.register(recordingRoutes, { ctx });
  app.register(storyRoutes, { ctx });
  app.register(mergeRoutes, { ctx });
  const models = deps.models ?? loadModelRegistry(config.modelsConfig);
  app.register(projectRoutes, { ctx, models });
  app.register(hlsRoutes, { ctx });
  app.register(renderRoutes, { ctx });
  app.register(jobRoutes, { ctx });
  app.register(adminRoutes, { ctx });
  app.register(generationRoutes, { ctx, models });
  app.register(reelRoutes, { ctx, models });
  app.register(providerWebhookRoutes, { ctx });
  app.register(keyRoutes, { ctx });
  app.register(operatorRoutes, { ctx });
  app.register(eventRoutes, { ctx });
  app.register(kindRoutes, { ctx });
  // The web app at `/` (every path outside /v1), after the API so /v1 keeps its own 404s.
  if (config.studio) app.register(studioRoutes, { settings: config.studio });
  return app;
}

/** Timeouts and "no responders" from NATS while a stream elects a leader. */
function isTransientStoreError(err: Error): boolean {
  return /timeout|no responders|503/i.test(
    `${err.name} ${(err as { code?: unknown }).code ?? ''} ${err.message}`,
  );
}
