import { JOB_KINDS, type JobKindSpec } from '@reelbus/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { RouteContext } from '../app.ts';
import { ErrorBody, NoQuery } from '../http/schemas.ts';

/*
 * GET /v1/kinds: what each job kind runs — its steps in order, with a line for users and the step's
 * weight in the job's overall progress, and the phases a long job reports. From contracts'
 * JOB_KINDS, so clients (the studio) show steps before they start and compute progress from
 * `job.progress` events the way the job document does.
 */

export const KindView = z
  .object({
    kind: z.string(),
    description: z.string(),
    steps: z.array(
      z.object({
        name: z.string().describe('The step name in `job.progress`, `job.failed` and the job’s `steps`'),
        description: z.string(),
        weight: z.number().describe('Share of the overall progress; a kind’s weights sum to 100'),
        optional: z.boolean().describe('Counted only once a job shows the step'),
      }),
    ),
    phases: z.array(z.string()).describe('The values `progressDetail.phase` moves through, in order'),
  })
  .meta({ id: 'JobKind', description: 'A job kind: its steps and phases (contracts/src/kinds.ts)' });
export type KindView = z.infer<typeof KindView>;

/** The kinds as the API serves them. */
export function kindViews(): KindView[] {
  return Object.values(JOB_KINDS).map((k: JobKindSpec) => ({
    kind: k.kind,
    description: k.description,
    steps: k.steps.map((s) => ({
      name: s.name,
      description: s.description,
      weight: s.weight,
      optional: s.optional ?? false,
    })),
    phases: [...k.phases],
  }));
}

export const kindRoutes: FastifyPluginAsyncZod<{ ctx: RouteContext }> = async (app) => {
  const body = { kinds: kindViews() };
  app.route({
    method: 'GET',
    url: '/v1/kinds',
    config: { access: 'user' },
    schema: {
      summary: 'Job kinds: the steps each runs (progress weight, description) and its phases',
      tags: ['jobs'],
      querystring: NoQuery,
      response: { 200: z.object({ kinds: z.array(KindView) }), '4xx': ErrorBody },
    },
    handler: async () => body,
  });
};
