import { GenerationRequestedV1, type EventDataInput } from '@reelbus/contracts';
import {
  MODEL_TYPES,
  ModelEntrySchema,
  estimateCostUsd,
  publicModel,
  type ModelRegistry,
} from '@reelbus/ai-generator/models';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { RouteContext } from '../app.ts';
import { checkCallbackUrl } from '../callback-url.ts';
import { HttpError, badRequest, invalidInput } from '../errors.ts';
import { ErrorBody, JobAccepted, NoQuery, TestModeField, jobLinks } from '../http/schemas.ts';
import { fieldIssues } from '../http/validation.ts';
import { newJobId } from '../ids.ts';

/* Generations: the model registry and one model run per job. */

export const ModelsQuery = z
  .object({ type: z.enum(MODEL_TYPES).optional().describe('Only models of this type') })
  .strict();

export const GenerationBody = z
  .object({
    /** A model id from `GET /v1/models`. */
    model: z.string().min(1).max(100).describe('A model id from GET /v1/models'),
    /** The model's params (its JSON Schema in `GET /v1/models`); defaults fill in what is left out. */
    params: z
      .record(z.string(), z.unknown())
      .default({})
      .describe("The model's params (its JSON Schema in GET /v1/models); defaults fill in what is left out"),
    callbackUrl: z.string().optional().describe('Where the notifier POSTs the signed result webhook'),
    /** A test run (the model named is the provider asked for: a test run of a paid model is paid). */
    testMode: TestModeField,
  })
  .strict();

export const GenerationAccepted = JobAccepted.extend({
  model: z.string(),
  estimatedCostUsd: z.number().describe("From the model's pricing"),
  estimatedTimeSec: z.number().describe('Typical wall time of one run'),
});

/** What `GET /v1/models` shows of a model. */
export const PublicModelSchema = ModelEntrySchema.pick({
  id: true,
  type: true,
  provider: true,
  ref: true,
  description: true,
  params: true,
  media: true,
  limits: true,
  pricing: true,
  estimatedTimeSec: true,
}).meta({
  id: 'Model',
  description: 'A model of the registry: its params (JSON Schema), pricing and limits',
});

export const generationRoutes: FastifyPluginAsyncZod<{ ctx: RouteContext; models: ModelRegistry }> = async (
  app,
  { ctx, models },
) => {
  const { config } = ctx;

  app.route({
    method: 'GET',
    url: '/v1/models',
    config: { access: 'user' },
    schema: {
      summary: 'The model registry: every model with its params, pricing and limits',
      tags: ['generations'],
      querystring: ModelsQuery,
      response: { 200: z.object({ models: z.array(PublicModelSchema) }), '4xx': ErrorBody },
    },
    handler: async (req) => ({ models: models.list(req.query.type).map(publicModel) }),
  });

  app.route({
    method: 'GET',
    url: '/v1/models/*',
    config: { access: 'user' },
    schema: {
      summary: 'One model (its id may contain slashes)',
      tags: ['generations'],
      params: z.object({ '*': z.string().describe('The model id') }),
      querystring: NoQuery,
      response: { 200: PublicModelSchema, '4xx': ErrorBody },
    },
    handler: async (req) => {
      const id = req.params['*'];
      if (!models.has(id))
        throw new HttpError({
          statusCode: 404,
          code: 'not_found',
          message: `no model "${id}" (GET /v1/models lists them)`,
        });
      return publicModel(models.get(id));
    },
  });

  app.route({
    method: 'POST',
    url: '/v1/generations',
    config: { access: 'user' },
    schema: {
      summary: "One model run: params checked against the model's schema, cost estimated",
      tags: ['generations'],
      querystring: NoQuery,
      body: GenerationBody,
      response: { 202: GenerationAccepted, '4xx': ErrorBody, 503: ErrorBody },
    },
    handler: async (req, reply) => {
      const { model: id, params, callbackUrl: rawCallback, testMode = false } = req.body;
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
      if (!checked.ok) throw invalidInput(checked.issues);
      const callbackUrl = checkCallbackUrl({
        value: rawCallback,
        allowPrivate: config.allowPrivateCallbacks,
      });
      const estimatedCostUsd = estimateCostUsd({ model, params: checked.params });
      const data = {
        model: id,
        params: checked.params,
        ...(callbackUrl ? { callbackUrl } : {}),
      } satisfies EventDataInput<'generation.requested'>;
      const check = GenerationRequestedV1.data.safeParse(data);
      if (!check.success) throw invalidInput(fieldIssues(check.error));

      const jobId = newJobId();
      const now = new Date().toISOString();
      await ctx.submitJob({
        job: {
          id: jobId,
          kind: 'generation',
          input: data,
          // the request is accepted here: no event of the notifier's marks the ingest step for this kind
          steps: { ingest: { status: 'completed', startedAt: now, finishedAt: now, percent: 100 } },
          cost: { backend: model.provider, estimateUsd: estimatedCostUsd },
          ...(callbackUrl ? { callbackUrl } : {}),
        },
        event: { type: 'generation.requested', data },
        principal: req.principal,
        testMode,
      });
      req.log.info({ jobId, model: id, provider: model.provider }, 'generation requested');
      return reply.code(202).send({
        jobId,
        ...jobLinks(config.publicBaseUrl, jobId),
        model: id,
        estimatedCostUsd,
        estimatedTimeSec: model.estimatedTimeSec,
      });
    },
  });
};
