import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { RouteContext } from '../app.ts';
import { HttpError, notFound } from '../errors.ts';
import { ErrorBody, JobIdParams, NoQuery } from '../http/schemas.ts';
import { cancelDecision, deleteDecision, eraseJob, mayOperate } from '../jobs/operations.ts';

/*
 * Cancel and delete a job (issue 15 §1, §2). Allowed to an operator key and to the key that
 * submitted the job. The retry / dead-letter / replay routes are operator routes (routes/operator.ts).
 */

const CancelBody = z
  .object({
    reason: z
      .string()
      .min(1, 'must not be empty')
      .max(2000, 'must be at most 2000 characters')
      .optional()
      .describe('Why (shown in the job document and the webhook)'),
  })
  .optional()
  .meta({ id: 'CancelRequest' });

const CancelAccepted = z
  .object({
    jobId: z.string(),
    status: z
      .enum(['cancelling', 'cancelled'])
      .describe(
        '`cancelling`: the services were told and stop now; the job document turns `cancelled` (and the `job.cancelled` webhook goes) once the notifier has the event. `cancelled`: it was cancelled before.',
      ),
    alreadyCancelled: z.boolean(),
    cancel: z.object({ at: z.string(), by: z.string().optional(), reason: z.string().optional() }),
    statusUrl: z.url(),
  })
  .meta({ id: 'CancelAccepted' });

const DeleteQuery = z.object({
  cancel: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .optional()
    .describe(
      'Cancel a job that has not ended before deleting it (without it, such a job is refused with 409)',
    ),
});

const Deleted = z
  .object({
    jobId: z.string(),
    deleted: z.literal(true),
    cancelled: z.boolean().describe('The job was running and was cancelled first'),
    blobsRemoved: z.number().int(),
    bytesFreed: z.number().int(),
    deadLettersRemoved: z.number().int(),
  })
  .meta({ id: 'JobDeleted' });

export const adminRoutes: FastifyPluginAsyncZod<{ ctx: RouteContext }> = async (app, { ctx }) => {
  const { config, jobs, blobs, operations } = ctx;

  const needOperations = () => {
    if (!operations)
      throw new HttpError({
        statusCode: 503,
        code: 'unavailable',
        message: 'cancel and delete need the bus operations, which this ingest was started without',
      });
    return operations;
  };
  const loadOwnJob = async (id: string, principal: Parameters<typeof mayOperate>[1], verb: string) => {
    const job = await jobs.get(id);
    if (!job) throw notFound(`job "${id}" does not exist`);
    if (!mayOperate(job, principal))
      throw new HttpError({
        statusCode: 403,
        code: 'forbidden',
        message: `only an operator key or the key that submitted job ${id} may ${verb} it`,
      });
    return job;
  };

  app.route({
    method: 'POST',
    url: '/v1/jobs/:id/cancel',
    config: { access: 'user' },
    schema: {
      summary: 'Cancel a job: every service stops its work on it; it ends `cancelled` with one webhook',
      description:
        'Allowed to an operator key and to the key that submitted the job. Running ffmpeg is killed, provider predictions and MediaConvert jobs are cancelled, messages not yet handled are dropped. A job that already completed or failed is refused with 409; cancelling twice answers the first cancel.',
      tags: ['jobs'],
      params: JobIdParams,
      querystring: NoQuery,
      body: CancelBody,
      response: { 202: CancelAccepted, 200: CancelAccepted, '4xx': ErrorBody, 503: ErrorBody },
    },
    handler: async (req, reply) => {
      const ops = needOperations();
      const job = await loadOwnJob(req.params.id, req.principal, 'cancel');
      const decision = cancelDecision(job);
      if (decision.action === 'refuse')
        throw new HttpError({ statusCode: 409, code: 'job_ended', message: decision.reason });
      const r = await ops.cancelJob(job.id, {
        ...(req.body?.reason ? { reason: req.body.reason } : {}),
        ...(req.principal ? { by: req.principal.name } : {}),
        ...(job.testMode ? { testMode: true } : {}),
      });
      const done = decision.action === 'already';
      return reply.code(done ? 200 : 202).send({
        jobId: job.id,
        status: done ? 'cancelled' : 'cancelling',
        alreadyCancelled: r.alreadyCancelled,
        cancel: r.cancel,
        statusUrl: `${config.publicBaseUrl}/v1/jobs/${job.id}`,
      });
    },
  });

  app.route({
    method: 'DELETE',
    url: '/v1/jobs/:id',
    config: { access: 'user' },
    schema: {
      summary: 'Erase a job: its blobs under jobs/<id>/, its document and its dead letters',
      description:
        'Allowed to an operator key and to the key that submitted the job. A job that has not ended is refused with 409 unless `?cancel=true`, which cancels it first. Inputs the job took from other jobs, and the assets of a scene project, are not touched.',
      tags: ['jobs'],
      params: JobIdParams,
      querystring: DeleteQuery,
      response: { 200: Deleted, '4xx': ErrorBody, 503: ErrorBody },
    },
    handler: async (req) => {
      const ops = needOperations();
      const job = await loadOwnJob(req.params.id, req.principal, 'delete');
      const decision = deleteDecision(job, { cancel: req.query.cancel === 'true' });
      if (decision.action === 'refuse')
        throw new HttpError({ statusCode: 409, code: 'job_running', message: decision.reason });
      const report = await eraseJob({
        job,
        cancelFirst: decision.cancelFirst,
        by: req.principal?.name,
        jobs,
        blobs,
        operations: ops,
      });
      req.log.info(report, 'job deleted');
      return { ...report, deleted: true as const };
    },
  });
};
