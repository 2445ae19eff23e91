import { z } from 'zod';
import { BlobKey, MediaOutput, Seconds } from '../common.ts';
import { defineEvent } from '../envelope.ts';

/** The final video file exists. */
export const VideoEncodedV1 = defineEvent({
  type: 'video.encoded',
  version: 1,
  description:
    'The final MP4 exists at `key` (a rendered Timeline or a merge), with its probed properties. The notifier completes the job with it.',
  data: z.object({
    key: BlobKey,
    durationSec: Seconds,
    sizeBytes: z.number().int().positive(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    videoCodec: z.string(),
    audioCodec: z.string(),
    backend: z.string(),
    encodeSeconds: z.number().nonnegative(),
    cpuSeconds: z.number().nonnegative().optional(),
    costUsd: z.number().nonnegative().optional(),
    /** How many videos were joined into this one (merges and reel compiles). */
    videoCount: z.number().int().positive().optional(),
    /** Named outputs made beside the MP4 (`hls`: the master playlist of an HLS ladder, …): copied into the job's `outputs`. */
    outputs: z.record(z.string().regex(/^[a-z][a-zA-Z0-9]{0,39}$/), MediaOutput).optional(),
  }),
});
