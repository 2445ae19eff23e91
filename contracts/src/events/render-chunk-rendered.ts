import { z } from 'zod';
import { BlobKey, Seconds } from '../common.ts';
import { defineEvent } from '../envelope.ts';

/** One chunk of a chunked render exists. */
export const RenderChunkRenderedV1 = defineEvent({
  type: 'render.chunk.rendered',
  version: 1,
  description:
    'Chunk `index` (of `count`) of a chunked render is stored at `key` (video only, `frames` frames). The encoder fan-in records it on the job by compare-and-set; the event that completes the set (every chunk and the audio) joins them into `jobs/<jobId>/final.mp4`.',
  data: z.object({
    plan: BlobKey,
    index: z.number().int().nonnegative(),
    count: z.number().int().positive(),
    key: BlobKey,
    frames: z.number().int().positive(),
    sizeBytes: z.number().int().positive(),
    /** Wall-clock seconds of the chunk's encode. */
    encodeSeconds: Seconds,
    cpuSeconds: Seconds.optional(),
  }),
});
