import { z } from 'zod';
import { BlobKey } from '../common.ts';
import { defineEvent } from '../envelope.ts';

/** Every image of a job was fetched, oriented and converted (or skipped with a reason). */
export const ImagesConvertedV1 = defineEvent({
  type: 'images.converted',
  version: 1,
  description:
    'Images ready for the encoder, in display order (user photo first). Images that failed are listed in `skipped` and do not fail the job.',
  data: z.object({
    images: z.array(
      z.object({
        key: BlobKey,
        width: z.number().int().positive(),
        height: z.number().int().positive(),
        /** Where it came from: `userPhoto` or `images[<n>]`. */
        origin: z.string(),
      }),
    ),
    skipped: z.array(z.object({ origin: z.string(), reason: z.string() })).default([]),
    usedFallback: z.boolean().default(false),
  }),
});
