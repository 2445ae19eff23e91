import { z } from 'zod';
import { defineEvent } from '../envelope.ts';
import { ProjectAsset, ProjectId } from '../project.ts';

/** One asset of a project render is missing and must be made (a job step on the bus). */
export const ProjectAssetRequestedV1 = defineEvent({
  type: 'project.asset.requested',
  version: 1,
  description:
    "Make one asset of a project render at `asset.key` (kept with the project under projects/<id>/assets/, never swept with the job): run a model of the registry, or fetch a URL, or loudness-normalise a given key; then publish project.asset.ready. Several are in flight at once (one per missing asset); the compositor's fan-in waits for all.",
  data: z.object({
    projectId: ProjectId,
    asset: ProjectAsset,
    /** A visual, overlay or logo that cannot be made is reported with `error` (a placeholder is drawn) instead of failing the job. */
    allowPlaceholder: z.boolean().default(false),
  }),
});
