import { z } from 'zod';
import { BlobKey, Seconds } from '../common.ts';
import { defineEvent } from '../envelope.ts';

/** The whole-Timeline audio of a chunked render exists. */
export const RenderAudioRenderedV1 = defineEvent({
  type: 'render.audio.rendered',
  version: 1,
  description:
    "The whole Timeline's audio of a chunked render is stored at `key` (AAC in `.m4a`). Recorded by the encoder fan-in like a chunk.",
  data: z.object({
    plan: BlobKey,
    key: BlobKey,
    durationSec: Seconds,
    sizeBytes: z.number().int().positive(),
    encodeSeconds: Seconds,
    cpuSeconds: Seconds.optional(),
  }),
});
