import { z } from 'zod';
import { BlobKey, SpeakerRole } from '../common.ts';
import { defineEvent } from '../envelope.ts';

/** One speaker's avatar clip should be generated from their audio. */
export const ClipRequestedV1 = defineEvent({
  type: 'clip.requested',
  version: 1,
  description:
    'Generate a talking clip for one speaker from their audio. One event per speaking channel, so sides run in parallel on any replicas.',
  data: z.object({
    role: SpeakerRole,
    label: z.string().min(1).max(80),
    audioKey: BlobKey,
    durationSec: z.number().positive(),
    /** Face image (blob key); the provider's configured default when absent. */
    imageKey: BlobKey.optional(),
    provider: z.string().min(1).max(64).optional(),
    /** How many clips the compositor waits for in this job. */
    expectedClips: z.number().int().min(1).max(2),
  }),
});
