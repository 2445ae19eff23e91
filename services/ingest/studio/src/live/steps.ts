import type { JobView, KindSpec, StepState } from '../api/types.ts';

export interface StepRow {
  name: string;
  description: string | undefined;
  state: StepState;
}

/**
 * The steps a job page lists: the kind's steps in their order (required ones even before they start;
 * optional ones once the job shows them), then any other step the job reports.
 */
export function stepRows(job: JobView, spec: KindSpec | undefined): StepRow[] {
  const rows: StepRow[] = [];
  const listed = new Set<string>();
  for (const s of spec?.steps ?? []) {
    const state = job.steps[s.name];
    if (!state && s.optional) continue;
    rows.push({ name: s.name, description: s.description, state: state ?? { status: 'pending' } });
    listed.add(s.name);
  }
  for (const [name, state] of Object.entries(job.steps)) {
    if (!listed.has(name)) rows.push({ name, description: undefined, state });
  }
  return rows;
}

/** How long a step took, or has been running for (`now`); undefined before it starts. */
export function stepElapsedMs(step: StepState, now: number): number | undefined {
  if (step.durationMs !== undefined) return step.durationMs;
  if (!step.startedAt) return undefined;
  const end = step.finishedAt ? Date.parse(step.finishedAt) : now;
  return Math.max(0, end - Date.parse(step.startedAt));
}
