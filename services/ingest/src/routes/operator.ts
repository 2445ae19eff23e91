import { JobId, JobStatus } from '@reelbus/contracts';
import {
  DeadLetterReplayError,
  getDeadLetter,
  listDeadLetters,
  replayDeadLetter,
  retryJob,
  type DeadLetter,
  type DeadLetterBus,
} from '@reelbus/kit';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { RouteContext } from '../app.ts';
import { HttpError, notFound } from '../errors.ts';
import { ErrorBody, JobIdParams, NoQuery } from '../http/schemas.ts';

/*
 * Operator routes: the dead-letter stream and retries (operator keys only). The logic is the kit's
 * (`listDeadLetters`, `replayDeadLetter`, `retryJob`), which the CLI (`reelbus dlq`, `reelbus retry`)
 * uses too; these routes parse, call one of them, and answer.
 */

export const DeadLetterView = z
  .object({
    seq: z.number().int().describe('Its sequence in the dead-letter stream: what the replay route takes'),
    at: z.iso.datetime().describe('When it was dead-lettered'),
    reason: z.string().describe('Why the service gave up on it'),
    service: z.string().describe('The service that gave up (only it handles a replay)'),
    step: z.string().describe('The pipeline step it failed at'),
    type: z.string().optional().describe('The event type, when it can be read'),
    jobId: z.string().optional().describe('The job, when it can be read'),
    deliveries: z.number().int().optional().describe('How many times it was delivered before'),
    originalSubject: z.string().describe('The events subject it came from, where a replay sends it'),
    originalSeq: z.number().int().optional().describe('Its sequence in the events stream'),
    originalId: z.string().optional().describe('Its event id (`Nats-Msg-Id`)'),
    event: z.unknown().optional().describe('The event envelope, when the bytes are a valid event'),
    invalid: z.string().optional().describe('Why the bytes are not a valid event, when they are not'),
    raw: z.string().optional().describe('The original bytes as text, when they are not a valid event'),
  })
  .meta({ id: 'DeadLetter', description: 'A message a service gave up on, with the reason' });

const DEAD_LETTER_LIMIT = 'must be a whole number from 1 to 500';
const DeadLettersQuery = z.object({
  limit: z.coerce
    .number({ error: DEAD_LETTER_LIMIT })
    .int(DEAD_LETTER_LIMIT)
    .min(1, DEAD_LETTER_LIMIT)
    .max(500, DEAD_LETTER_LIMIT)
    .default(50)
    .describe('At most this many (1-500, default 50)'),
  from: z.coerce
    .number({ error: 'must be a dead-letter sequence (a whole number from 1)' })
    .int('must be a dead-letter sequence (a whole number from 1)')
    .min(1, 'must be a dead-letter sequence (a whole number from 1)')
    .optional()
    .describe('Start at this sequence (the `next` of the previous page)'),
  jobId: JobId.optional().describe("Only this job's dead letters"),
});

const SeqParams = z.object({
  seq: z.coerce
    .number({ error: 'must be a dead-letter sequence (a whole number from 1)' })
    .int('must be a dead-letter sequence (a whole number from 1)')
    .min(1, 'must be a dead-letter sequence (a whole number from 1)')
    .describe('The dead letter’s sequence (`seq` in GET /v1/dead-letters)'),
});

/** The operator routes' POSTs take no body (nothing, or `{}`). */
const NoBody = z.strictObject({}).optional().describe('No body (or `{}`)');

const Replayed = z
  .object({
    seq: z.number().int().describe('The dead letter that was replayed (now removed from the stream)'),
    jobId: z.string().optional(),
    type: z.string().optional(),
    service: z.string().describe('The service that handles the replay'),
    replay: z.object({
      stream: z.string(),
      seq: z.number().int().describe('Its sequence in the events stream'),
      msgId: z.string().describe('Its `Nats-Msg-Id`: `<event id>:replay:<seq>`'),
    }),
  })
  .meta({ id: 'DeadLetterReplayed' });

const Retried = z
  .object({
    jobId: JobId,
    status: JobStatus.describe('`running`: the job is open again'),
    step: z.string().optional().describe('The step it failed at, which runs again'),
    replayed: z.array(Replayed).describe('Each dead letter of the job, replayed and removed'),
  })
  .meta({ id: 'JobRetried' });

function view(dl: DeadLetter): z.input<typeof DeadLetterView> {
  return {
    seq: dl.seq,
    at: dl.at,
    reason: dl.reason,
    service: dl.service,
    step: dl.step,
    originalSubject: dl.originalSubject,
    ...(dl.type ? { type: dl.type } : {}),
    ...(dl.jobId ? { jobId: dl.jobId } : {}),
    ...(dl.deliveries !== undefined && Number.isInteger(dl.deliveries) ? { deliveries: dl.deliveries } : {}),
    ...(dl.originalSeq !== undefined && Number.isInteger(dl.originalSeq)
      ? { originalSeq: dl.originalSeq }
      : {}),
    ...(dl.originalId ? { originalId: dl.originalId } : {}),
    ...(dl.event ? { event: dl.event } : { raw: dl.raw }),
    ...(dl.invalid ? { invalid: dl.invalid } : {}),
  };
}

const conflict = (code: string, message: string) => new HttpError({ statusCode: 409, code, message });

export const operatorRoutes: FastifyPluginAsyncZod<{ ctx: RouteContext }> = async (app, { ctx }) => {
  const { jobs } = ctx;
  /** The kit's Bus (dead-letter stream); absent only where ingest runs on an in-memory bus (unit tests). */
  const opsBus = (): DeadLetterBus => {
    if (ctx.opsBus) return ctx.opsBus;
    throw new HttpError({
      statusCode: 503,
      code: 'unavailable',
      message: 'this ingest has no connection to the dead-letter stream',
    });
  };

  app.route({
    method: 'GET',
    url: '/v1/dead-letters',
    config: { access: 'operator' },
    schema: {
      summary: 'Messages the services gave up on, with the reasons, oldest first (operator keys only)',
      description:
        'Each dead letter says which service gave up at which step and why, and carries the original event. Page with `from` = the `next` of the answer.',
      tags: ['operations'],
      querystring: DeadLettersQuery,
      response: {
        200: z.object({
          deadLetters: z.array(DeadLetterView),
          next: z.number().int().optional().describe('When the page is full: the `from` of the next page'),
        }),
        '4xx': ErrorBody,
        503: ErrorBody,
      },
    },
    handler: async (req) => {
      const { limit, from, jobId } = req.query;
      const letters = await listDeadLetters(opsBus(), {
        limit,
        ...(from ? { fromSeq: from } : {}),
        ...(jobId ? { jobId } : {}),
      });
      const last = letters.at(-1);
      return {
        deadLetters: letters.map(view),
        ...(letters.length === limit && last ? { next: last.seq + 1 } : {}),
      };
    },
  });

  app.route({
    method: 'POST',
    url: '/v1/dead-letters/:seq/replay',
    config: { access: 'operator' },
    schema: {
      summary: 'Send a dead letter to the service that gave up on it again (operator keys only)',
      description:
        'The original event is published again with a new id, handled only by the service that dead-lettered it, and removed from the dead-letter stream. 404 when there is no dead letter at `seq` (replayed already); 409 when its job was cancelled or it does not say where it came from. The job document is not reopened: to retry a failed job from its failed step use POST /v1/jobs/:id/retry.',
      tags: ['operations'],
      params: SeqParams,
      querystring: NoQuery,
      body: NoBody,
      response: { 200: Replayed, '4xx': ErrorBody, 503: ErrorBody },
    },
    handler: async (req) => {
      const { seq } = req.params;
      const bus = opsBus();
      const letter = await getDeadLetter(bus, seq);
      if (!letter) throw notFound(`there is no dead letter ${seq} (it was replayed or removed already)`);
      if (letter.jobId) {
        const job = await jobs.get(letter.jobId);
        if (job?.status === 'cancelled')
          throw conflict(
            'job_cancelled',
            `dead letter ${seq} belongs to job "${letter.jobId}", which was cancelled: it would be skipped`,
          );
      }
      try {
        const r = await replayDeadLetter(bus, seq, { remove: true });
        req.log.info(
          { deadLetterSeq: seq, jobId: letter.jobId, by: req.principal?.name },
          'dead letter replayed',
        );
        return replayedView(r.deadLetter, r);
      } catch (err) {
        if (err instanceof DeadLetterReplayError) {
          if (err.reason === 'not_found')
            throw notFound(`there is no dead letter ${seq} (it was replayed or removed already)`);
          throw conflict('not_replayable', err.message);
        }
        throw err;
      }
    },
  });

  app.route({
    method: 'POST',
    url: '/v1/jobs/:id/retry',
    config: { access: 'operator' },
    schema: {
      summary: 'Retry a failed job from the step that failed (operator keys only)',
      description:
        'Reopens the job (status `running`, the failed step pending, the error cleared) and replays each of its dead letters to the service that gave up on it; outputs already stored are reused. 404 for no such job; 409 `not_failed` when the job is not failed (also when another retry won), 409 `nothing_to_retry` when it failed without dead letters, 409 `intermediates_removed` when the retention sweeper removed its intermediates (`retention.intermediatesRemovedAt`, INTERMEDIATE_TTL after it ended): the message names when and the step; submit it again.',
      tags: ['jobs', 'operations'],
      params: JobIdParams,
      querystring: NoQuery,
      body: NoBody,
      response: { 200: Retried, '4xx': ErrorBody, 503: ErrorBody },
    },
    handler: async (req) => {
      const jobId = req.params.id;
      const r = await retryJob({ bus: opsBus(), jobs, jobId });
      switch (r.outcome) {
        case 'not_found':
          throw notFound(r.message);
        case 'not_failed':
          throw conflict('not_failed', r.message);
        case 'nothing_to_retry':
          throw conflict('nothing_to_retry', r.message);
        case 'intermediates_removed':
          throw conflict('intermediates_removed', r.message);
        case 'retried':
          req.log.info({ jobId, step: r.step, by: req.principal?.name }, 'job retried');
          return {
            jobId,
            status: r.job.status,
            ...(r.step ? { step: r.step } : {}),
            replayed: r.replayed.map((x) => replayedView(x.deadLetter, x)),
          };
      }
    },
  });
};

function replayedView(
  dl: DeadLetter,
  r: { stream: string; seq: number; msgId: string },
): z.input<typeof Replayed> {
  return {
    seq: dl.seq,
    service: dl.service,
    ...(dl.jobId ? { jobId: dl.jobId } : {}),
    ...(dl.type ? { type: dl.type } : {}),
    replay: { stream: r.stream, seq: r.seq, msgId: r.msgId },
  };
}
