import { z } from 'zod';
import { BlobKey, Seconds } from '../common.ts';
import { defineEvent } from '../envelope.ts';

/** The final video file exists. */
export const VideoEncodedV1 = defineEvent({
  type: 'video.encoded',
  version: 1,
  description: 'The Timeline was rendered to an MP4 at `key`, with its probed properties.',
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
  }),
});
