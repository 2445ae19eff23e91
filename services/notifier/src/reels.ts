import {
  TERMINAL_JOB_STATUSES,
  finishCompile,
  finishTake,
  type Job,
  type Reel,
  type ReelChange,
} from '@reelbus/contracts';
import { isDocumentNotFound, type DocumentStore, type HandlerContext } from '@reelbus/kit';

/**
 * Reels are read models of their jobs too: a take is the projection of its generation job, a compile of
 * its `reel` job. The notifier already projects every job's events and sees each job end, so it moves a
 * take to `ready` (with its video) or `failed` (with the reason), and records a compile's MP4, in the reel
 * document by compare-and-set. A redelivered event finds the take no longer pending and writes nothing,
 * so each take finishes once; the generation service knows nothing of reels.
 */

/** What a finished job does to its reel: the change to apply, and how to announce it. */
export interface ReelProjection {
  reelId: string;
  change: ReelChange;
  sectionId?: string;
  takeId?: string;
  apply: (reel: Reel) => Reel | undefined;
}

/** The reel change a job's end makes (pure): undefined for jobs of no reel, or not ended yet. */
export function reelProjectionOf(job: Job, at: string): ReelProjection | undefined {
  const origin = job.origin;
  if (origin?.type !== 'reel' || !TERMINAL_JOB_STATUSES.includes(job.status)) return undefined;
  const video = job.outputs.video;
  const failure =
    job.status === 'cancelled'
      ? `the ${origin.sectionId && origin.takeId ? 'generation' : 'compile'} was cancelled${job.cancel?.reason ? ` (${job.cancel.reason})` : ''}`
      : (job.error?.reason ?? 'the job failed without a reason');
  if (origin.sectionId && origin.takeId) {
    const { sectionId, takeId } = origin;
    const result =
      job.status === 'completed' && video
        ? { status: 'completed' as const, output: video, poster: job.outputs.poster }
        : {
            status: 'failed' as const,
            error: job.status === 'completed' ? 'the generation finished without a video' : failure,
          };
    return {
      reelId: origin.id,
      change: result.status === 'completed' ? 'take.ready' : 'take.failed',
      sectionId,
      takeId,
      apply: (reel) => finishTake(reel, { sectionId, takeId, jobId: job.id, at, result }),
    };
  }
  const result =
    job.status === 'completed' && video
      ? { status: 'completed' as const, output: video }
      : {
          status: 'failed' as const,
          error: job.status === 'completed' ? 'the merge made no video' : failure,
        };
  return {
    reelId: origin.id,
    change: result.status === 'completed' ? 'compile.completed' : 'compile.failed',
    apply: (reel) => finishCompile(reel, { jobId: job.id, at, result }),
  };
}

/**
 * Applies a finished job to its reel and announces the change (`reel.updated`, id
 * `reel.updated:<reelId>:<revision>`). A reel that no longer exists is logged and skipped.
 */
export async function projectReel(opts: {
  reels: Pick<DocumentStore<Reel, Reel>, 'update'>;
  job: Job;
  ctx: Pick<HandlerContext, 'publish' | 'logger'>;
  at: string;
}): Promise<void> {
  const { reels, job, ctx, at } = opts;
  const p = reelProjectionOf(job, at);
  if (!p) return;
  let changed = false;
  let stored;
  try {
    stored = await reels.update(p.reelId, (reel) => {
      const next = p.apply(reel);
      changed = next !== undefined;
      return next;
    });
  } catch (err) {
    if (isDocumentNotFound(err)) {
      ctx.logger.warn({ reelId: p.reelId, jobId: job.id }, 'the reel of this job no longer exists');
      return;
    }
    throw err;
  }
  if (!changed) return;
  const take =
    p.sectionId && p.takeId
      ? stored.doc.sections.find((s) => s.id === p.sectionId)?.takes.find((t) => t.id === p.takeId)
      : undefined;
  await ctx.publish(
    'reel.updated',
    p.reelId,
    {
      reelId: p.reelId,
      revision: stored.revision,
      change: p.change,
      ...(p.sectionId ? { sectionId: p.sectionId } : {}),
      ...(p.takeId ? { takeId: p.takeId } : {}),
      ...(take ? { takeStatus: take.status } : {}),
      jobId: job.id,
    },
    { id: `reel.updated:${p.reelId}:${stored.revision}` },
  );
  ctx.logger.info({ reelId: p.reelId, change: p.change, revision: stored.revision }, 'reel updated');
}
