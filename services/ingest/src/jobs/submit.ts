import {
  TERMINAL_JOB_STATUSES,
  newJob,
  type EventDataInput,
  type EventType,
  type Job,
  type JobInput,
  type Principal,
} from '@reelbus/contracts';
import { currentTraceId, type Logger, type Metrics } from '@reelbus/kit';
import type { IngestBus, JobStore } from '../deps.ts';
import { HttpError } from '../errors.ts';
import type { ActiveJobs } from '../limits/active-jobs.ts';
import { countLimited } from '../limits/request-limit.ts';

/**
 * The one way a route creates a job: (take a slot under the key's active-jobs limit) → create the job
 * document (trace id, submittedBy) → publish the event that starts it → on a failure to publish,
 * remove the job, give the slot back and answer `503` with `Retry-After`. A request retried for a job
 * that already exists (same id or dedupe key) publishes again while the job is still `queued` (the
 * same event id, so JetStream drops a duplicate: this covers a crash between create and publish) and
 * nothing once it has started.
 */

/** Seconds a client should wait after a 503 from a bus that refused the event. */
export const BUS_RETRY_AFTER_SEC = 2;
/** Seconds a client should wait before submitting again when its key has too many unfinished jobs. */
export const ACTIVE_JOBS_RETRY_AFTER_SEC = 30;

export interface SubmitJobRequest<T extends EventType> {
  /** The job document's fields; status, timestamps, trace id and submittedBy are filled in here. */
  job: Pick<JobInput, 'id' | 'kind'> &
    Partial<Omit<JobInput, 'id' | 'kind' | 'status' | 'createdAt' | 'updatedAt' | 'traceId' | 'submittedBy'>>;
  /** The event that starts the work; its id defaults to `<type>:<jobId>` (deterministic). */
  event: { type: T; data: EventDataInput<T>; id?: string };
  /** The API key that asked (undefined for the Twilio webhook and other keyless routes). */
  principal: Principal | undefined;
  /**
   * A test run (issue 15 §4): the job document says so and the first event carries the envelope's
   * `testMode`, which every service copies onto what it publishes for the job.
   */
  testMode?: boolean;
}

export interface SubmitJobDeps {
  jobs: JobStore;
  bus: IngestBus;
  /** Unfinished-jobs limit per key; absent = no limit. */
  activeJobs?: { counter: ActiveJobs; limitFor: (principal: Principal) => number };
  metrics: Metrics;
  logger: Logger;
}

export interface SubmittedJob {
  job: Job;
  /** False when the request landed on a job that already existed (a retry). */
  created: boolean;
}

export const isActiveJob = (job: Job | undefined): boolean =>
  job !== undefined && !TERMINAL_JOB_STATUSES.includes(job.status);

export async function submitJob<T extends EventType>(
  deps: SubmitJobDeps,
  req: SubmitJobRequest<T>,
): Promise<SubmittedJob> {
  const { jobs, bus, activeJobs, metrics, logger } = deps;
  const { job: init, event, principal, testMode = false } = req;
  const eventId = event.id ?? `${event.type}:${init.id}`;

  // A retry of a job that exists takes no new slot: only new jobs count against the limit.
  let reserved: { keyName: string } | undefined;
  if (principal && activeJobs) {
    const limit = activeJobs.limitFor(principal);
    if (limit > 0 && !(await jobs.get(init.id))) {
      const r = await activeJobs.counter.reserve({ keyName: principal.name, jobId: init.id, limit });
      if (!r.ok) {
        countLimited(metrics, principal.name, 'active_jobs');
        throw new HttpError({
          statusCode: 429,
          code: 'too_many_active_jobs',
          message: `the API key "${principal.name}" has ${r.active} unfinished jobs, its limit (MAX_ACTIVE_JOBS_PER_KEY ${r.limit}); submit again when one has finished`,
          headers: { 'retry-after': String(ACTIVE_JOBS_RETRY_AFTER_SEC) },
        });
      }
      reserved = { keyName: principal.name };
    }
  }
  const release = async () => {
    if (!reserved) return;
    await activeJobs!.counter
      .release({ keyName: reserved.keyName, jobId: init.id })
      .catch((err: unknown) => logger.warn({ err, jobId: init.id }, 'giving back an active-job slot failed'));
  };

  let created: boolean;
  let job: Job;
  try {
    ({ created, job } = await jobs.create(
      newJob({
        ...init,
        ...(currentTraceId() ? { traceId: currentTraceId() } : {}),
        ...(principal ? { submittedBy: principal } : {}),
        ...(testMode ? { testMode: true } : {}),
      }),
    ));
  } catch (err) {
    await release();
    throw err;
  }
  if (!created && reserved && job.id !== init.id) await release();

  if (created || job.status === 'queued') {
    try {
      await bus.publish(event.type, job.id, event.data, {
        id: eventId,
        ...(job.testMode ? { testMode: true } : {}),
      });
    } catch (err) {
      // Nobody will ever work on a job whose event is not on the bus: remove it, so the client's
      // retry creates it afresh (a retry of an older queued job keeps it: its event may be out).
      logger.error({ err, jobId: job.id, type: event.type }, `publishing ${event.type} failed`);
      if (created) await jobs.delete(job.id).catch(() => undefined);
      await release();
      throw new HttpError({
        statusCode: 503,
        code: 'bus_unavailable',
        message: `cannot queue the job right now (${event.type} could not be published); try again in a few seconds`,
        headers: { 'retry-after': String(BUS_RETRY_AFTER_SEC) },
        cause: err,
      });
    }
  }
  return { job, created };
}
