import { z } from 'zod';
import { BlobKey, HttpUrl } from '../common.ts';
import { defineEvent } from '../envelope.ts';

/** One input of a merge: a blob key, or an https URL the encoder fetches into `jobs/<jobId>/input/`. */
export const MergeClip = z.union([z.object({ key: BlobKey }).strict(), z.object({ url: HttpUrl }).strict()]);
export type MergeClip = z.infer<typeof MergeClip>;

/** The most inputs one merge takes (the reference merger's callers send up to a few hundred takes). */
export const MAX_MERGE_CLIPS = 500;

/** N clips should become one MP4, in order. */
export const MergeRequestedV1 = defineEvent({
  type: 'merge.requested',
  version: 1,
  description:
    'Join `clips` (2-500, in order) into one MP4 at `jobs/<jobId>/final.mp4`: stream copy when every input matches, else the odd inputs are re-encoded to the majority first. Uploads are already blob keys; URLs are fetched by the encoder.',
  data: z.object({
    clips: z
      .array(MergeClip)
      .min(2, 'a merge needs at least 2 clips')
      .max(MAX_MERGE_CLIPS, `a merge takes at most ${MAX_MERGE_CLIPS} clips`),
    callbackUrl: HttpUrl.optional(),
  }),
});
