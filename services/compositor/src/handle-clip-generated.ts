import type { EventOf } from '@reelbus/contracts';
import { TransientError, type HandlerContext, type HandlerOutcome } from '@reelbus/kit';
import { readCallState, readClips, type StoredClip } from './call-state.ts';
import type { ComposeDeps } from './handle-audio-split.ts';
import { claimIfComplete, publishIfClaimed } from './fan-in.ts';

/**
 * Fan-in of the speakers' clips: stores this clip on the job and, in the same compare-and-set update,
 * claims the job's `timeline.ready` when it completes the set. Exactly one event claims it, under
 * redelivery and concurrent replicas; only the claimant publishes.
 */
export async function collectCallClip({
  event,
  ctx,
  deps,
}: {
  event: EventOf<'clip.generated'>;
  ctx: HandlerContext;
  deps: Pick<ComposeDeps, 'jobs'>;
}): Promise<HandlerOutcome> {
  const { jobs } = deps;
  const { role, key, durationSec, width, height, placeholder, provider } = event.data;
  const at = new Date().toISOString();
  const clip: StoredClip = { key, durationSec, width, height, placeholder, provider, eventId: event.id };
  const job = await jobs.update(event.jobId, (j) => {
    if (!readCallState(j)) return undefined; // audio.split not recorded yet: nothing to add to
    j.state.clips = { ...readClips(j), [role]: clip };
    claimIfComplete(j, event.id, at);
    return j;
  });
  if (!readCallState(job)) {
    throw new TransientError(`job ${event.jobId} has no call state yet (audio.split not handled): retrying`, {
      step: 'compose',
    });
  }
  return publishIfClaimed({ job, claimant: event.id, ctx });
}
