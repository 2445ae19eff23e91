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

/** The calling key as `GET /v1/me` shows it: its name and role, never the key or its hash. */
const Me = z
  .object({
    name: z.string().describe('The key’s name (what jobs record as `submittedBy.name`)'),
    role: z.enum(ROLES).describe('`operator` keys may also call the operator routes'),
  })
  .meta({ id: 'Me', description: 'The API key the request was made with' });

/** Routes about the API keys themselves: the caller's own (any key), and every key (operators). */
export const keyRoutes: FastifyPluginAsyncZod<{ ctx: RouteContext }> = async (app, { ctx }) => {
  const { config, keys, activeJobs } = ctx;

  app.route({
    method: 'GET',
    url: '/v1/me',
    config: { access: 'user' },
    schema: {
      summary: 'The calling API key: its name and role (any key)',
      description:
        'What a client shows as "signed in as", and whether to offer operator pages (the operator routes check the role again).',
      tags: ['keys'],
      querystring: NoQuery,
      response: { 200: Me, '4xx': ErrorBody },
    },
    handler: async (req) => {
      // The access hook set the principal from the key (a missing or wrong key got 401 before this).
      const me = req.principal;
      if (!me) throw new Error('GET /v1/me without a principal: the access hook did not run');
      return { name: me.name, role: me.role };
    },
  });

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
