import { z } from 'zod';
import { BlobKey } from '../common.ts';
import { JobKind } from '../kinds.ts';
import { defineEvent } from '../envelope.ts';
import { Timeline } from '../timeline.ts';

/** A Timeline is ready to be rendered. Publish one yourself to render your own edit. */
export const TimelineReadyV1 = defineEvent({
  type: 'timeline.ready',
  version: 1,
  description:
    "A Timeline (see contracts/schemas/timeline.v1.json) is ready for the encoder. `fallback` names what to deliver when the video cannot be made (a call's speaker clips: `clips_only`).",
  data: z.object({
    kind: JobKind,
    timeline: Timeline,
    /** Encoder backend for this job (`ffmpeg`, `mediaconvert`); the encoder default when absent. */
    backend: z.string().min(1).max(32).optional(),
    /**
     * What to deliver when the video cannot be made after all (issue 15 §3): a call's speaker clips,
     * each as a named output (`caller`, `callee`). The job then completes with `fallback: clips_only`.
     */
    fallback: z
      .object({
        type: z.literal('clips_only'),
        outputs: z
          .record(
            z.string().regex(/^[a-z][A-Za-z0-9]{0,39}$/, 'must be an output name like "caller"'),
            BlobKey,
          )
          .refine((o) => Object.keys(o).length > 0, { message: 'needs at least one clip' }),
      })
      .optional(),
  }),
});
