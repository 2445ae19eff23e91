import { randomBytes } from 'node:crypto';
import {
  Brand,
  Music,
  MusicSource,
  Overlay,
  Project,
  ProjectId,
  ProjectMedia,
  ProjectOutput,
  Scene,
  projectBlobPrefix,
  SceneId,
  Transition,
  Voice,
  type EventDataInput,
  type ProjectDocument,
} from '@reelbus/contracts';
import {
  isDocumentExists,
  isDocumentNotFound,
  isInvalidDocument,
  isInvalidListOptions,
  isRevisionConflict,
  describeError,
  type BlobStore,
  type StoredDocument,
} from '@reelbus/kit';
import type { ModelRegistry } from '@reelbus/ai-generator/models';
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { RouteContext } from '../app.ts';
import { checkCallbackUrl } from '../callback-url.ts';
import { HttpError, badRequest, invalidInput, type FieldIssue } from '../errors.ts';
import { ErrorBody, JobAccepted, NoQuery, TestModeField, jobLinks } from '../http/schemas.ts';
import { newJobId } from '../ids.ts';
import {
  addScene,
  applyEdit,
  deleteScene,
  patchMusic,
  patchProject,
  patchScene,
  redoEdit,
  regenerateMusic,
  reorderScenes,
  revoice,
  undoEdit,
  type Recipe,
} from '../projects/edits.ts';
import {
  musicModelIssues,
  projectModelIssues,
  sceneModelIssues,
  voiceModelIssues,
} from './projects-models.ts';

/*
 * Scene projects (issue 13): a revisioned document (kit DocumentStore, collection `projects`) edited
 * through these routes. Every write is one compare-and-set on the stored revision (If-Match → 409 with
 * the current one), records its JSON patches for undo/redo, and answers the new revision with an ETag.
 * Previews and renders are jobs linked to the project and revision (origin); their assets are made
 * on the bus, not here.
 */

const ProjectParams = z.object({ id: ProjectId.describe('The project id') });
const SceneParams = ProjectParams.extend({ sceneId: SceneId.describe('The scene id') });

/** `If-Match: <revision>` (or `"<revision>"`, as the ETag is sent): the write is made only at that revision. */
const WriteHeaders = z.looseObject({
  'if-match': z
    .string()
    .optional()
    .describe('The revision the client last saw (the ETag); a stale one gets 409 with the current revision'),
});

const SceneBody = Scene.extend({ id: SceneId.optional().describe('Generated when absent') });

export const CreateProjectBody = z
  .strictObject({ ...Project.shape, scenes: z.array(SceneBody).min(1).max(200) })
  .meta({ id: 'ProjectCreate', description: 'A new scene project (scene ids are generated when absent)' });

const Revisioned = z.object({
  projectId: ProjectId,
  revision: z.number().int().positive().describe('The revision after this request (also the ETag)'),
});

const EditAnswer = Revisioned.extend({
  changed: z.boolean().describe('False when the request changed nothing (no new revision)'),
});

const HistoryAnswer = Revisioned.extend({
  label: z.string().describe('The change undone or redone'),
  canUndo: z.number().int().describe('Steps left to undo'),
  canRedo: z.number().int().describe('Steps left to redo'),
});

export const ProjectView = z
  .object({
    projectId: ProjectId,
    revision: z.number().int().positive(),
    createdAt: z.string(),
    updatedAt: z.string(),
    project: Project,
    history: z.object({
      undo: z.array(z.string()).describe('Labels of the changes undo walks back, oldest first'),
      redo: z.array(z.string()).describe('Labels of the undone changes redo re-applies, oldest first'),
    }),
  })
  .meta({ id: 'ProjectView', description: 'A scene project at its current revision, with its history' });

const PatchProjectBody = z
  .strictObject({
    title: z.string().min(1).max(200).optional(),
    voice: Voice.optional(),
    brand: Brand.nullable().optional().describe('null removes the brand'),
    output: ProjectOutput.optional(),
  })
  .refine((b) => Object.keys(b).length > 0, { message: 'give at least one field to change' });

const OverlayPatch = z.strictObject({
  image: ProjectMedia.optional(),
  enabled: z.boolean().optional(),
  position: z
    .strictObject({
      x: Overlay.shape.position.unwrap().shape.x.unwrap().optional(),
      y: Overlay.shape.position.unwrap().shape.y.unwrap().optional(),
    })
    .optional(),
  scale: z.number().min(0.1).max(0.8).optional(),
  animation: Overlay.shape.animation.unwrap().optional(),
});

const PatchSceneBody = z
  .strictObject({
    narration: z.string().max(5000).optional(),
    visual: ProjectMedia.optional(),
    duration: z.number().positive().max(300).nullable().optional().describe('null: from the voiceover'),
    overlay: OverlayPatch.nullable().optional().describe('Merged into the overlay; null removes it'),
    transition: Transition.nullable().optional().describe('null removes it'),
  })
  .refine((b) => Object.keys(b).length > 0, { message: 'give at least one field to change' });

const AddSceneBody = z.strictObject({
  scene: SceneBody,
  index: z.number().int().min(0).optional().describe('Where to insert (0 = first); the end when absent'),
});

const SceneOrderBody = z.strictObject({
  sceneIds: z
    .array(SceneId)
    .min(1)
    .max(200)
    .describe('Every scene id of the project, once, in the new order'),
});

const VoiceoverBody = z
  .strictObject({
    voice: Voice.optional().describe("The project's voice from now on"),
    sceneIds: z.array(SceneId).min(1).max(200).optional().describe('Only these scenes (all when absent)'),
  })
  .optional();

const PatchMusicBody = z
  .strictObject({
    enabled: z.boolean().optional(),
    source: MusicSource.optional(),
    volume: Music.shape.volume.unwrap().optional(),
    duck: z.boolean().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, { message: 'give at least one field to change' });

const RenderBody = z
  .strictObject({
    callbackUrl: z.string().optional().describe('Where the notifier POSTs the signed result webhook'),
    /** The scenes' visuals keep their models, as in POST /v1/generations. */
    testMode: TestModeField,
  })
  .optional();

/** POST routes without fields (undo, redo, music/regenerate). */
const EmptyBody = z.strictObject({}).optional().describe('No fields; send none or {}');

const RenderAccepted = JobAccepted.extend({
  projectId: ProjectId,
  revision: z.number().int().positive().describe('The revision being rendered'),
  preset: z.enum(['preview', 'final']),
});

const ListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  cursor: z.string().optional(),
});

const TAGS = ['projects'];
const WRITE_ERRORS = { '4xx': ErrorBody, 503: ErrorBody };

/** `If-Match` as a revision: `3`, `"3"` or `W/"3"`; 400 naming the header when it is anything else. */
export function parseIfMatch(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '' || value.trim() === '*') return undefined;
  const m = /^(?:W\/)?"?(\d{1,15})"?$/.exec(value.trim());
  if (!m) throw badRequest('If-Match', `must be a revision number such as "3" (the ETag), not ${value}`);
  return Number(m[1]);
}

/** What a write needs of its request: the project id and the If-Match header. */
interface WriteRequest {
  params: { id: string };
  headers: Record<string, unknown>;
}
const ifMatchOf = (req: WriteRequest): string | undefined => {
  const v = req.headers['if-match'];
  return typeof v === 'string' ? v : undefined;
};

const newProjectId = () => `prj_${randomBytes(9).toString('base64url')}`;
const newSceneId = () => `s_${randomBytes(6).toString('base64url')}`;

/** 400 naming every field whose model or params the registry refuses (checked before anything is stored). */
function refuseModelIssues(issues: FieldIssue[]): void {
  if (issues.length) throw invalidInput(issues);
}

export const projectRoutes: FastifyPluginAsyncZod<{ ctx: RouteContext; models: ModelRegistry }> = async (
  app,
  { ctx, models: registry },
) => {
  const { config } = ctx;
  const store = () => {
    if (!ctx.projects) {
      throw new HttpError({
        statusCode: 503,
        code: 'unavailable',
        message: 'projects need a document store, which this ingest was started without',
      });
    }
    return ctx.projects;
  };

  const load = async (id: string): Promise<StoredDocument<ProjectDocument>> => {
    const stored = await store().get(id);
    if (!stored) throw projectNotFound(id);
    return stored;
  };

  /** Runs one compare-and-set on the project; maps the store's errors to answers. */
  const write = async (
    req: WriteRequest,
    mutate: (doc: ProjectDocument) => ProjectDocument | undefined,
  ): Promise<StoredDocument<ProjectDocument>> => {
    const expectedRevision = parseIfMatch(ifMatchOf(req));
    try {
      return await store().update(req.params.id, mutate, expectedRevision ? { expectedRevision } : {});
    } catch (err) {
      throw mapStoreError(err, req.params.id);
    }
  };

  const edit = (req: WriteRequest, reply: FastifyReply, label: string, recipe: Recipe) =>
    (async () => {
      let changed = false;
      const stored = await write(req, (doc) => {
        const next = applyEdit(doc, { label, recipe, at: new Date().toISOString() });
        changed = next !== undefined;
        return next;
      });
      reply.header('etag', `"${stored.revision}"`);
      return { projectId: stored.id, revision: stored.revision, changed };
    })();

  app.route({
    method: 'POST',
    url: '/v1/projects',
    config: { access: 'user' },
    schema: {
      summary: 'Create a scene project',
      tags: TAGS,
      querystring: NoQuery,
      body: CreateProjectBody,
      response: { 201: Revisioned, ...WRITE_ERRORS },
    },
    handler: async (req, reply) => {
      refuseModelIssues(projectModelIssues({ registry, project: req.body }));
      const id = newProjectId();
      const project = {
        ...req.body,
        scenes: req.body.scenes.map((s) => ({ ...s, id: s.id ?? newSceneId() })),
      };
      let stored: StoredDocument<ProjectDocument>;
      try {
        stored = await store().create(id, { project, history: { undo: [], redo: [] } });
      } catch (err) {
        throw mapStoreError(err, id);
      }
      req.log.info({ projectId: id, scenes: project.scenes.length }, 'project created');
      return reply
        .code(201)
        .header('etag', `"${stored.revision}"`)
        .header('location', `/v1/projects/${id}`)
        .send({ projectId: id, revision: stored.revision });
    },
  });

  app.route({
    method: 'GET',
    url: '/v1/projects',
    config: { access: 'user' },
    schema: {
      summary: 'Scene projects, newest first',
      tags: TAGS,
      querystring: ListQuery,
      response: {
        200: z.object({
          items: z.array(
            z.object({
              projectId: ProjectId,
              title: z.string(),
              revision: z.number(),
              updatedAt: z.string(),
            }),
          ),
          nextCursor: z.string().optional(),
        }),
        '4xx': ErrorBody,
      },
    },
    handler: async (req) => {
      try {
        const page = await store().list({
          ...(req.query.limit ? { limit: req.query.limit } : {}),
          ...(req.query.cursor ? { cursor: req.query.cursor } : {}),
        });
        return {
          items: page.items.map((s) => ({
            projectId: s.id,
            title: s.doc.project.title,
            revision: s.revision,
            updatedAt: s.updatedAt,
          })),
          ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
        };
      } catch (err) {
        throw mapStoreError(err, '');
      }
    },
  });

  app.route({
    method: 'GET',
    url: '/v1/projects/:id',
    config: { access: 'user' },
    schema: {
      summary: 'A scene project at its current revision (ETag: the revision)',
      tags: TAGS,
      params: ProjectParams,
      querystring: NoQuery,
      response: { 200: ProjectView, '4xx': ErrorBody },
    },
    handler: async (req, reply) => {
      const s = await load(req.params.id);
      reply.header('etag', `"${s.revision}"`);
      return {
        projectId: s.id,
        revision: s.revision,
        createdAt: s.createdAt,
        updatedAt: s.updatedAt,
        project: s.doc.project,
        history: {
          undo: s.doc.history.undo.map((h) => h.label),
          redo: s.doc.history.redo.map((h) => h.label),
        },
      };
    },
  });

  app.route({
    method: 'DELETE',
    url: '/v1/projects/:id',
    config: { access: 'user' },
    schema: {
      summary:
        'Delete a scene project and its assets (voiceovers, generated visuals, music); its rendered videos stay with their jobs',
      tags: TAGS,
      params: ProjectParams,
      headers: WriteHeaders,
      querystring: NoQuery,
      response: { 204: z.null().describe('Deleted'), '4xx': ErrorBody },
    },
    handler: async (req, reply) => {
      const expectedRevision = parseIfMatch(req.headers['if-match']);
      let removed: boolean;
      try {
        removed = await store().delete(req.params.id, expectedRevision ? { expectedRevision } : {});
      } catch (err) {
        throw mapStoreError(err, req.params.id);
      }
      // The document goes first (no new render can start), then its assets. A project already gone
      // still has its leftovers removed (a render that was running, an earlier delete cut short),
      // so repeating the DELETE cleans up.
      const assets = await deleteProjectBlobs(ctx.blobs, req.params.id);
      req.log.info({ projectId: req.params.id, removed, assets }, 'project deleted with its assets');
      if (!removed) throw projectNotFound(req.params.id);
      return reply.code(204).send(null);
    },
  });

  app.route({
    method: 'PATCH',
    url: '/v1/projects/:id',
    config: { access: 'user' },
    schema: {
      summary: "Change the project's title, voice, brand or output",
      tags: TAGS,
      params: ProjectParams,
      headers: WriteHeaders,
      querystring: NoQuery,
      body: PatchProjectBody,
      response: { 200: EditAnswer, ...WRITE_ERRORS },
    },
    handler: async (req, reply) => {
      refuseModelIssues(voiceModelIssues({ registry, where: 'voice', voice: req.body.voice }));
      return edit(req, reply, `change ${Object.keys(req.body).join(', ')}`, patchProject(req.body));
    },
  });

  app.route({
    method: 'PATCH',
    url: '/v1/projects/:id/scenes/:sceneId',
    config: { access: 'user' },
    schema: {
      summary: "Change a scene's narration, visual, duration, overlay or transition",
      tags: TAGS,
      params: SceneParams,
      headers: WriteHeaders,
      querystring: NoQuery,
      body: PatchSceneBody,
      response: { 200: EditAnswer, ...WRITE_ERRORS },
    },
    handler: async (req, reply) => {
      refuseModelIssues(sceneModelIssues({ registry, where: '', scene: req.body }));
      return edit(
        req,
        reply,
        `change ${Object.keys(req.body).join(', ')} of scene ${req.params.sceneId}`,
        patchScene(req.params.sceneId, req.body),
      );
    },
  });

  app.route({
    method: 'POST',
    url: '/v1/projects/:id/scenes',
    config: { access: 'user' },
    schema: {
      summary: 'Add a scene at an index (the end by default)',
      tags: TAGS,
      params: ProjectParams,
      headers: WriteHeaders,
      querystring: NoQuery,
      body: AddSceneBody,
      response: { 201: EditAnswer.extend({ sceneId: SceneId }), ...WRITE_ERRORS },
    },
    handler: async (req, reply) => {
      refuseModelIssues(sceneModelIssues({ registry, where: 'scene', scene: req.body.scene }));
      const scene = Scene.parse({ ...req.body.scene, id: req.body.scene.id ?? newSceneId() });
      const answer = await edit(req, reply, `add scene ${scene.id}`, addScene(scene, req.body.index));
      return reply.code(201).send({ ...answer, sceneId: scene.id });
    },
  });

  app.route({
    method: 'DELETE',
    url: '/v1/projects/:id/scenes/:sceneId',
    config: { access: 'user' },
    schema: {
      summary: 'Delete a scene',
      tags: TAGS,
      params: SceneParams,
      headers: WriteHeaders,
      querystring: NoQuery,
      response: { 200: EditAnswer, ...WRITE_ERRORS },
    },
    handler: async (req, reply) =>
      edit(req, reply, `delete scene ${req.params.sceneId}`, deleteScene(req.params.sceneId)),
  });

  app.route({
    method: 'PUT',
    url: '/v1/projects/:id/scene-order',
    config: { access: 'user' },
    schema: {
      summary:
        'Reorder the scenes: a permutation of the current scene ids (400 names missing, unknown, repeated ids)',
      tags: TAGS,
      params: ProjectParams,
      headers: WriteHeaders,
      querystring: NoQuery,
      body: SceneOrderBody,
      response: { 200: EditAnswer, ...WRITE_ERRORS },
    },
    handler: async (req, reply) => edit(req, reply, 'reorder scenes', reorderScenes(req.body.sceneIds)),
  });

  app.route({
    method: 'POST',
    url: '/v1/projects/:id/voiceover',
    config: { access: 'user' },
    schema: {
      summary:
        'Re-voice all or some scenes (optionally with another voice); made by the next preview or render',
      tags: TAGS,
      params: ProjectParams,
      headers: WriteHeaders,
      querystring: NoQuery,
      body: VoiceoverBody,
      response: { 200: EditAnswer, ...WRITE_ERRORS },
    },
    handler: async (req, reply) => {
      const body = req.body ?? {};
      refuseModelIssues(voiceModelIssues({ registry, where: 'voice', voice: body.voice }));
      const which = body.sceneIds ? `scenes ${body.sceneIds.join(', ')}` : 'all scenes';
      return edit(req, reply, `re-voice ${which}`, revoice(body));
    },
  });

  app.route({
    method: 'PATCH',
    url: '/v1/projects/:id/music',
    config: { access: 'user' },
    schema: {
      summary: "Change the music's source, volume, ducking or whether it plays",
      tags: TAGS,
      params: ProjectParams,
      headers: WriteHeaders,
      querystring: NoQuery,
      body: PatchMusicBody,
      response: { 200: EditAnswer, ...WRITE_ERRORS },
    },
    handler: async (req, reply) => {
      refuseModelIssues(musicModelIssues({ registry, where: 'source', source: req.body.source }));
      return edit(req, reply, `change music ${Object.keys(req.body).join(', ')}`, patchMusic(req.body));
    },
  });

  app.route({
    method: 'POST',
    url: '/v1/projects/:id/music/regenerate',
    config: { access: 'user' },
    schema: {
      summary: 'A new take of the generated music; made by the next preview or render',
      tags: TAGS,
      params: ProjectParams,
      headers: WriteHeaders,
      querystring: NoQuery,
      body: EmptyBody,
      response: { 200: EditAnswer, ...WRITE_ERRORS },
    },
    handler: async (req, reply) => edit(req, reply, 'regenerate music', regenerateMusic()),
  });

  for (const direction of ['undo', 'redo'] as const) {
    app.route({
      method: 'POST',
      url: `/v1/projects/:id/${direction}`,
      config: { access: 'user' },
      schema: {
        summary:
          direction === 'undo'
            ? 'Undo the last change (a new revision); 409 nothing_to_undo when the history is empty'
            : 'Redo the last undone change (a new revision); 409 nothing_to_redo after a new edit',
        tags: TAGS,
        params: ProjectParams,
        headers: WriteHeaders,
        querystring: NoQuery,
        body: EmptyBody,
        response: { 200: HistoryAnswer, ...WRITE_ERRORS },
      },
      handler: async (req, reply) => {
        let label = '';
        const stored = await write(req, (doc) => {
          const move = direction === 'undo' ? undoEdit(doc) : redoEdit(doc);
          label = move.label;
          return move.doc;
        });
        reply.header('etag', `"${stored.revision}"`);
        return {
          projectId: stored.id,
          revision: stored.revision,
          label,
          canUndo: stored.doc.history.undo.length,
          canRedo: stored.doc.history.redo.length,
        };
      },
    });
  }

  for (const preset of ['preview', 'final'] as const) {
    const path = preset === 'preview' ? 'preview' : 'render';
    app.route({
      method: 'POST',
      url: `/v1/projects/:id/${path}`,
      config: { access: 'user' },
      schema: {
        summary:
          preset === 'preview'
            ? 'Render a 480p / 15 fps preview of the current revision (a job linked to it)'
            : 'Render the final video of the current revision (1080p by default; chunked when long)',
        tags: TAGS,
        params: ProjectParams,
        headers: WriteHeaders,
        querystring: NoQuery,
        body: RenderBody,
        response: { 202: RenderAccepted, ...WRITE_ERRORS },
      },
      handler: async (req, reply) => {
        const stored = await load(req.params.id);
        const expected = parseIfMatch(req.headers['if-match']);
        if (expected !== undefined && expected !== stored.revision) {
          throw revisionConflict(req.params.id, expected, stored.revision);
        }
        const callbackUrl = checkCallbackUrl({
          value: req.body?.callbackUrl,
          allowPrivate: config.allowPrivateCallbacks,
        });
        const data = {
          projectId: stored.id,
          revision: stored.revision,
          preset,
          project: stored.doc.project,
          ...(callbackUrl ? { callbackUrl } : {}),
        } satisfies EventDataInput<'project.render.requested'>;
        const jobId = newJobId();
        const now = new Date().toISOString();
        await ctx.submitJob({
          job: {
            id: jobId,
            kind: 'project',
            input: { projectId: stored.id, revision: stored.revision, preset },
            origin: { type: 'project', id: stored.id, revision: stored.revision },
            steps: { ingest: { status: 'completed', startedAt: now, finishedAt: now, percent: 100 } },
            ...(callbackUrl ? { callbackUrl } : {}),
          },
          event: { type: 'project.render.requested', data },
          principal: req.principal,
          testMode: req.body?.testMode ?? false,
        });
        req.log.info({ jobId, projectId: stored.id, revision: stored.revision, preset }, 'project render');
        return reply.code(202).send({
          jobId,
          ...jobLinks(config.publicBaseUrl, jobId),
          projectId: stored.id,
          revision: stored.revision,
          preset,
        });
      },
    });
  }
};

/**
 * Removes every blob the project owns (`projects/<id>/`); a blob that will not go fails the request
 * naming it (503: the document is gone already, a repeated DELETE removes the rest).
 */
async function deleteProjectBlobs(blobs: BlobStore, projectId: string): Promise<number> {
  const prefix = projectBlobPrefix(projectId);
  const found = await blobs.list(prefix);
  for (const b of found) {
    try {
      await blobs.delete(b.key);
    } catch (err) {
      throw new HttpError({
        statusCode: 503,
        code: 'assets_not_removed',
        message: `project "${projectId}": ${b.key} could not be removed (${describeError(err)}); send the DELETE again to remove the project's remaining assets`,
        cause: err,
      });
    }
  }
  return found.length;
}

function projectNotFound(id: string): HttpError {
  return new HttpError({
    statusCode: 404,
    code: 'project_not_found',
    message: `no project "${id}" (GET /v1/projects lists them)`,
  });
}

function revisionConflict(id: string, expected: number, current: number): HttpError {
  const err = new HttpError({
    statusCode: 409,
    code: 'revision_conflict',
    message: `project "${id}" is at revision ${current}, not ${expected}: it changed since you read it; read it again (GET /v1/projects/${id}) and redo the change`,
    headers: { etag: `"${current}"` },
    currentRevision: current,
  });
  return err;
}

/** The document store's errors as answers (see kit/src/docs/README.md). */
function mapStoreError(err: unknown, id: string): unknown {
  if (err instanceof HttpError) return err;
  if (isDocumentNotFound(err)) return projectNotFound(id);
  if (isRevisionConflict(err)) return revisionConflict(id, err.expectedRevision, err.currentRevision);
  if (isDocumentExists(err))
    return new HttpError({ statusCode: 409, code: 'exists', message: `project "${id}" exists already` });
  if (isInvalidDocument(err)) {
    // The stored document wraps the project: name fields as the client wrote them.
    return invalidInput(
      err.issues.map((i) => ({
        field: i.path.replace(/^project\.?/, '') || 'body',
        message: i.message,
      })),
    );
  }
  if (isInvalidListOptions(err)) return badRequest(err.field, err.message);
  return err;
}
