import { GenerationRequestedV1, newJob, type EventDataInput } from '@reelbus/contracts';
import { MODEL_TYPES, estimateCostUsd, publicModel, type ModelRegistry } from '@reelbus/ai-generator/models';
import { currentTraceId } from '@reelbus/kit';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { RouteContext } from '../app.ts';
import { checkCallbackUrl } from '../callback-url.ts';
import { HttpError, badRequest } from '../errors.ts';
import { newJobId } from '../ids.ts';

/*
 * Generations: the model registry and one model run per job. Each route's zod schemas sit beside it, ready
 * for fastify-type-provider-zod (issue 11 §5); until that lands they are applied by hand in the handler.
 */

export const ModelsQuery = z.object({ type: z.enum(MODEL_TYPES).optional() }).strict();

export const GenerationBody = z
  .object({
    /** A model id from `GET /v1/models`. */
    model: z.string().min(1).max(100),
    /** The model's params (its JSON Schema in `GET /v1/models`); defaults fill in what is left out. */
    params: z.record(z.string(), z.unknown()).default({}),
    callbackUrl: z.string().optional(),
  })
  .strict();

export const GenerationAccepted = z.object({
  jobId: z.string(),
  statusUrl: z.string(),
  eventsUrl: z.string(),
  model: z.string(),
  estimatedCostUsd: z.number(),
  estimatedTimeSec: z.number(),
});

/** Every bad JSON path of a zod error, at once, as one 400 naming the first. */
function invalid(error: z.ZodError): HttpError {
  const lines = error.issues.map((i) => `${i.path.map(String).join('.') || 'body'}: ${i.message}`);
  const first = error.issues[0]?.path.map(String).join('.') || 'body';
  return new HttpError({ statusCode: 400, code: 'invalid_input', field: first, message: lines.join('; ') });
}

export async function generationRoutes(
  app: FastifyInstance,
  { ctx, models }: { ctx: RouteContext; models: ModelRegistry },
) {
  const { config, bus, jobs } = ctx;
  const auth = { onRequest: ctx.requireApiKey };

  app.get('/v1/models', auth, async (req) => {
    const q = ModelsQuery.safeParse(req.query ?? {});
    if (!q.success) throw invalid(q.error);
    return { models: models.list(q.data.type).map(publicModel) };
  });

  app.get<{ Params: { id: string } }>('/v1/models/*', auth, async (req) => {
    const id = (req.params as Record<string, string>)['*'] ?? '';
    if (!models.has(id))
      throw new HttpError({
        statusCode: 404,
        code: 'not_found',
        message: `no model "${id}" (GET /v1/models lists them)`,
      });
    return publicModel(models.get(id));
  });

  app.post('/v1/generations', auth, async (req, reply) => {
    const body = GenerationBody.safeParse(req.body ?? {});
    if (!body.success) throw invalid(body.error);
    const { model: id, params, callbackUrl: rawCallback } = body.data;
    if (!models.has(id)) {
      throw badRequest(
        'model',
        `unknown model "${id}"; GET /v1/models lists them (${models
          .list()
          .map((m) => m.id)
          .join(', ')})`,
      );
    }
    const model = models.get(id);
    const checked = models.validateParams(id, params);
    if (!checked.ok) {
      throw new HttpError({
        statusCode: 400,
        code: 'invalid_input',
        field: checked.issues[0]?.field ?? 'params',
        message: checked.message,
      });
    }
    const callbackUrl = checkCallbackUrl({ value: rawCallback, allowPrivate: config.allowPrivateCallbacks });
    const estimatedCostUsd = estimateCostUsd({ model, params: checked.params });
    const data = {
      model: id,
      params: checked.params,
      ...(callbackUrl ? { callbackUrl } : {}),
    } satisfies EventDataInput<'generation.requested'>;
    const check = GenerationRequestedV1.data.safeParse(data);
    if (!check.success) throw invalid(check.error);

    const jobId = newJobId();
    const now = new Date();
    // One helper creates jobs once issue 11 §12's jobs/submit.ts lands; until then, the recordings pattern:
    // create the document, publish the first event, and on a failed publish delete the job and answer 503.
    await jobs.create(
      newJob(
        {
          id: jobId,
          kind: 'generation',
          traceId: currentTraceId(),
          input: data,
          // the request is accepted here: no event of the notifier's marks the ingest step for this kind
          steps: {
            ingest: {
              status: 'completed',
              startedAt: now.toISOString(),
              finishedAt: now.toISOString(),
              percent: 100,
            },
          },
          cost: { backend: model.provider, estimateUsd: estimatedCostUsd },
          ...(callbackUrl ? { callbackUrl } : {}),
        },
        now,
      ),
    );
    try {
      await bus.publish('generation.requested', jobId, data, { id: `generation.requested:${jobId}` });
    } catch (err) {
      req.log.error({ err, jobId }, 'publishing generation.requested failed');
      await jobs.delete(jobId).catch(() => undefined);
      throw new HttpError({
        statusCode: 503,
        code: 'bus_unavailable',
        message: 'cannot queue the generation right now; try again shortly',
        headers: { 'retry-after': '2' },
        cause: err,
      });
    }
    req.log.info({ jobId, model: id, provider: model.provider }, 'generation requested');
    const base = `${config.publicBaseUrl}/v1/jobs/${jobId}`;
    return reply.code(202).send(
      GenerationAccepted.parse({
        jobId,
        statusUrl: base,
        eventsUrl: `${base}/events`,
        model: id,
        estimatedCostUsd,
        estimatedTimeSec: model.estimatedTimeSec,
      }),
    );
  });
}
