import { z } from 'zod';
import { BlobKey, HttpUrl } from '../common.ts';
import { defineEvent } from '../envelope.ts';

/** A call recording is ready to be turned into a split-screen video. */
export const RecordingReceivedV1 = defineEvent({
  type: 'recording.received',
  version: 1,
  description:
    'A dual-channel call recording (left = caller, right = callee) entered reelbus. Give `recording.key` when the file is in blob storage already, or `recording.url` to have it downloaded.',
  data: z
    .object({
      source: z.enum(['twilio', 'upload', 'bus']),
      recording: z
        .object({
          key: BlobKey.optional(),
          url: HttpUrl.optional(),
          contentType: z.string().optional(),
        })
        .refine((r) => r.key !== undefined || r.url !== undefined, {
          message: 'needs "key" (in blob storage) or "url" (to download)',
        }),
      twilio: z
        .object({
          accountSid: z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'must be a Twilio Account SID (AC…)'),
          callSid: z.string().min(1),
          recordingSid: z.string().regex(/^RE[0-9a-fA-F]{32}$/, 'must be a Twilio Recording SID (RE…)'),
          durationSec: z.number().nonnegative().optional(),
          channels: z.number().int().min(1).max(2).optional(),
        })
        .optional(),
      /** Face images for the avatars (blob keys); config defaults when absent. */
      callerImage: BlobKey.optional(),
      calleeImage: BlobKey.optional(),
      /** Avatar provider for this job (`local`, `fal`); the service default when absent. */
      provider: z.string().min(1).max(64).optional(),
      callbackUrl: HttpUrl.optional(),
      output: z
        .object({ width: z.number().int().min(64).max(3840), height: z.number().int().min(64).max(2160) })
        .optional(),
    })
    .refine((d) => d.source !== 'twilio' || d.twilio !== undefined, {
      path: ['twilio'],
      message: 'is required when source is "twilio"',
    }),
});
