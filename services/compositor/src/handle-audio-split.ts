import type { EventOf, Job } from '@reelbus/contracts';
import {
  isJobNotFound,
  TransientError,
  type HandlerContext,
  type HandlerOutcome,
  type JobStore,
} from '@reelbus/kit';
import { ROLE_LABEL } from './call-layout.ts';
import { CallState } from './call-state.ts';
import { claimIfComplete, publishIfClaimed } from './fan-in.ts';

export interface ComposeDeps {
  jobs: JobStore;
  /** Output size when the job does not ask for one. */
  defaultSize: { width: number; height: number };
}

/**
 * Records the call's facts on the job, then asks for one clip per speaking channel
 * (`clip.requested:<jobId>:<role>`, so a redelivery asks once). The clips' fan-in is in
 * `handle-clip-generated.ts`.
 */
export async function requestCallClips({
  event,
  ctx,
  deps,
}: {
  event: EventOf<'audio.split'>;
  ctx: HandlerContext;
  deps: ComposeDeps;
}): Promise<HandlerOutcome> {
  const { jobs, defaultSize } = deps;
  const { source, mode, channels } = event.data;
  if (!(source.durationSec > 0)) {
    return {
      outcome: 'fail',
      step: 'compose',
      reason: `audio.split source.durationSec is ${source.durationSec}: the recording has no length`,
    };
  }
  const speaking = channels.filter((c) => !c.silent && c.durationSec > 0);
  const at = new Date().toISOString();
  let job: Job;
  try {
    job = await jobs.update(event.jobId, (j) => {
      const size = outputSize(j.input.output) ?? defaultSize;
      const call: CallState = {
        recording: { key: source.key, durationSec: source.durationSec },
        mode,
        size,
        channels: channels.map(({ role, key, durationSec, silent }) => ({ role, key, durationSec, silent })),
        expectedClips: speaking.length,
      };
      j.state.call = call;
      // With no speaking channel there is nothing to wait for: claim the timeline now.
      claimIfComplete(j, event.id, at);
      return j;
    });
  } catch (err) {
    if (isJobNotFound(err)) {
      // The job document is made from the first event by another service; it may not be written yet.
      throw new TransientError(`job ${event.jobId} is not in the job store yet`, {
        step: 'compose',
        cause: err,
      });
    }
    throw err;
  }

  if (speaking.length === 0) {
    // Nothing to generate: both sides are cards, and the timeline can be claimed now.
    await ctx.warn('compose', 'every channel of the call is silent: the video shows placeholder cards');
    return publishIfClaimed({ job, claimant: event.id, ctx });
  }

  const imageOf = (role: 'caller' | 'callee'): string | undefined => {
    const v = role === 'caller' ? job.input.callerImage : job.input.calleeImage;
    return typeof v === 'string' && v.length > 0 ? v : undefined;
  };
  const provider = typeof job.input.provider === 'string' ? job.input.provider : undefined;
  for (const ch of speaking) {
    const imageKey = imageOf(ch.role);
    await ctx.publish(
      'clip.requested',
      event.jobId,
      {
        role: ch.role,
        label: ROLE_LABEL[ch.role],
        audioKey: ch.key,
        durationSec: ch.durationSec,
        expectedClips: speaking.length,
        ...(imageKey ? { imageKey } : {}),
        ...(provider ? { provider } : {}),
      },
      { id: `clip.requested:${event.jobId}:${ch.role}` },
    );
  }
  await ctx.progress('compose', 'running', 0, `waiting for ${speaking.length} clip(s)`);
  return { outcome: 'ok' };
}

/** The job's requested output size, made even (yuv420p), or undefined. */
function outputSize(v: unknown): { width: number; height: number } | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const { width, height } = v as { width?: unknown; height?: unknown };
  if (typeof width !== 'number' || typeof height !== 'number') return undefined;
  const even = (n: number) => Math.max(16, Math.floor(n / 2) * 2);
  return { width: even(width), height: even(height) };
}
