import { z } from 'zod';
import { Step } from '../common.ts';
import { defineEvent } from '../envelope.ts';

/** A step started, advanced or finished. */
export const JobProgressV1 = defineEvent({
  type: 'job.progress',
  version: 1,
  description: 'Progress of one step of a job. `percent` is of that step.',
  data: z.object({
    step: Step,
    status: z.enum(['started', 'running', 'completed', 'skipped']),
    percent: z.number().min(0).max(100).optional(),
    message: z.string().max(2000).optional(),
    attempt: z.number().int().positive().optional(),
  }),
});
