import { Job } from '@reelbus/contracts';
import { PermanentError } from '../errors.ts';

/** Parses a stored document; a document that no longer fits the schema is reported by job id. */
export function parseStoredJob(id: string, raw: unknown, store: string): Job {
  const res = Job.safeParse(raw);
  if (!res.success) {
    throw new PermanentError(
      `job "${id}" in the ${store} job store is not a valid job document: ${res.error.message}`,
    );
  }
  return res.data;
}

/** Validates a job before it is written (bad input is the caller's bug, so permanent). */
export function parseNewJob(job: Job, what: string): Job {
  const res = Job.safeParse(job);
  if (!res.success) throw new PermanentError(`${what}: invalid job document: ${res.error.message}`);
  return res.data;
}

/**
 * Applies `mutate` to a copy of `current` and returns the document to write, or undefined to leave it.
 * The store owns `id`, `dedupeKey` and `updatedAt` (always later than the previous one).
 */
export function applyMutation(
  current: Job,
  mutate: (job: Job) => Job | undefined,
  now = new Date(),
): Job | undefined {
  const next = mutate(structuredClone(current));
  if (next === undefined) return undefined;
  if (next.id !== current.id)
    throw new PermanentError(`job "${current.id}": an update cannot change the id (got "${next.id}")`);
  if (next.dedupeKey !== current.dedupeKey) {
    throw new PermanentError(`job "${current.id}": an update cannot change the dedupeKey`);
  }
  const prev = Date.parse(current.updatedAt);
  const at = Number.isNaN(prev) || now.getTime() > prev ? now : new Date(prev + 1);
  return parseNewJob({ ...next, updatedAt: at.toISOString() }, `update of job "${current.id}"`);
}

/** Newest first; ties broken by id so the order is stable. */
export function byCreatedDesc(a: Job, b: Job): number {
  const d = Date.parse(b.createdAt) - Date.parse(a.createdAt);
  if (d !== 0) return d;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}
