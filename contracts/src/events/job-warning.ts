import { z } from 'zod';
import { Step } from '../common.ts';
import { defineEvent } from '../envelope.ts';

/** Something went wrong that does not fail the job (an image skipped, a placeholder used). */
export const JobWarningV1 = defineEvent({
  type: 'job.warning',
  version: 1,
  description: 'A problem the job survived; it is listed in the job document `warnings`.',
  data: z.object({ step: Step, message: z.string().min(1).max(2000) }),
});
