import type { EventDataInput, Job, SpeakerRole } from '@reelbus/contracts';
import type { HandlerContext, HandlerOutcome } from '@reelbus/kit';
import { buildCallTimeline, type DrawnSpeaker } from './call-layout.ts';
import { readCallState, readClaim, readClips, type CallState, type StoredClip } from './call-state.ts';

/**
 * What the call delivers when its video cannot be made for good (issue 15 §3, pure): the speaker
 * clips a provider made (placeholders are not worth delivering), by role. Undefined when there are none.
 */
export function clipsOnlyFallback(
  clips: Partial<Record<string, StoredClip>>,
): EventDataInput<'timeline.ready'>['fallback'] {
  const outputs = Object.fromEntries(
    Object.entries(clips)
      .filter((e): e is [string, StoredClip] => e[1] !== undefined && !e[1].placeholder)
      .map(([role, c]) => [role, c.key]),
  );
  return Object.keys(outputs).length > 0 ? { type: 'clips_only', outputs } : undefined;
}

/** The channels that speak (a silent or empty one is shown as a card). */
function speakingChannels(call: CallState): CallState['channels'] {
  return call.channels.filter((c) => !c.silent && c.durationSec > 0);
}

/** True when nothing is left to wait for: the speakers are drawn directly, or every speaking channel has its clip. */
export function clipsComplete(call: CallState, clips: ReturnType<typeof readClips>): boolean {
  if (call.rendering === 'direct') return true;
  return speakingChannels(call).every((c) => clips[c.role] !== undefined);
}

/** The speakers the Timeline draws itself (direct rendering): each speaking side's face and own audio. */
export function drawnSpeakers(call: CallState): Partial<Record<SpeakerRole, DrawnSpeaker>> {
  if (call.rendering !== 'direct') return {};
  const out: Partial<Record<SpeakerRole, DrawnSpeaker>> = {};
  for (const c of speakingChannels(call)) {
    const faceKey = call.faces?.[c.role];
    if (!faceKey) throw new Error(`internal: the ${c.role} side is drawn but has no face in the call state`);
    out[c.role] = { faceKey, audioKey: c.key };
  }
  return out;
}

/**
 * Inside a compare-and-set mutation: claims the job's one `timeline.ready` for `claimant` when the
 * clips are complete and nobody claimed it yet. Because the claim is written in the same CAS update
 * as the last clip, two replicas finishing at once cannot both see themselves as the claimant.
 */
export function claimIfComplete(job: Job, claimant: string, at: string): void {
  const call = readCallState(job);
  if (!call || readClaim(job) || !clipsComplete(call, readClips(job))) return;
  job.state.timeline = { by: claimant, at };
}

/**
 * Publishes `timeline.ready` (id `timeline.ready:<jobId>`) when `claimant` holds the claim. A
 * redelivery of the claiming event publishes again with the same id, which JetStream drops; this
 * covers a crash between the claim and the publish.
 */
export async function publishIfClaimed({
  job,
  claimant,
  ctx,
}: {
  job: Job;
  claimant: string;
  ctx: HandlerContext;
}): Promise<HandlerOutcome> {
  const claim = readClaim(job);
  const call = readCallState(job);
  if (!claim || !call) return { outcome: 'ok' }; // still waiting for clips
  if (claim.by !== claimant)
    return { outcome: 'skip', reason: `timeline.ready of job ${job.id} was claimed by ${claim.by}` };
  const clips = readClips(job);
  const timeline = buildCallTimeline({
    recording: call.recording,
    mode: call.mode,
    size: call.size,
    clips: Object.fromEntries(Object.entries(clips).map(([role, c]) => [role, c])),
    drawn: drawnSpeakers(call),
  });
  const fallback = clipsOnlyFallback(clips);
  await ctx.publish(
    'timeline.ready',
    job.id,
    { kind: 'call', timeline, ...(fallback ? { fallback } : {}) },
    { id: `timeline.ready:${job.id}` },
  );
  await ctx.progress('compose', 'completed', 100);
  return { outcome: 'ok' };
}
