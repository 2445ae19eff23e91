import { z } from 'zod';
import { BlobKey, Seconds } from '../common.ts';
import { defineEvent } from '../envelope.ts';

/** Speech audio was probed for its real duration and loudness-normalised (EBU R128). */
export const AudioNormalizedV1 = defineEvent({
  type: 'audio.normalized',
  version: 1,
  description:
    'The working audio of a story: probed duration (never a default), normalised to the target loudness.',
  data: z.object({
    sourceKey: BlobKey,
    key: BlobKey,
    durationSec: z.number().positive(),
    integratedLufs: z.number().optional(),
    sampleRate: z.number().int().positive(),
    channels: z.number().int().positive(),
    startSec: Seconds.default(0),
  }),
});
