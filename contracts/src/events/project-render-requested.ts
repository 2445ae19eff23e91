import { z } from 'zod';
import { HttpUrl } from '../common.ts';
import { defineEvent } from '../envelope.ts';
import { Project, ProjectId, ProjectRenderPreset } from '../project.ts';

/** A preview or final render of one revision of a scene project was asked for. */
export const ProjectRenderRequestedV1 = defineEvent({
  type: 'project.render.requested',
  version: 1,
  description:
    'Render revision `revision` of scene project `projectId` (its content in `project`, so later edits do not change this render): the compositor asks for the missing assets (voiceovers, generated or fetched visuals, music) with project.asset.requested, waits for them, then publishes the Timeline as timeline.ready (kind project). `preset` preview = 480p / 15 fps; final = the project output (1080p by default).',
  data: z.object({
    projectId: ProjectId,
    revision: z.number().int().positive(),
    preset: ProjectRenderPreset,
    project: Project,
    callbackUrl: HttpUrl.optional(),
  }),
});
