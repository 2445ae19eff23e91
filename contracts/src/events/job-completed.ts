import { z } from 'zod';
import { MediaOutput } from '../common.ts';
import { defineEvent } from '../envelope.ts';

/** The job is done and its outputs exist. */
export const JobCompletedV1 = defineEvent({
  type: 'job.completed',
  version: 1,
  description:
    'The job finished. `fallback: audio_only` means the video could not be made and the audio is delivered instead, with `fallbackReason`.',
  data: z.object({
    outputs: z.object({ video: MediaOutput.optional(), audio: MediaOutput.optional() }),
    warnings: z.array(z.string()).default([]),
    fallback: z.enum(['audio_only']).optional(),
    fallbackReason: z.string().optional(),
  }),
});
