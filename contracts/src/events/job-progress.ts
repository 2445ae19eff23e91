import { z } from 'zod';
import { Step } from '../common.ts';
import { Count } from '../job.ts';
import { defineEvent } from '../envelope.ts';

/** A step started, advanced or finished. */
export const JobProgressV1 = defineEvent({
  type: 'job.progress',
  version: 1,
  description:
    'Progress of one step of a job. `percent` is of that step; `phase`, `chunks`, `frames`, `chunk` and `etaSec` feed the job document `progressDetail`.',
  data: z.object({
    step: Step,
    status: z.enum(['started', 'running', 'completed', 'skipped']),
    percent: z.number().min(0).max(100).optional(),
    message: z.string().max(2000).optional(),
    attempt: z.number().int().positive().optional(),
    /** The phase users see (one of the job kind's phases, e.g. `rendering`). */
    phase: z.string().max(40).optional(),
    /** Chunks of a chunked render done so far, of how many. */
    chunks: Count.optional(),
    /** Frames rendered so far in the whole job, of how many (when one worker knows them all). */
    frames: Count.optional(),
    /** One chunk's own frame count so far (the projection sums the chunks' reports). */
    chunk: z
      .object({ index: z.number().int().nonnegative(), frames: z.number().int().nonnegative() })
      .optional(),
    /** Seconds left, as the reporting worker estimates them. */
    etaSec: z.number().nonnegative().optional(),
  }),
});
