import { z } from 'zod';
import { BlobKey } from '../common.ts';
import { defineEvent } from '../envelope.ts';

/** The whole Timeline's sound of a chunked render, rendered once. */
export const RenderAudioRequestedV1 = defineEvent({
  type: 'render.audio.requested',
  version: 1,
  description:
    "Render the whole Timeline's audio once (AAC, exactly as a single-pass render would), so no chunk join can click or drift. Claim check: the plan blob `plan` (`jobs/<jobId>/chunks/plan.json`). Answered by `render.audio.rendered`.",
  data: z.object({
    /** The stored plan: `jobs/<jobId>/chunks/plan.json`. */
    plan: BlobKey,
  }),
});
