import { z } from 'zod';
import { Step } from '../common.ts';
import { defineEvent } from '../envelope.ts';

/** A running job had no event for longer than its step allows (the notifier's stuck-job watchdog). */
export const JobStalledV1 = defineEvent({
  type: 'job.stalled',
  version: 1,
  description:
    'A running job showed no sign of life (no event) for longer than its step allows; it is marked `stalled` until a later event moves it on. `step` is the step it was in, `idleSeconds` how long it had been quiet, `lastEventAt` when it was last heard of.',
  data: z.object({
    step: Step,
    idleSeconds: z.number().nonnegative(),
    lastEventAt: z.iso.datetime(),
    /** The limit that was exceeded, seconds. */
    limitSeconds: z.number().positive().optional(),
  }),
});
