import { z } from 'zod';
import { Step } from '../common.ts';
import { defineEvent } from '../envelope.ts';

/** The job cannot finish. The message that failed is in the dead-letter stream. */
export const JobFailedV1 = defineEvent({
  type: 'job.failed',
  version: 1,
  description:
    'A step gave up on the job. `reason` is meant for the user; `permanent` is false when it failed after retries on a transient error (a replay may succeed).',
  data: z.object({
    step: Step,
    reason: z.string().min(1).max(4000),
    permanent: z.boolean(),
    service: z.string().optional(),
    attempts: z.number().int().nonnegative().optional(),
    deadLetter: z.object({ stream: z.string(), seq: z.number().int().positive() }).optional(),
  }),
});
