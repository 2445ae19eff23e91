import { z } from 'zod';
import { BlobKey } from '../common.ts';
import { defineEvent } from '../envelope.ts';

/** Frames of a chunk on the output's frame grid. */
const Frames = z.number().int().nonnegative();

/** One video-only chunk of a long Timeline, for any encoder replica to render. */
export const RenderChunkRequestedV1 = defineEvent({
  type: 'render.chunk.requested',
  version: 1,
  description:
    'Render chunk `index` (of `count`) of a chunked render: output frames [startFrame, startFrame + frameCount), video only, with a keyframe on its first frame. Claim check: the Timeline and the whole chunk plan are in the blob `plan` (`jobs/<jobId>/chunks/plan.json`). Published by the encoder that planned the job, consumed by any encoder replica; answered by `render.chunk.rendered`.',
  data: z.object({
    /** The stored plan: `jobs/<jobId>/chunks/plan.json`. */
    plan: BlobKey,
    index: z.number().int().nonnegative(),
    count: z.number().int().positive(),
    startFrame: Frames,
    frameCount: z.number().int().positive(),
  }),
});
