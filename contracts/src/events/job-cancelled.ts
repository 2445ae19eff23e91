import { z } from 'zod';
import { defineEvent } from '../envelope.ts';

/** Someone asked to stop a job: every service stops work on it (see the kit's cancellation). */
export const JobCancelledV1 = defineEvent({
  type: 'job.cancelled',
  version: 1,
  description:
    'A job was cancelled. Services abort the work in hand for it (their handlers see `ctx.signal` abort) and settle its later messages as cancelled without running them; no `job.failed` follows. `reason` is meant for the user, `by` names who asked (an API key name, an operator). Published by `bus.cancelJob`, after the job id is written to the `<namespace>_cancelled` KV bucket that services watch.',
  data: z.object({
    reason: z.string().min(1).max(2000).optional(),
    /** Who asked: an API key name or an operator. */
    by: z.string().min(1).max(100).optional(),
  }),
});
