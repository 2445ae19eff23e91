import { z } from 'zod';
import { BlobKey, SpeakerRole, type Job } from '@reelbus/contracts';

/**
 * What the compositor keeps on the job (`job.state`) between `audio.split` and the fan-in of
 * `clip.generated`: the job document is the only shared memory of stateless replicas.
 */
export const CallState = z.object({
  recording: z.object({ key: BlobKey, durationSec: z.number().positive() }),
  mode: z.enum(['stereo', 'mono']),
  size: z.object({ width: z.number().int().positive(), height: z.number().int().positive() }),
  channels: z.array(
    z.object({ role: SpeakerRole, key: BlobKey, durationSec: z.number().nonnegative(), silent: z.boolean() }),
  ),
  expectedClips: z.number().int().min(0).max(2),
  /** The job's avatar provider (decided once, at audio.split); absent on jobs older than the decision. */
  provider: z.string().optional(),
  /** `direct`: the speakers are drawn in the Timeline, no clips are waited for. `clips` before the decision existed. */
  rendering: z.enum(['direct', 'clips']).default('clips'),
  /** direct: the face image drawn for each speaking side (the job's, or a default face's key). */
  faces: z.partialRecord(SpeakerRole, BlobKey).optional(),
});
export type CallState = z.infer<typeof CallState>;
export type CallStateInput = z.input<typeof CallState>;

export const StoredClip = z.object({
  key: BlobKey,
  durationSec: z.number().nonnegative(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  placeholder: z.boolean(),
  provider: z.string(),
  /** The `clip.generated` event that stored it. */
  eventId: z.string(),
});
export type StoredClip = z.infer<typeof StoredClip>;

export const StoredClips = z.partialRecord(SpeakerRole, StoredClip);

/** Who claimed the one `timeline.ready` of a job: the id of the event whose update completed the set. */
export const TimelineClaim = z.object({ by: z.string(), at: z.string() });
export type TimelineClaim = z.infer<typeof TimelineClaim>;

/** The call state of a job, or undefined when `audio.split` has not been handled yet. */
export function readCallState(job: Job): CallState | undefined {
  const r = CallState.safeParse(job.state.call);
  return r.success ? r.data : undefined;
}

export function readClips(job: Job): z.infer<typeof StoredClips> {
  const r = StoredClips.safeParse(job.state.clips ?? {});
  return r.success ? r.data : {};
}

export function readClaim(job: Job): TimelineClaim | undefined {
  const r = TimelineClaim.safeParse(job.state.timeline);
  return r.success ? r.data : undefined;
}
