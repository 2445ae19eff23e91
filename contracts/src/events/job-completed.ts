import { z } from 'zod';
import { MediaOutput } from '../common.ts';
import { Fallback } from '../job.ts';
import { defineEvent } from '../envelope.ts';

/** The job is done and its outputs exist. */
export const JobCompletedV1 = defineEvent({
  type: 'job.completed',
  version: 1,
  description:
    "The job finished. `fallback: audio_only` means the video could not be made and the audio is delivered instead, with `fallbackReason`; `clips_only` means a call delivers each speaker's clip as its own output (`outputs.caller`, `outputs.callee`). Outputs beyond `video` and `audio` are named (`poster`, `hls`, `image`, …).",
  data: z.object({
    outputs: z.object({ video: MediaOutput.optional(), audio: MediaOutput.optional() }).catchall(MediaOutput),
    warnings: z.array(z.string()).default([]),
    fallback: Fallback.optional(),
    fallbackReason: z.string().optional(),
  }),
});
