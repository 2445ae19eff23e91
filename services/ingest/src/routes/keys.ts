import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ROLES } from '../api-keys.ts';
import type { RouteContext } from '../app.ts';
import { ErrorBody, NoQuery } from '../http/schemas.ts';

const KeyUsage = z.object({
  name: z.string(),
  role: z.enum(ROLES),
  requestsPerMinute: z.number().int().describe('This key’s limit (0 = none)'),
  maxActiveJobs: z.number().int().describe('This key’s limit of unfinished jobs (0 = none)'),
  activeJobs: z.number().int().describe('Its unfinished jobs now (counted across ingest replicas)'),
});

/** Operator routes about the API keys themselves. */
export const keyRoutes: FastifyPluginAsyncZod<{ ctx: RouteContext }> = async (app, { ctx }) => {
  const { config, keys, activeJobs } = ctx;

  app.route({
    method: 'GET',
    url: '/v1/keys',
    config: { access: 'operator' },
    schema: {
      summary: 'Every API key: name, role, limits and unfinished jobs (operator keys only)',
      tags: ['keys'],
      querystring: NoQuery,
      response: { 200: z.object({ keys: z.array(KeyUsage) }), '4xx': ErrorBody },
    },
    handler: async () => ({
      keys: await Promise.all(
        keys.keys.map(async (k) => ({
          name: k.name,
          role: k.role,
          requestsPerMinute: k.requestsPerMinute ?? config.limits.requestsPerMinute,
          maxActiveJobs: k.maxActiveJobs ?? config.limits.maxActiveJobs,
          activeJobs: activeJobs ? await activeJobs.count(k.name) : 0,
        })),
      ),
    }),
  });
};
