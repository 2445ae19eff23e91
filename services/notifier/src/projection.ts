import {
  jobKind,
  phaseRank,
  progressWeights,
  TERMINAL_JOB_STATUSES,
  type EventOf,
  type EventType,
  type Job,
  type JobKind,
  type StepState,
} from '@reelbus/contracts';
import { isDeepStrictEqual } from 'node:util';

/**
 * The job document as a projection of events (the read model).
 *
 * Rules, each with a table-driven test in projection.test.ts:
 * - Pure: same job + same event → same result. Times come from `event.occurredAt` (when the fact
 *   happened, identical on every redelivery), never from the clock, so applying an event twice equals
 *   applying it once; a second application returns `undefined` ("no change", the store skips the write).
 * - Order-free: per-type consumers do not preserve order across types, so every field only moves
 *   forward: a step goes pending → running → completed|skipped|failed and never back, `percent` and
 *   the overall `progress` never decrease, `startedAt` is the earliest start seen, warnings are a set.
 * - Terminal job statuses are final: nothing moves a completed or failed job back to running, and
 *   a late `job.progress` only fills in step details.
 * - Completed beats failed, in either order. A `job.completed` means the outputs exist: after a
 *   `job.failed` it is a recovery (an operator replayed the failed step from the dead-letter stream
 *   and the job finished after all: the error is cleared), before one the failure is a stale
 *   redelivery and is ignored. (Comparing `occurredAt` instead would let a stale failure, stamped
 *   later by a redelivered message, take back a video that was already announced; and would make
 *   the result depend on arrival order.) Between two failures the earliest (the root cause) is the
 *   job's `error`; each failure still marks its own step failed.
 * - Cancelled (`job.cancelled`) is final too: it stops a job that has not ended (its running steps
 *   become skipped); a completed or failed job stays as it was, and a `job.completed` or `job.failed`
 *   arriving after the cancel changes nothing (the job ends once, with one webhook).
 * - `finishedAt` is the time of the event that moved the job into its terminal status.
 * - In a completed job every step is completed (steps still running when `job.completed` landed, and
 *   steps a late event reports, finish at the completion time), so arrival order does not matter.
 */

/** The notifier's own bookkeeping in `job.state.notifier` (other services own other keys). */
export interface NotifierState {
  /** Roles whose `clip.generated` arrived, with its `occurredAt`. */
  clips?: Record<string, string>;
  /** `expectedClips` as the clip events announced it. */
  expectedClips?: number;
  /** `occurredAt` of the `job.completed` / `job.failed` that decided the status. */
  completedAt?: string;
  failedAt?: string;
  /** Ids of those events: the webhook's Reelbus-Event-Id. */
  completedEventId?: string;
  failedEventId?: string;
  /** `occurredAt` and id of the `job.cancelled` that cancelled the job. */
  cancelledAt?: string;
  cancelledEventId?: string;
  /** Set by the stuck-job watchdog when it marked the job stalled: when, the `job.stalled` event id, the step. */
  stalledAt?: string;
  stalledEventId?: string;
  stalledStep?: string;
  /** The job was created by the notifier from an event that does not say its kind; the next one that does fixes it. */
  provisionalKind?: boolean;
  /** Webhook delivery claims and results per terminal event (see webhook.ts). */
  webhooks?: Record<string, WebhookState>;
  /** Frames each chunk of a chunked render reported (summed into `progressDetail.frames`). */
  chunkFrames?: Record<string, number>;
}

export interface WebhookState {
  /** Who is delivering now, and until when the claim holds. */
  owner?: string;
  until?: string;
  /** Delivery finished: delivered (`ok`) or given up. Never sent again. */
  done?: boolean;
  ok?: boolean;
}

/** Any one event, as a union discriminated by `type` (EventOf<EventType> is not distributive). */
export type AnyEvent = { [T in EventType]: EventOf<T> }[EventType];

const STATE_KEY = 'notifier';

export function notifierState(job: Job): NotifierState {
  const s = job.state[STATE_KEY];
  return s && typeof s === 'object' ? (s as NotifierState) : {};
}

/** The kind of job an event implies, and whether the event is authoritative about it. */
export function kindOfEvent(anyEvent: AnyEvent | EventOf<EventType>): { kind: JobKind; certain: boolean } {
  const event = anyEvent as AnyEvent;
  switch (event.type) {
    case 'recording.received':
      return { kind: 'call', certain: true };
    case 'story.received':
      return { kind: 'story', certain: true };
    case 'timeline.ready':
      return { kind: event.data.kind, certain: true };
    case 'audio.split':
    case 'clip.requested':
    case 'clip.generated':
      return { kind: 'call', certain: false };
    case 'audio.normalized':
    case 'images.converted':
      return { kind: 'story', certain: false };
    default:
      return { kind: 'render', certain: false };
  }
}

/**
 * The job document after `event`, or `undefined` when the event changes nothing
 * (a duplicate, or a stale event on a finished job). Pure; `now` is not used for any field a
 * redelivery could change (see the rules above) and is only kept for callers' symmetry with the store.
 */
export function applyEvent(job: Job, event: AnyEvent | EventOf<EventType>, _now: Date): Job | undefined {
  const next = structuredClone(job);
  reduce(next, event as AnyEvent);
  next.progress = overallProgress(next);
  const before = { ...job, updatedAt: '' };
  const after = { ...next, updatedAt: '' };
  return isDeepStrictEqual(before, after) ? undefined : next;
}

function reduce(job: Job, event: AnyEvent): void {
  // Normalised to UTC with milliseconds, so times compare as strings whatever offset a publisher used.
  const at = new Date(event.occurredAt).toISOString();
  fixKind(job, event);
  if (event.testMode && !job.testMode) job.testMode = true;
  project(job, event, at);
  settleCompleted(job);
  markFinished(job);
}

/**
 * `finishedAt` (what retention counts from) is the time of the event that decided the terminal
 * status (the completion, the root-cause failure, the cancel), so it is the same in any arrival order.
 */
function markFinished(job: Job): void {
  const s = notifierState(job);
  const at =
    job.status === 'completed'
      ? s.completedAt
      : job.status === 'failed'
        ? s.failedAt
        : job.status === 'cancelled'
          ? s.cancelledAt
          : undefined;
  if (at) job.finishedAt = at;
  else delete job.finishedAt;
}

/** In a completed job every step is finished, whatever arrived late (keeps the result order-free). */
function settleCompleted(job: Job): void {
  if (job.status !== 'completed') return;
  const at = notifierState(job).completedAt;
  if (!at) return;
  for (const [name, step] of Object.entries(job.steps)) {
    if (step.status === 'completed' || step.status === 'skipped') continue;
    const { error: _e, message: _m, ...rest } = step;
    job.steps[name] = withDuration({
      ...rest,
      status: 'completed',
      percent: 100,
      finishedAt: at,
    });
  }
}

function minTime(a: string | undefined, b: string): string {
  return a !== undefined && a < b ? a : b;
}

function project(job: Job, event: AnyEvent, at: string): void {
  switch (event.type) {
    case 'recording.received':
    case 'story.received': {
      const e = event;
      if (!job.callbackUrl && e.data.callbackUrl) job.callbackUrl = e.data.callbackUrl;
      if (Object.keys(job.input).length === 0) job.input = e.data as Record<string, unknown>;
      completeStep(job, 'ingest', at);
      markRunning(job);
      return;
    }
    case 'audio.split':
      completeStep(job, 'split', at);
      markRunning(job);
      return;
    case 'audio.normalized':
      completeStep(job, 'normalize', at);
      markRunning(job);
      return;
    case 'images.converted':
      completeStep(job, 'images', at);
      markRunning(job);
      return;
    case 'clip.requested': {
      const e = event;
      updateState(job, (s) => ({
        ...s,
        expectedClips: Math.max(s.expectedClips ?? 0, e.data.expectedClips),
      }));
      startStep(job, 'generate', at);
      markRunning(job);
      applyClipProgress(job);
      return;
    }
    case 'clip.generated': {
      const e = event;
      updateState(job, (s) => {
        const clips = { ...s.clips };
        const seen = clips[e.data.role];
        clips[e.data.role] = seen && seen < at ? seen : at;
        return {
          ...s,
          clips: sortKeys(clips),
          expectedClips: Math.max(s.expectedClips ?? 0, e.data.expectedClips),
        };
      });
      if (e.data.placeholder && e.data.warning) addWarning(job, e.data.warning);
      markRunning(job);
      applyClipProgress(job);
      return;
    }
    case 'timeline.ready':
      completeStep(job, 'compose', at);
      markRunning(job);
      return;
    case 'video.encoded': {
      const d = event.data;
      // Merges and reel compiles make their MP4 in the `merge` step; everything else in `encode`.
      completeStep(job, job.kind === 'merge' || job.kind === 'reel' ? 'merge' : 'encode', at);
      job.outputs = {
        ...job.outputs,
        ...d.outputs,
        video: {
          ...job.outputs.video,
          key: d.key,
          durationSec: d.durationSec,
          sizeBytes: d.sizeBytes,
          width: d.width,
          height: d.height,
          contentType: 'video/mp4',
          ...(d.videoCount !== undefined ? { videoCount: d.videoCount } : {}),
        },
      };
      job.cost = {
        ...job.cost,
        backend: d.backend,
        ...(d.cpuSeconds !== undefined ? { cpuSeconds: d.cpuSeconds } : {}),
        ...(d.costUsd !== undefined ? { estimateUsd: d.costUsd } : {}),
      };
      markRunning(job);
      return;
    }
    case 'job.progress': {
      const d = event.data;
      if (d.status === 'started') startStep(job, d.step, at);
      else if (d.status === 'running') startStep(job, d.step, undefined);
      else if (d.status === 'completed') completeStep(job, d.step, at);
      else skipStep(job, d.step, at);
      const step = job.steps[d.step];
      if (step && step.status === 'running' && d.percent !== undefined) {
        step.percent = Math.max(step.percent ?? 0, d.percent);
      }
      if (step && d.status !== 'completed' && step.status === 'running' && d.message !== undefined)
        step.message = d.message;
      if (step && d.attempt !== undefined) step.attempts = Math.max(step.attempts ?? 0, d.attempt);
      applyDetail(job, d, at);
      applyChunkPercent(job, d);
      markRunning(job);
      return;
    }
    case 'job.warning':
      addWarning(job, event.data.message);
      return;
    case 'job.completed': {
      const d = event.data;
      // Cancelled is final: a completion racing the cancel does not bring the job back (one webhook).
      if (job.status === 'cancelled') return;
      if (job.status !== 'completed') {
        // Completed always wins over failed: the outputs exist (see the rules above).
        job.status = 'completed';
        delete job.error;
      }
      // Merged field by field: the video.encoded facts (width, height, contentType) and these agree.
      for (const [name, output] of Object.entries(d.outputs)) {
        if (output) job.outputs[name] = { ...job.outputs[name], ...output };
      }
      for (const w of d.warnings) addWarning(job, w);
      if (d.fallback) job.fallback = d.fallback;
      if (d.fallbackReason) {
        job.fallbackReason = d.fallbackReason;
        addWarning(job, d.fallbackReason);
      }
      completeStep(job, 'notify', at);
      // The outputs exist: a kind with phases shows its last one (`complete`) even when the worker's
      // own last report is still on its way (or was never sent).
      const lastPhase = jobKind(job.kind).phases.at(-1);
      if (lastPhase !== undefined)
        job.progressDetail = { ...job.progressDetail, phase: lastPhase, etaSec: 0 };
      updateState(job, (st) =>
        st.completedAt !== undefined &&
        (st.completedAt < at || (st.completedAt === at && (st.completedEventId ?? '') <= event.id))
          ? st
          : { ...st, completedAt: at, completedEventId: event.id },
      );
      return;
    }
    case 'job.failed': {
      const d = event.data;
      if (job.status === 'completed' || job.status === 'cancelled') return;
      const s = notifierState(job);
      const step = job.steps[d.step] ?? { status: 'pending' };
      const newer = step.status === 'failed' && step.finishedAt !== undefined && step.finishedAt <= at;
      if (step.status !== 'completed' && step.status !== 'skipped' && !newer) {
        job.steps[d.step] = withDuration({
          ...step,
          status: 'failed',
          error: d.reason,
          finishedAt: minTime(step.status === 'failed' ? step.finishedAt : undefined, at),
          ...(d.attempts !== undefined ? { attempts: Math.max(step.attempts ?? 0, d.attempts) } : {}),
        });
      }
      // The earliest failure is the root cause; later ones only mark their own step.
      if (job.status !== 'failed' || !s.failedAt || at < s.failedAt) {
        job.status = 'failed';
        job.error = { step: d.step, reason: d.reason };
        updateState(job, (st) => ({ ...st, failedAt: at, failedEventId: event.id }));
      }
      return;
    }
    case 'job.cancelled': {
      const d = event.data;
      // A job that already ended keeps its outcome: there was nothing left to stop.
      if (job.status === 'completed' || job.status === 'failed') return;
      job.status = 'cancelled';
      job.cancel = {
        requestedAt: job.cancel?.requestedAt && job.cancel.requestedAt < at ? job.cancel.requestedAt : at,
        ...(d.by !== undefined ? { by: d.by } : {}),
        ...(d.reason !== undefined ? { reason: d.reason } : {}),
      };
      for (const [name, step] of Object.entries(job.steps)) {
        if (step.status === 'running') job.steps[name] = { ...step, status: 'skipped', finishedAt: at };
      }
      updateState(job, (st) =>
        st.cancelledAt !== undefined ? st : { ...st, cancelledAt: at, cancelledEventId: event.id },
      );
      return;
    }
    default:
      return;
  }
}

const TERMINAL_STEP = new Set<StepState['status']>(['completed', 'skipped', 'failed']);
const TERMINAL_JOB = new Set<Job['status']>(TERMINAL_JOB_STATUSES);

function markRunning(job: Job): void {
  if (!TERMINAL_JOB.has(job.status)) job.status = 'running';
}

/** pending → running; sets `startedAt` to the earliest start seen (`at` undefined: status only). */
function startStep(job: Job, name: string, at: string | undefined): void {
  const step = job.steps[name] ?? { status: 'pending' };
  const startedAt = at && (!step.startedAt || at < step.startedAt) ? at : step.startedAt;
  const status = TERMINAL_STEP.has(step.status) ? step.status : 'running';
  job.steps[name] = withDuration({ ...step, status, ...(startedAt ? { startedAt } : {}) });
}

/**
 * → completed at `at` (percent 100). A failed step completes only when `at` is after its failure
 * (a replay succeeded); a completed or skipped step keeps its first finish.
 */
function completeStep(job: Job, name: string, at: string): void {
  const step = job.steps[name] ?? { status: 'pending' };
  if (step.status === 'completed' || step.status === 'skipped') {
    if (step.finishedAt && at < step.finishedAt) job.steps[name] = withDuration({ ...step, finishedAt: at });
    return;
  }
  if (step.status === 'failed' && !(step.finishedAt && at > step.finishedAt)) return;
  const { error: _error, message: _message, ...rest } = step;
  job.steps[name] = withDuration({ ...rest, status: 'completed', percent: 100, finishedAt: at });
}

function skipStep(job: Job, name: string, at: string): void {
  const step = job.steps[name] ?? { status: 'pending' };
  if (TERMINAL_STEP.has(step.status)) return;
  job.steps[name] = { ...step, status: 'skipped', finishedAt: at };
}

function withDuration(step: StepState): StepState {
  if (step.status !== 'completed' && step.status !== 'failed') return step;
  if (!step.startedAt || !step.finishedAt) return step;
  const ms = Date.parse(step.finishedAt) - Date.parse(step.startedAt);
  return ms >= 0 ? { ...step, durationMs: ms } : step;
}

/** The generate step follows the clips: running with percent = arrived / expected, completed when all arrived. */
function applyClipProgress(job: Job): void {
  const s = notifierState(job);
  const arrived = Object.values(s.clips ?? {});
  if (arrived.length === 0) return;
  const expected = s.expectedClips ?? arrived.length;
  if (arrived.length >= expected) {
    const last = arrived.reduce((a, b) => (a > b ? a : b));
    completeStep(job, 'generate', last);
    return;
  }
  startStep(job, 'generate', undefined);
  const step = job.steps.generate;
  if (step && step.status === 'running') {
    step.percent = Math.max(step.percent ?? 0, Math.floor((arrived.length / expected) * 100));
  }
}

function addWarning(job: Job, message: string): void {
  if (!job.warnings.includes(message)) job.warnings.push(message);
}

function updateState(job: Job, fn: (s: NotifierState) => NotifierState): void {
  job.state = { ...job.state, [STATE_KEY]: fn(notifierState(job)) };
}

function fixKind(job: Job, event: AnyEvent): void {
  const s = notifierState(job);
  if (!s.provisionalKind) return;
  const { kind, certain } = kindOfEvent(event);
  if (!certain) return;
  job.kind = kind;
  updateState(job, ({ provisionalKind: _p, ...rest }) => rest);
}

function sortKeys<V>(o: Record<string, V>): Record<string, V> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Overall progress, 0-100: the weighted sum of step percents (completed/skipped = 100, running = its
 * percent, pending/failed = 0) over the steps the job's kind declares (`JOB_KINDS` in contracts;
 * optional steps count once the document shows them). Never decreases; 100 only once the job completed.
 */
export function overallProgress(job: Job): number {
  if (job.status === 'completed') return 100;
  const weights = progressWeights(job.kind, new Set(Object.keys(job.steps)));
  let total = 0;
  let done = 0;
  for (const [name, weight] of Object.entries(weights)) {
    total += weight;
    const step = job.steps[name];
    if (!step) continue;
    const pct =
      step.status === 'completed' || step.status === 'skipped'
        ? 100
        : step.status === 'running'
          ? (step.percent ?? 0)
          : 0;
    done += weight * pct;
  }
  const computed = total === 0 ? 0 : Math.min(99, Math.round((done / total) * 10) / 10);
  return Math.max(job.progress, computed);
}

/**
 * Folds a `job.progress`'s detail into `progressDetail`, order-free: the phase only moves forward
 * through the kind's phases, counts never decrease, a chunk's frames are its highest report and the
 * frames done are their sum; the message and the time left come from the newest report.
 */
function applyDetail(job: Job, d: EventOf<'job.progress'>['data'], at: string): void {
  if (
    d.phase === undefined &&
    d.chunks === undefined &&
    d.frames === undefined &&
    d.chunk === undefined &&
    d.etaSec === undefined
  )
    return;
  const prev = job.progressDetail ?? {};
  const next = { ...prev };
  const newest = !prev.updatedAt || prev.updatedAt <= at;
  if (d.phase !== undefined) {
    const rank = phaseRank(job.kind, d.phase);
    const prevRank = prev.phase === undefined ? -2 : phaseRank(job.kind, prev.phase);
    if (prev.phase === undefined || rank > prevRank || (rank === -1 && prevRank === -1 && newest))
      next.phase = d.phase;
  }
  if (d.message !== undefined && newest) next.message = d.message;
  if (d.etaSec !== undefined && newest) next.etaSec = d.etaSec;
  if (d.chunks) next.chunks = maxCount(prev.chunks, d.chunks);
  if (d.frames) next.frames = maxCount(next.frames, d.frames);
  if (d.chunk) {
    const key = String(d.chunk.index);
    const frames = d.chunk.frames;
    updateState(job, (st) => {
      const chunkFrames = { ...st.chunkFrames };
      chunkFrames[key] = Math.max(chunkFrames[key] ?? 0, frames);
      return { ...st, chunkFrames: sortKeys(chunkFrames) };
    });
    const sum = Object.values(notifierState(job).chunkFrames ?? {}).reduce((a, b) => a + b, 0);
    next.frames = maxCount(next.frames, { done: sum, total: next.frames?.total ?? 0 });
  }
  next.updatedAt = newest ? at : (prev.updatedAt ?? at);
  job.progressDetail = next;
}

/**
 * A chunked render's step follows the frames its chunks reported (summed in `progressDetail.frames`):
 * chunk workers each know only their own chunk, so none of them can say the step's percent. Rendering
 * is 95 % of it (the join is a stream copy); the percent never decreases.
 */
function applyChunkPercent(job: Job, d: EventOf<'job.progress'>['data']): void {
  const step = job.steps[d.step];
  const frames = job.progressDetail?.frames;
  if (!d.chunk || !step || step.status !== 'running' || !frames || frames.total <= 0) return;
  step.percent = Math.max(step.percent ?? 0, Math.min(95, Math.floor((95 * frames.done) / frames.total)));
}

function maxCount(
  a: { done: number; total: number } | undefined,
  b: { done: number; total: number },
): { done: number; total: number } {
  return a ? { done: Math.max(a.done, b.done), total: Math.max(a.total, b.total) } : { ...b };
}
