import type { EventOf, EventType } from '@reelbus/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { RouteContext } from '../app.ts';
import { ErrorBody, NoQuery } from '../http/schemas.ts';
import { openSse } from '../sse.ts';

/*
 * GET /v1/events: one stream of the events of every job the key may see (every job, while keys see
 * every job), for live job lists. Ingest subscribes to the bus before it says `ready`, so a client
 * that reads `GET /v1/jobs` after `ready` and then applies the events misses nothing. There is no
 * history: a client that reconnects reads the list again.
 */
export const eventRoutes: FastifyPluginAsyncZod<{ ctx: RouteContext }> = async (app, { ctx }) => {
  const { bus } = ctx;
  // Open streams never go idle, so closing the app ends them (else close() would wait on them).
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const close of [...open]) close();
  });

  app.route({
    method: 'GET',
    url: '/v1/events',
    config: { access: 'user' },
    schema: {
      summary: 'Server-sent events of every job: the live job list',
      description:
        'First `event: ready` (ingest is subscribed: read `GET /v1/jobs` now and apply what follows), then one message per bus event of any job (`id:` the event id, `event:` its type, `data:` the envelope `{ id, type, version, jobId, occurredAt, data }`). It does not end when a job does. A `: heartbeat` comment every 15 s. No history and no replay (`Last-Event-ID` is ignored): after a reconnection, read the list again. A client more than 1 MB behind is disconnected. Browsers: read it with `fetch` (an `EventSource` cannot send the `Authorization` header; never put the key in the URL).',
      tags: ['jobs'],
      querystring: NoQuery,
      response: {
        200: {
          description: 'A text/event-stream',
          content: { 'text/event-stream': { schema: z.string().describe('Server-sent events') } },
        },
        '4xx': ErrorBody,
      },
    },
    handler: async (req, reply) => {
      const pending: EventOf<EventType>[] = [];
      const sink: { live?: (e: EventOf<EventType>) => void } = {};
      // Every key sees every job today; when keys get their own jobs, filter here by req.principal.
      const watch = bus.watchEvents((e) => (sink.live ? sink.live(e) : pending.push(e)));
      try {
        await watch.ready;
      } catch (err) {
        watch.stop();
        throw err;
      }
      const stream = openSse(req, reply, {
        heartbeatMs: ctx.sseHeartbeatMs,
        onClose: () => {
          open.delete(stream.close);
          watch.stop();
        },
      });
      open.add(stream.close);
      stream.send({ event: 'ready', data: { at: new Date().toISOString() } });
      const send = (e: EventOf<EventType>) => stream.send({ id: e.id, event: e.type, data: e });
      sink.live = send;
      for (const e of pending.splice(0)) send(e);
    },
  });
};
