import { newJob, type EventType, type Job, type JobStatus, type Reel } from '@reelbus/contracts';
import {
  isJobNotFound,
  type DocumentStore,
  type HandlerContext,
  type HandlerMap,
  type HandlerOutcome,
  type JobStore,
} from '@reelbus/kit';
import { finishedBy, recordFinishedJob } from './job-metrics.ts';
import { applyEvent, kindOfEvent, notifierState, type AnyEvent } from './projection.ts';
import { projectReel } from './reels.ts';
import { deliverWebhook, type WebhookEvent, type WebhookSettings } from './webhook.ts';

/** The step the notifier's own work is reported under (in `job.failed` when a handler gives up). */
export const NOTIFY_STEP = 'notify';

/** Every event type the notifier projects into the job store: one durable consumer each. */
export const PROJECTED_TYPES = [
  'recording.received',
  'story.received',
  'audio.split',
  'audio.normalized',
  'images.converted',
  'clip.requested',
  'clip.generated',
  'timeline.ready',
  'video.encoded',
  'job.progress',
  'job.warning',
  'job.completed',
  'job.failed',
  'job.stalled',
  'job.cancelled',
] as const satisfies readonly EventType[];

/** The events after which a reel's take or compile is projected (see reels.ts). */
const REEL_ENDING_TYPES: ReadonlySet<EventType> = new Set(['job.completed', 'job.failed', 'job.cancelled']);

/**
 * Handlers the notifier runs at once: at least one per event type. Its work is small (a store
 * update, sometimes a webhook), and the kit shares the slots between the per-type consumers, so
 * fewer slots than types would leave a type waiting on the others' pulls.
 */
export function notifierConcurrency(configured: number): number {
  return Math.max(configured, PROJECTED_TYPES.length);
}

/** The tombstones of deleted jobs (`DELETE /v1/jobs/:id`): the kit's `DeletedJobs`. */
export interface DeletedJobLookup {
  get(jobId: string): Promise<unknown>;
}

export interface NotifierDeps {
  jobs: Pick<JobStore, 'create' | 'update'>;
  webhook: WebhookSettings;
  /** Reels: a take's or a compile's job ending is projected into its reel (see reels.ts). */
  reels?: Pick<DocumentStore<Reel, Reel>, 'update'> | undefined;
  clock?: () => Date;
  /** When given, an event of a deleted job does not bring its document back. */
  deleted?: DeletedJobLookup;
}

/** Thrown by `projectEvent` for an event of a job that was deleted: the handler acks it and does nothing. */
export class DeletedJobError extends Error {
  override name = 'DeletedJobError';
}

/**
 * Applies `event` to its job document, creating the document first when no job exists yet
 * (an event a bus-only publisher put on the bus), so every job has a read model. When this update
 * is the one that made the job terminal, the job's outcome is counted (see job-metrics.ts).
 */
export async function projectEvent({
  jobs,
  event,
  clock = () => new Date(),
  traceId,
  deleted,
}: {
  jobs: NotifierDeps['jobs'];
  event: AnyEvent;
  clock?: () => Date;
  deleted?: DeletedJobLookup | undefined;
  /** The event's trace (from its message headers): kept as the job's `traceId` when it has none. */
  traceId?: string | undefined;
}): Promise<Job> {
  // the status the winning compare-and-set replaced (the store calls `mutate` again on a conflict)
  let before: JobStatus | undefined;
  const mutate = (j: Job) => {
    before = j.status;
    const next = applyEvent(j, event, clock());
    if (!traceId || j.traceId) return next;
    return { ...(next ?? j), traceId };
  };
  const counted = (job: Job) => {
    const finished = finishedBy({ before, after: job, at: event.occurredAt });
    if (finished) recordFinishedJob(finished);
    return job;
  };
  try {
    return counted(await jobs.update(event.jobId, mutate));
  } catch (err) {
    if (!isJobNotFound(err)) throw err;
  }
  if (deleted && (await deleted.get(event.jobId)) !== undefined) {
    throw new DeletedJobError(`job ${event.jobId} was deleted: its ${event.type} is not projected`);
  }
  await jobs.create(jobFromEvent({ event, now: clock() }));
  return counted(await jobs.update(event.jobId, mutate));
}

/** A fresh job document for an event whose job the store does not know. */
export function jobFromEvent({ event, now }: { event: AnyEvent; now: Date }): Job {
  const { kind, certain } = kindOfEvent(event);
  return newJob(
    {
      id: event.jobId,
      kind,
      ...(event.type === 'timeline.ready' ? { input: event.data as unknown as Record<string, unknown> } : {}),
      ...(certain ? {} : { state: { notifier: { provisionalKind: true } } }),
    },
    now,
  );
}

/**
 * The notifier's handlers: every event is projected; `video.encoded` completes the job; and after
 * any event that leaves the job terminal with a `callbackUrl` and no webhook sent yet, the webhook
 * goes out (usually from the terminal event's handler; from a late `recording.received` when that
 * one brought the `callbackUrl` after the job had already failed).
 */
export function notifierHandlers({
  jobs,
  webhook,
  reels,
  clock = () => new Date(),
  deleted,
}: NotifierDeps): HandlerMap {
  const handle = async (event: AnyEvent, ctx: HandlerContext): Promise<HandlerOutcome> => {
    let job: Job;
    try {
      job = await projectEvent({ jobs, event, clock, traceId: ctx.traceId, deleted });
    } catch (err) {
      if (err instanceof DeletedJobError) return { outcome: 'skip', reason: err.message };
      throw err;
    }
    // The events that end a job: a take or compile that was cancelled must leave `pending`/`running`
    // on its reel as surely as one that completed or failed.
    if (reels && job.origin?.type === 'reel' && REEL_ENDING_TYPES.has(event.type))
      await projectReel({ reels, job, ctx, at: clock().toISOString() });
    const completion = event.type === 'video.encoded' ? await completeJob({ job, ctx }) : undefined;
    const hook = pendingWebhook(job);
    if (!hook) return completion ?? { outcome: 'ok' };
    return sendWebhook({ jobs, webhook, clock, jobId: job.id, event: hook, owner: event.id, ctx });
  };
  const handlers: Record<
    string,
    { step: string; handle: (e: AnyEvent, ctx: HandlerContext) => Promise<HandlerOutcome> }
  > = {};
  for (const type of PROJECTED_TYPES) handlers[type] = { step: NOTIFY_STEP, handle };
  return handlers as HandlerMap;
}

/** The terminal webhook this job still owes its callbackUrl, if any (cheap: no I/O). */
export function pendingWebhook(job: Job): WebhookEvent | undefined {
  if (!job.callbackUrl) return undefined;
  const event: WebhookEvent | undefined =
    job.status === 'completed'
      ? 'job.completed'
      : job.status === 'failed'
        ? 'job.failed'
        : job.status === 'cancelled'
          ? 'job.cancelled'
          : job.status === 'stalled'
            ? 'job.stalled'
            : undefined;
  if (!event) return undefined;
  if (notifierState(job).webhooks?.[event]?.done) return undefined;
  if (job.notifications.some((n) => n.event === event && n.ok)) return undefined;
  return event;
}

/**
 * The notifier owns completion of the pipelines that end in `video.encoded`: it publishes
 * `job.completed` with the video and the job's warnings, under the deterministic id
 * `job.completed:<jobId>` (JetStream drops a second publish from a redelivery).
 */
async function completeJob({ job, ctx }: { job: Job; ctx: HandlerContext }): Promise<HandlerOutcome> {
  if (job.status === 'completed') return { outcome: 'skip', reason: 'the job is already completed' };
  const video = job.outputs.video;
  if (!video) return { outcome: 'skip', reason: 'the job document has no video output' };
  await ctx.publish(
    'job.completed',
    job.id,
    {
      // Every output the job has: the video, and the named extras (`hls`, `poster`, …) video.encoded brought.
      outputs: { ...job.outputs, video },
      warnings: job.warnings,
      ...(job.fallback ? { fallback: job.fallback } : {}),
    },
    { id: `job.completed:${job.id}` },
  );
  return { outcome: 'ok' };
}

async function sendWebhook({
  jobs,
  webhook,
  clock,
  jobId,
  event,
  owner,
  ctx,
}: {
  jobs: NotifierDeps['jobs'];
  webhook: WebhookSettings;
  clock: () => Date;
  jobId: string;
  event: WebhookEvent;
  owner: string;
  ctx: HandlerContext;
}): Promise<HandlerOutcome> {
  const result = await deliverWebhook({
    jobs,
    jobId,
    event,
    owner,
    settings: webhook,
    working: () => ctx.working(),
    signal: ctx.signal,
    logger: ctx.logger,
    clock,
  });
  if (result.outcome === 'delivered') return { outcome: 'ok' };
  // Giving up is recorded on the job (notifications + a warning), never a job failure:
  // a failing receiver must not fail a finished job, nor loop through job.failed.
  return { outcome: 'skip', reason: result.reason ?? result.outcome };
}
