// Live job state in the browser: the job document from the API, moved forward by the bus events the
// event streams deliver, so progress shows without asking the API again. The rules are the
// notifier's (services/notifier/src/projection.ts) for the fields the studio shows: everything only
// moves forward, a finished job stays finished, and completion beats failure. On every
// (re)connection the server sends the stored document again, which replaces what was folded.
import type { Envelope, JobStatus, JobView, KindSpec, StepState } from '../api/types.ts';
import { linkSecondsLeft } from '../reels/board.ts';

const TERMINAL: ReadonlySet<JobStatus> = new Set(['completed', 'failed', 'cancelled']);
export const isTerminal = (status: JobStatus): boolean => TERMINAL.has(status);

const STEP_RANK: Record<StepState['status'], number> = {
  pending: 0,
  running: 1,
  completed: 2,
  skipped: 2,
  failed: 2,
};

/** Which step a pipeline event finishes, for the events that are not `job.progress`. */
const FINISHES_STEP: Partial<Record<string, string>> = {
  'recording.received': 'ingest',
  'story.received': 'ingest',
};

/** Overall progress 0-100 as the notifier computes it: the kind's step weights times step percents. */
export function overallProgress(job: JobView, spec: KindSpec | undefined): number {
  if (job.status === 'completed') return 100;
  if (!spec) return job.progress;
  let total = 0;
  let done = 0;
  for (const s of spec.steps) {
    const step = job.steps[s.name];
    if (s.optional && !step) continue;
    total += s.weight;
    if (!step) continue;
    const pct =
      step.status === 'completed' || step.status === 'skipped'
        ? 100
        : step.status === 'running'
          ? (step.percent ?? 0)
          : 0;
    done += s.weight * pct;
  }
  const computed = total === 0 ? 0 : Math.min(99, Math.round((done / total) * 10) / 10);
  return Math.max(job.progress, computed);
}

/** `job` after `event` (a new object; `job` is not changed). Events of other jobs are ignored. */
export function foldEvent(job: JobView, event: Envelope, spec: KindSpec | undefined): JobView {
  if (event.jobId !== job.id) return job;
  const at = new Date(event.occurredAt).toISOString();
  const next: JobView = {
    ...job,
    steps: { ...job.steps },
    warnings: [...job.warnings],
    outputs: { ...job.outputs },
  };
  switch (event.type) {
    case 'job.progress':
      applyProgress(next, event, at, spec);
      markRunning(next);
      markAccepted(next, spec);
      break;
    case 'job.warning': {
      const { message } = event.data;
      if (!next.warnings.includes(message)) next.warnings.push(message);
      break;
    }
    case 'job.failed': {
      const { step, reason } = event.data;
      setStep(next, step, { status: 'failed', error: reason, finishedAt: at }, at);
      if (next.status !== 'completed') {
        next.status = 'failed';
        next.error ??= { step, reason };
      }
      break;
    }
    case 'job.completed': {
      const d = event.data;
      next.status = 'completed';
      delete next.error;
      Object.assign(next.outputs, d.outputs);
      for (const w of d.warnings ?? []) if (!next.warnings.includes(w)) next.warnings.push(w);
      if (d.fallback) next.fallback = d.fallback;
      if (d.fallbackReason) next.fallbackReason = d.fallbackReason;
      for (const [name, step] of Object.entries(next.steps)) {
        if (step.status === 'completed' || step.status === 'skipped') continue;
        const { error: _e, message: _m, ...rest } = step;
        next.steps[name] = withDuration({ ...rest, status: 'completed', percent: 100, finishedAt: at });
      }
      break;
    }
    case 'job.stalled':
      if (!isTerminal(next.status)) next.status = 'stalled';
      break;
    default: {
      const step = FINISHES_STEP[event.type];
      if (step) setStep(next, step, { status: 'completed', percent: 100, finishedAt: at }, at);
      markRunning(next);
      markAccepted(next, spec);
    }
  }
  next.progress = overallProgress(next, spec);
  if (at > next.updatedAt) next.updatedAt = at;
  return next;
}

function markRunning(job: JobView): void {
  if (job.status === 'queued' || job.status === 'stalled') job.status = 'running';
}

/**
 * Work on the job means its request was accepted: the `ingest` step is done, at the job's creation. The
 * page's stream starts after the request event (the notifier marks `ingest` when it projects that
 * event), so without this a running job would show "Ingest: pending" under running steps.
 */
function markAccepted(job: JobView, spec: KindSpec | undefined): void {
  if (!spec?.steps.some((s) => s.name === 'ingest')) return;
  const step = job.steps.ingest;
  if (step && (step.status === 'completed' || step.status === 'skipped')) return;
  setStep(job, 'ingest', { status: 'completed', percent: 100, finishedAt: job.createdAt }, job.createdAt);
}

function applyProgress(
  job: JobView,
  event: Extract<Envelope, { type: 'job.progress' }>,
  at: string,
  spec: KindSpec | undefined,
): void {
  const d = event.data;
  const status: StepState['status'] =
    d.status === 'completed' ? 'completed' : d.status === 'skipped' ? 'skipped' : 'running';
  const done = status === 'completed' || status === 'skipped';
  setStep(
    job,
    d.step,
    {
      status,
      ...(d.percent !== undefined ? { percent: d.percent } : {}),
      ...(status === 'completed' ? { percent: 100 } : {}),
      ...(d.message !== undefined ? { message: d.message } : {}),
      ...(d.attempt !== undefined ? { attempts: d.attempt } : {}),
      ...(done ? { finishedAt: at } : {}),
    },
    at,
  );
  if (
    d.phase === undefined &&
    d.chunks === undefined &&
    d.frames === undefined &&
    d.etaSec === undefined &&
    d.message === undefined
  )
    return;
  const prev = job.progressDetail ?? {};
  const phases = spec?.phases ?? [];
  const phase =
    d.phase !== undefined &&
    (prev.phase === undefined || phases.indexOf(d.phase) >= phases.indexOf(prev.phase))
      ? d.phase
      : prev.phase;
  job.progressDetail = {
    ...prev,
    ...(phase !== undefined ? { phase } : {}),
    ...(d.message !== undefined ? { message: d.message } : {}),
    ...(d.chunks ? { chunks: maxCount(prev.chunks, d.chunks) } : {}),
    ...(d.frames ? { frames: maxCount(prev.frames, d.frames) } : {}),
    ...(d.etaSec !== undefined ? { etaSec: d.etaSec } : {}),
    updatedAt: at,
  };
}

function maxCount(
  a: { done: number; total: number } | undefined,
  b: { done: number; total: number },
): { done: number; total: number } {
  return a ? { done: Math.max(a.done, b.done), total: Math.max(a.total, b.total) } : b;
}

/** Moves a step forward (never back): status by rank, percent up, earliest start, last finish. */
function setStep(job: JobView, name: string, patch: Partial<StepState>, at: string): void {
  const prev: StepState = job.steps[name] ?? { status: 'pending' };
  const status =
    patch.status && STEP_RANK[patch.status] >= STEP_RANK[prev.status] && !isFinalStep(prev)
      ? patch.status
      : prev.status;
  const next: StepState = { ...prev, status };
  next.startedAt = prev.startedAt !== undefined && prev.startedAt < at ? prev.startedAt : at;
  if (patch.percent !== undefined) next.percent = Math.max(prev.percent ?? 0, patch.percent);
  if (patch.message !== undefined) next.message = patch.message;
  if (patch.attempts !== undefined) next.attempts = Math.max(prev.attempts ?? 0, patch.attempts);
  if (patch.error !== undefined && status === 'failed') next.error = patch.error;
  if (patch.finishedAt !== undefined && status === patch.status) next.finishedAt = patch.finishedAt;
  job.steps[name] = withDuration(next);
}

/** A completed or skipped step stays so (a failed one may still complete after a retry). */
function isFinalStep(step: StepState): boolean {
  return step.status === 'completed' || step.status === 'skipped';
}

function withDuration(step: StepState): StepState {
  if (!step.startedAt || !step.finishedAt) return step;
  return { ...step, durationMs: Math.max(0, Date.parse(step.finishedAt) - Date.parse(step.startedAt)) };
}

/**
 * The job document from a fresh GET merged with what the studio already folded: the document wins,
 * except that nothing moves back (a finished status, a higher progress, a step further along), because
 * the notifier may not have stored the newest event yet when the document was read.
 */
export function mergeDocument(folded: JobView | undefined, fetched: JobView, nowMs = Date.now()): JobView {
  if (!folded || folded.id !== fetched.id) return fetched;
  const out: JobView = {
    ...fetched,
    steps: { ...fetched.steps },
    outputs: { ...folded.outputs, ...fetched.outputs },
    ...(fetched.links ? { links: keepSignedLinks(folded.links, fetched.links, nowMs) } : {}),
  };
  if (isTerminal(folded.status) && !isTerminal(fetched.status)) {
    out.status = folded.status;
    if (folded.error && !out.error) out.error = folded.error;
  }
  out.progress = Math.max(folded.progress, fetched.progress);
  for (const [name, step] of Object.entries(folded.steps)) {
    const theirs = out.steps[name];
    if (!theirs || STEP_RANK[step.status] > STEP_RANK[theirs.status]) out.steps[name] = step;
  }
  for (const w of folded.warnings) if (!out.warnings.includes(w)) out.warnings = [...out.warnings, w];
  return out;
}

/** A signed link that still works this long is kept rather than replaced by a freshly signed one. */
const KEEP_LINK_MIN_SEC = 300;

/**
 * `next` with the signed links of `prev` kept where they point at the same file and still work for a
 * while: every read of the job signs fresh links, and a `<video>` whose `src` changes reloads, stopping
 * whoever pressed play (the page reads the document again when the job ends).
 */
function keepSignedLinks(
  prev: JobView['links'],
  next: NonNullable<JobView['links']>,
  nowMs: number,
): NonNullable<JobView['links']> {
  if (!prev) return next;
  const out = { ...next };
  for (const name of ['video', 'poster', 'audio'] as const) {
    const old = prev[name];
    const cur = next[name];
    if (old && cur && samePath(old, cur) && linkSecondsLeft(old, nowMs) > KEEP_LINK_MIN_SEC) out[name] = old;
  }
  return out;
}

function samePath(a: string, b: string): boolean {
  try {
    return new URL(a, 'http://base.invalid').pathname === new URL(b, 'http://base.invalid').pathname;
  } catch {
    return false;
  }
}
