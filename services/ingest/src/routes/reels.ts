import {
  MAX_REEL_SECTIONS,
  approveTake,
  rejectTake,
  reorderSections,
  type EventOf,
  type EventType,
  type Reel,
  type ReelChange,
} from '@reelbus/contracts';
import type { ModelRegistry } from '@reelbus/ai-generator/models';
import { isInvalidListOptions, type StoredDocument } from '@reelbus/kit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { RouteContext } from '../app.ts';
import { checkCallbackUrl } from '../callback-url.ts';
import type { JobWatch } from '../deps.ts';
import { HttpError, invalidInput, type FieldIssue } from '../errors.ts';
import { ErrorBody, JobAccepted, NoQuery, TestModeField, jobLinks } from '../http/schemas.ts';
import {
  announce,
  asHttpError,
  checkSectionModel,
  compileReel,
  createReel,
  regenerateSection,
  type ReelDeps,
} from '../reels/actions.ts';
import { ReelViewSchema, parseIfMatch, reelView } from '../reels/view.ts';
import { openSse } from '../sse.ts';

/*
 * Reels (issue 12 §3): review and approval of generated takes, and their compile into one MP4. The reel is
 * a revisioned document (the kit's DocumentStore, collection `reels`); each change is a pure function of
 * contracts/src/reel.ts applied by compare-and-set (`If-Match` honoured); the steps are reels/actions.ts.
 */

const TAGS = ['reels'];
const IF_MATCH =
  'Send `If-Match: "<revision>"` (the ETag of GET /v1/reels/:id) to change the reel only at that revision: otherwise 409 revision_conflict with the current ETag.';

export const ReelSectionBody = z
  .object({
    title: z.string().min(1).max(200).optional(),
    model: z.string().min(1).max(100).describe('A video or avatar model from GET /v1/models'),
    params: z
      .record(z.string(), z.unknown())
      .default({})
      .describe("The model's params (defaults fill in what is left out)"),
  })
  .strict();

export const ReelBody = z
  .object({
    title: z.string().min(1).max(200),
    sections: z
      .array(ReelSectionBody)
      .min(2, 'a reel joins its sections into one video: give at least 2')
      .max(MAX_REEL_SECTIONS),
    callbackUrl: z
      .string()
      .optional()
      .describe("Receives the signed webhooks of every take's generation and of each compile"),
    /** Every take's generation is a test run (each section's model is kept, as in POST /v1/generations). */
    testMode: TestModeField,
  })
  .strict();

export const ReelPatchBody = z
  .object({
    sectionOrder: z
      .array(z.string().min(1).max(16))
      .min(1)
      .max(MAX_REEL_SECTIONS)
      .optional()
      .describe('Every section id, in the new order'),
    title: z.string().min(1).max(200).optional(),
  })
  .strict()
  .refine((b) => b.sectionOrder !== undefined || b.title !== undefined, {
    message: 'send sectionOrder and/or title',
  });

export const RejectBody = z
  .object({ reason: z.string().min(1).max(2000).optional().describe('Why, for the others') })
  .strict();
/** Approve takes no fields. */
export const EmptyBody = z.object({}).strict().optional();
/** Compile's only field; the body may be left out. */
export const CompileBody = z.object({ testMode: TestModeField }).strict().optional();
export const RegenerateBody = z
  .object({
    params: z
      .record(z.string(), z.unknown())
      .default({})
      .describe("Changes to the section's params for this take (merged over them, then checked)"),
    testMode: TestModeField,
  })
  .strict();
export const ReelListQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().min(1).max(500).optional().describe('nextCursor of the previous page'),
  })
  .strict();

const ReelParams = z.object({ id: z.string().min(1).max(128).describe('The reel id') });
const SectionParams = ReelParams.extend({
  sid: z.string().min(1).max(16).describe('The section id (s1, s2, …)'),
});
const TakeParams = SectionParams.extend({
  tid: z.string().min(1).max(16).describe('The take id (t1, t2, …)'),
});

export const TakeAccepted = JobAccepted.extend({
  reelId: z.string(),
  sectionId: z.string(),
  takeId: z.string(),
  revision: z.number().int(),
});
export const CompileAccepted = JobAccepted.extend({
  reelId: z.string(),
  revision: z.number().int(),
  videoCount: z.number().int().describe('Approved takes joined, in section order'),
});
const ReelSummary = z.object({
  id: z.string(),
  revision: z.number().int(),
  title: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  sections: z.array(
    z.object({
      id: z.string(),
      title: z.string().optional(),
      approvedTakeId: z.string().optional(),
      takes: z.number().int(),
    }),
  ),
  compile: z.object({ jobId: z.string(), status: z.string() }).optional(),
  links: z.object({ self: z.string(), events: z.string(), compile: z.string() }),
});

export const reelRoutes: FastifyPluginAsyncZod<{ ctx: RouteContext; models: ModelRegistry }> = async (
  app,
  { ctx, models },
) => {
  const { config, bus, jobs, logger } = ctx;
  const openStreams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const close of [...openStreams]) close();
  });

  const reelsStore = () => {
    if (!ctx.reels)
      throw new HttpError({
        statusCode: 503,
        code: 'unavailable',
        message: 'reels are not available on this ingest (no document store)',
      });
    return ctx.reels;
  };
  const deps = (): ReelDeps => ({
    reels: reelsStore(),
    jobs,
    bus,
    models,
    logger,
    submitJob: (req) => ctx.submitJob(req),
  });
  const links = {
    publicBaseUrl: config.publicBaseUrl,
    linkSigningSecret: config.linkSigningSecret,
    ttlSec: config.videoLinkTtlSec,
  };
  const answer = (reply: FastifyReply, stored: StoredDocument<Reel>, code = 200) =>
    reply.code(code).header('etag', `"${stored.revision}"`).send(reelView({ stored, links }));
  const ifMatch = (req: FastifyRequest): number | undefined => {
    const v = parseIfMatch(req.headers['if-match']);
    if (typeof v === 'object') throw invalidInput([{ field: 'If-Match', message: v.invalid }]);
    return v;
  };
  const load = async (id: string) => {
    const stored = await reelsStore().get(id);
    if (!stored)
      throw new HttpError({ statusCode: 404, code: 'not_found', message: `reel "${id}" does not exist` });
    return stored;
  };

  /** Applies one reviewer's change by compare-and-set, announces it and answers with the reel. */
  const change = async (opts: {
    req: FastifyRequest;
    reply: FastifyReply;
    reelId: string;
    mutate: (reel: Reel) => Reel | undefined;
    kind: ReelChange;
    sectionId?: string;
    takeId?: string;
  }) => {
    const { req, reply, reelId, mutate, kind, sectionId, takeId } = opts;
    const expectedRevision = ifMatch(req);
    let stored: StoredDocument<Reel>;
    let changed = false;
    try {
      stored = await reelsStore().update(
        reelId,
        (reel) => {
          const next = mutate(reel);
          changed = next !== undefined;
          return next;
        },
        expectedRevision !== undefined ? { expectedRevision } : {},
      );
    } catch (err) {
      asHttpError(err, reelId);
    }
    if (changed) await announce({ deps: deps(), stored, change: kind, sectionId, takeId, by: req.principal });
    return answer(reply, stored);
  };

  app.route({
    method: 'POST',
    url: '/v1/reels',
    config: { access: 'user' },
    schema: {
      summary: 'A new reel: one take generated per section (video and avatar models)',
      description:
        'Every section is checked against its model (it must make a video; its params must fit the model) and every problem is named at once. Each take is a generation job with `origin { type: "reel", id, sectionId, takeId }`. A take that cannot be queued is marked failed with the reason.',
      tags: TAGS,
      querystring: NoQuery,
      body: ReelBody,
      response: { 201: ReelViewSchema, '4xx': ErrorBody, 503: ErrorBody },
    },
    handler: async (req, reply) => {
      const body = req.body;
      const issues: FieldIssue[] = [];
      const sections = body.sections.map((s, i) => {
        const checked = checkSectionModel({
          models,
          model: s.model,
          params: s.params,
          prefix: `sections[${i}]`,
        });
        if (!checked.ok) issues.push(...checked.issues);
        return {
          ...(s.title ? { title: s.title } : {}),
          model: s.model,
          params: checked.ok ? checked.params : s.params,
        };
      });
      let callbackUrl: string | undefined;
      try {
        callbackUrl = checkCallbackUrl({
          value: body.callbackUrl,
          allowPrivate: config.allowPrivateCallbacks,
        });
      } catch (err) {
        if (err instanceof HttpError && err.issues) issues.push(...err.issues);
        else throw err;
      }
      if (issues.length) throw invalidInput(issues);
      const stored = await createReel({
        deps: deps(),
        title: body.title,
        sections,
        callbackUrl,
        principal: req.principal,
        testMode: body.testMode ?? false,
      });
      req.log.info({ reelId: stored.id, sections: sections.length }, 'reel created');
      reply.header('location', `${config.publicBaseUrl}/v1/reels/${stored.id}`);
      return answer(reply, stored, 201);
    },
  });

  app.route({
    method: 'GET',
    url: '/v1/reels',
    config: { access: 'user' },
    schema: {
      summary: 'Reels, newest first, a page at a time',
      tags: TAGS,
      querystring: ReelListQuery,
      response: {
        200: z.object({ reels: z.array(ReelSummary), nextCursor: z.string().optional() }),
        '4xx': ErrorBody,
      },
    },
    handler: async (req) => {
      let page;
      try {
        page = await reelsStore().list({
          limit: req.query.limit,
          ...(req.query.cursor ? { cursor: req.query.cursor } : {}),
        });
      } catch (err) {
        if (isInvalidListOptions(err)) throw invalidInput([{ field: err.field, message: err.message }]);
        throw err;
      }
      return {
        reels: page.items.map((stored) => {
          const v = reelView({ stored, links });
          return {
            id: v.id,
            revision: v.revision,
            title: v.title,
            createdAt: v.createdAt,
            updatedAt: v.updatedAt,
            sections: v.sections.map((s) => ({
              id: s.id,
              ...(s.title ? { title: s.title } : {}),
              ...(s.approvedTakeId ? { approvedTakeId: s.approvedTakeId } : {}),
              takes: s.takes.length,
            })),
            ...(v.compile ? { compile: { jobId: v.compile.jobId, status: v.compile.status } } : {}),
            links: v.links,
          };
        }),
        ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
      };
    },
  });

  app.route({
    method: 'GET',
    url: '/v1/reels/:id',
    config: { access: 'user' },
    schema: {
      summary: 'A reel: sections, takes (status, video, who reviewed, signed preview links), the compile',
      description: 'The `ETag` header is the revision (what `If-Match` takes).',
      tags: TAGS,
      params: ReelParams,
      querystring: NoQuery,
      response: { 200: ReelViewSchema, '4xx': ErrorBody },
    },
    handler: async (req, reply) => answer(reply, await load(req.params.id)),
  });

  app.route({
    method: 'PATCH',
    url: '/v1/reels/:id',
    config: { access: 'user' },
    schema: {
      summary: 'Re-order the sections (every section id once) or rename the reel',
      description: IF_MATCH,
      tags: TAGS,
      params: ReelParams,
      querystring: NoQuery,
      body: ReelPatchBody,
      response: { 200: ReelViewSchema, '4xx': ErrorBody },
    },
    handler: async (req, reply) => {
      const body = req.body;
      return change({
        req,
        reply,
        reelId: req.params.id,
        kind: 'sections.reordered',
        mutate: (reel) => {
          let next: Reel = reel;
          if (body.sectionOrder) next = reorderSections(reel, body.sectionOrder) ?? reel;
          if (body.title !== undefined && body.title !== reel.title) next = { ...next, title: body.title };
          return next === reel ? undefined : next;
        },
      });
    },
  });

  app.route({
    method: 'POST',
    url: '/v1/reels/:id/sections/:sid/takes/:tid/approve',
    config: { access: 'user' },
    schema: {
      summary: 'Approve a take (at most one per section); records who and when',
      description: `A take with a video (ready, or rejected earlier). Another approved take in the section is a 409 naming it; of two reviewers approving at once, one gets 409. ${IF_MATCH}`,
      tags: TAGS,
      params: TakeParams,
      querystring: NoQuery,
      body: EmptyBody,
      response: { 200: ReelViewSchema, '4xx': ErrorBody },
    },
    handler: async (req, reply) => {
      const { id, sid, tid } = req.params;
      const by = req.principal;
      const at = new Date().toISOString();
      return change({
        req,
        reply,
        reelId: id,
        kind: 'take.approved',
        sectionId: sid,
        takeId: tid,
        mutate: (reel) => approveTake(reel, { sectionId: sid, takeId: tid, by, at }),
      });
    },
  });

  app.route({
    method: 'POST',
    url: '/v1/reels/:id/sections/:sid/takes/:tid/reject',
    config: { access: 'user' },
    schema: {
      summary: 'Reject a take (an approved one is un-approved); records who, when and why',
      description: IF_MATCH,
      tags: TAGS,
      params: TakeParams,
      querystring: NoQuery,
      body: RejectBody.optional(),
      response: { 200: ReelViewSchema, '4xx': ErrorBody },
    },
    handler: async (req, reply) => {
      const { id, sid, tid } = req.params;
      const by = req.principal;
      const at = new Date().toISOString();
      const reason = req.body?.reason;
      return change({
        req,
        reply,
        reelId: id,
        kind: 'take.rejected',
        sectionId: sid,
        takeId: tid,
        mutate: (reel) => rejectTake(reel, { sectionId: sid, takeId: tid, by, at, reason }),
      });
    },
  });

  app.route({
    method: 'POST',
    url: '/v1/reels/:id/sections/:sid/regenerate',
    config: { access: 'user' },
    schema: {
      summary: 'A new take of a section (its params changed by `params`); earlier takes stay',
      description: IF_MATCH,
      tags: TAGS,
      params: SectionParams,
      querystring: NoQuery,
      body: RegenerateBody.optional(),
      response: { 202: TakeAccepted, '4xx': ErrorBody, 503: ErrorBody },
    },
    handler: async (req, reply) => {
      const { id, sid } = req.params;
      const { stored, takeId, jobId } = await regenerateSection({
        deps: deps(),
        reelId: id,
        sectionId: sid,
        changes: req.body?.params ?? {},
        expectedRevision: ifMatch(req),
        principal: req.principal,
        testMode: req.body?.testMode ?? false,
      });
      return reply
        .code(202)
        .header('etag', `"${stored.revision}"`)
        .send({
          jobId,
          ...jobLinks(config.publicBaseUrl, jobId),
          reelId: id,
          sectionId: sid,
          takeId,
          revision: stored.revision,
        });
    },
  });

  app.route({
    method: 'POST',
    url: '/v1/reels/:id/compile',
    config: { access: 'user' },
    schema: {
      summary: 'Compile: merge the approved takes in section order into one MP4',
      description: `409 \`not_approved\` with one issue per section without an approved take; 409 while a compile runs. Otherwise a job of kind \`reel\` (\`merge.requested\`), completing with \`outputs.video { key, durationSec, sizeBytes, videoCount }\`, also recorded on the reel. ${IF_MATCH}`,
      tags: TAGS,
      params: ReelParams,
      querystring: NoQuery,
      body: CompileBody,
      response: { 202: CompileAccepted, '4xx': ErrorBody, 503: ErrorBody },
    },
    handler: async (req, reply) => {
      const { stored, jobId, clips } = await compileReel({
        deps: deps(),
        reelId: req.params.id,
        expectedRevision: ifMatch(req),
        principal: req.principal,
        testMode: req.body?.testMode ?? false,
      });
      req.log.info({ reelId: stored.id, jobId, clips }, 'reel compile requested');
      return reply
        .code(202)
        .header('etag', `"${stored.revision}"`)
        .send({
          jobId,
          ...jobLinks(config.publicBaseUrl, jobId),
          reelId: stored.id,
          revision: stored.revision,
          videoCount: clips,
        });
    },
  });

  app.route({
    method: 'GET',
    url: '/v1/reels/:id/events',
    config: { access: 'user' },
    schema: {
      summary: 'Server-sent events: the reel, then every change as takes finish and are reviewed',
      description:
        'First `event: reel` with the reel, then `event: reel.updated` (the envelope as `data`: `{ reelId, revision, change, sectionId?, takeId?, takeStatus?, jobId?, by? }`) for every change after it. A `: heartbeat` comment every 15 s; the stream stays open until the client closes it.',
      tags: TAGS,
      params: ReelParams,
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
      const reelId = req.params.id;
      // Watch before reading the document so no change in between is lost (a reel's events carry its id as jobId).
      const pending: EventOf<EventType>[] = [];
      const sink: { live?: (e: EventOf<EventType>) => void } = {};
      const watch: JobWatch = await bus.watchJob(reelId, (e) => (sink.live ? sink.live(e) : pending.push(e)));
      let stored: StoredDocument<Reel>;
      try {
        stored = await load(reelId);
      } catch (err) {
        await watch.stop();
        throw err;
      }
      const stream = openSse(req, reply, {
        heartbeatMs: ctx.sseHeartbeatMs,
        onClose: () => {
          openStreams.delete(stream.close);
          Promise.resolve(watch.stop()).catch((err) =>
            req.log.warn({ err, reelId }, 'stopping the reel watch failed'),
          );
        },
      });
      openStreams.add(stream.close);
      stream.send({ event: 'reel', data: reelView({ stored, links }) });
      const send = (e: EventOf<EventType>) => {
        if (stream.closed || e.type !== 'reel.updated') return;
        // changes the first read already shows are not sent again
        if ((e.data as { revision: number }).revision <= stored.revision) return;
        stream.send({ id: e.id, event: e.type, data: e });
      };
      sink.live = send;
      for (const e of pending.splice(0)) send(e);
    },
  });
};
