import { z } from 'zod';
import { JobKind } from '../kinds.ts';
import { defineEvent } from '../envelope.ts';
import { Timeline } from '../timeline.ts';

/** A Timeline is ready to be rendered. Publish one yourself to render your own edit. */
export const TimelineReadyV1 = defineEvent({
  type: 'timeline.ready',
  version: 1,
  description: 'A Timeline (see contracts/schemas/timeline.v1.json) is ready for the encoder.',
  data: z.object({
    kind: JobKind,
    timeline: Timeline,
    /** Encoder backend for this job (`ffmpeg`, `mediaconvert`); the encoder default when absent. */
    backend: z.string().min(1).max(32).optional(),
  }),
});
