import { z } from 'zod';
import { BlobKey, Seconds } from '../common.ts';
import { defineEvent } from '../envelope.ts';
import { ProjectId } from '../project.ts';

/** One asset of a project render exists (or could not be made, when the project allows placeholders). */
export const ProjectAssetReadyV1 = defineEvent({
  type: 'project.asset.ready',
  version: 1,
  description:
    "The asset `assetId` of the job's project render is at `key` (`durationSec` for audio and video). With `error` it could not be made and the project allows placeholders: the compositor draws a plain card and warns.",
  data: z.object({
    projectId: ProjectId,
    assetId: z.string().min(1).max(200),
    key: BlobKey,
    durationSec: Seconds.optional(),
    error: z.string().min(1).max(2000).optional(),
  }),
});
