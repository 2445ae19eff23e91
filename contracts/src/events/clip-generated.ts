import { z } from 'zod';
import { BlobKey, Seconds, SpeakerRole } from '../common.ts';
import { defineEvent } from '../envelope.ts';

/** A speaker's clip exists in blob storage (generated, or a placeholder when generation failed). */
export const ClipGeneratedV1 = defineEvent({
  type: 'clip.generated',
  version: 1,
  description:
    'A speaker clip is stored at `key`. `placeholder` is true when the provider failed after its retries and a placeholder card stands in; `warning` then says why.',
  data: z.object({
    role: SpeakerRole,
    key: BlobKey,
    durationSec: Seconds,
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    provider: z.string(),
    placeholder: z.boolean().default(false),
    warning: z.string().optional(),
    segments: z.number().int().positive().default(1),
    expectedClips: z.number().int().min(1).max(2),
  }),
});
