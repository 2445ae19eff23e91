import type { EventOf, Job, SpeakerRole } from '@reelbus/contracts';
import {
  TransientError,
  type BlobStore,
  type HandlerContext,
  type HandlerOutcome,
  type JobStore,
} from '@reelbus/kit';
import { ROLE_LABEL } from './call-layout.ts';
import { decideCallRendering, type CallRendering } from './call-rendering.ts';
import { CallState, readCallState, type CallStateInput } from './call-state.ts';
import { resolveFaces, type DefaultFaces } from './faces.ts';
import { claimIfComplete, publishIfClaimed } from './fan-in.ts';

export interface ComposeDeps {
  jobs: JobStore;
  /** Output size when the job does not ask for one. */
  defaultSize: { width: number; height: number };
  /** The provider decision's settings (AI_PROVIDER, CALL_LOCAL_RENDER). */
  calls: { defaultProvider: string; localRender: CallRendering };
  /** Where the faces of drawn speakers are checked and the default faces stored (direct rendering). */
  faces?: { blobs: BlobStore; defaults: Pick<DefaultFaces, 'key'>; tmpDir?: string };
}

/**
 * Records the call's facts on the job and decides how its speakers get on screen
 * (`decideCallRendering`). With the `local` provider drawn directly, the faces are checked and the
 * Timeline is claimed and published at once: no clip is made. Otherwise one clip is asked for per
 * speaking channel (`clip.requested:<jobId>:<role>`, naming the job's provider, so a redelivery asks
 * once); their fan-in is in `handle-clip-generated.ts`.
 */
export async function composeCall({
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
  const before = await readJob(jobs, event.jobId);
  // Decided once: a redelivered audio.split keeps the decision (and the faces) it stored.
  const prior = readCallState(before);
  const { provider, rendering } = prior?.provider
    ? { provider: prior.provider, rendering: prior.rendering }
    : decideCallRendering({
        jobProvider: before.input.provider,
        defaultProvider: deps.calls.defaultProvider,
        localRender: deps.calls.localRender,
        testMode: before.testMode,
      });
  let faces: Partial<Record<SpeakerRole, string>> | undefined = prior?.provider ? prior.faces : undefined;
  if (rendering === 'direct' && speaking.length > 0 && !faces) {
    if (!deps.faces) throw new Error('internal: drawing a call directly needs the faces dependency');
    faces = await resolveFaces({
      job: before,
      roles: speaking.map((c) => c.role),
      labels: ROLE_LABEL,
      ...deps.faces,
      warn: (message) => ctx.warn('compose', message),
    });
  }
  const at = new Date().toISOString();
  const job = await jobs.update(event.jobId, (j) => {
    const size = outputSize(j.input.output) ?? defaultSize;
    const call: CallStateInput = {
      recording: { key: source.key, durationSec: source.durationSec },
      mode,
      size,
      channels: channels.map(({ role, key, durationSec, silent }) => ({ role, key, durationSec, silent })),
      expectedClips: rendering === 'direct' ? 0 : speaking.length,
      provider,
      rendering,
      ...(faces ? { faces } : {}),
    };
    j.state.call = CallState.parse(call);
    // Drawn directly, or no speaking channel: nothing to wait for, so the timeline is claimed now.
    claimIfComplete(j, event.id, at);
    return j;
  });

  if (speaking.length === 0) {
    // Nothing to generate: both sides are cards, and the timeline can be claimed now.
    await ctx.warn('compose', 'every channel of the call is silent: the video shows placeholder cards');
    return publishIfClaimed({ job, claimant: event.id, ctx });
  }
  if (rendering === 'direct') return publishIfClaimed({ job, claimant: event.id, ctx });

  const imageOf = (role: 'caller' | 'callee'): string | undefined => {
    const v = role === 'caller' ? job.input.callerImage : job.input.calleeImage;
    return typeof v === 'string' && v.length > 0 ? v : undefined;
  };
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
        provider,
      },
      { id: `clip.requested:${event.jobId}:${ch.role}` },
    );
  }
  await ctx.progress('compose', 'running', 0, `waiting for ${speaking.length} clip(s)`);
  return { outcome: 'ok' };
}

/** The job document; a job not written yet (another service makes it from the first event) is retried. */
async function readJob(jobs: JobStore, jobId: string): Promise<Job> {
  const job = await jobs.get(jobId);
  if (!job) {
    throw new TransientError(`job ${jobId} is not in the job store yet`, { step: 'compose' });
  }
  return job;
}

/** The job's requested output size, made even (yuv420p), or undefined. */
function outputSize(v: unknown): { width: number; height: number } | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const { width, height } = v as { width?: unknown; height?: unknown };
  if (typeof width !== 'number' || typeof height !== 'number') return undefined;
  const even = (n: number) => Math.max(16, Math.floor(n / 2) * 2);
  return { width: even(width), height: even(height) };
}
