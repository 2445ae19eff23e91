// The live job list's state: every job the page knows (a shadow of the store, fed by the first
// `GET /v1/jobs`, by one `GET /v1/jobs/:id` per job it had not seen, and by the events), and the
// rows it shows (those that match the filter, newest first). Pure functions, unit-tested.
import type { Envelope, JobKind, JobStatus, JobView, KindSpec } from '../api/types.ts';
import { foldEvent, mergeDocument } from './fold.ts';

export interface JobFilter {
  status?: JobStatus | undefined;
  kind?: JobKind | undefined;
}

/** Jobs known beyond this many (oldest first) are forgotten, so a long session stays small. */
export const MAX_KNOWN = 500;

export const matchesFilter = (job: JobView, f: JobFilter): boolean =>
  (!f.status || job.status === f.status) && (!f.kind || job.kind === f.kind);

const newestFirst = (a: JobView, b: JobView) =>
  a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1;

/** `known` with `docs` added (merged with what was folded for them, so nothing moves back). */
export function addDocuments(known: ReadonlyMap<string, JobView>, docs: JobView[]): Map<string, JobView> {
  const out = new Map(known);
  for (const doc of docs) out.set(doc.id, mergeDocument(out.get(doc.id), doc));
  if (out.size <= MAX_KNOWN) return out;
  const keep = [...out.values()].sort(newestFirst).slice(0, MAX_KNOWN);
  return new Map(keep.map((j) => [j.id, j]));
}

/**
 * `known` after `event`: the event's job folded forward, or `unknown: true` when the page has not
 * seen that job yet (the caller reads it once).
 */
export function applyEvent(
  known: ReadonlyMap<string, JobView>,
  event: Envelope,
  kinds: Record<string, KindSpec>,
): { known: ReadonlyMap<string, JobView>; unknown: boolean } {
  const job = known.get(event.jobId);
  if (!job) return { known, unknown: true };
  const next = foldEvent(job, event, kinds[job.kind]);
  if (next === job) return { known, unknown: false };
  const out = new Map(known);
  out.set(job.id, next);
  return { known: out, unknown: false };
}

/** The rows to show: matching jobs, newest first, at most `limit`. */
export function visibleJobs(
  known: ReadonlyMap<string, JobView>,
  filter: JobFilter,
  limit: number,
): JobView[] {
  return [...known.values()]
    .filter((j) => matchesFilter(j, filter))
    .sort(newestFirst)
    .slice(0, limit);
}
