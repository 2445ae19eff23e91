import {
  TERMINAL_JOB_STATUSES,
  addTake,
  compilePlan,
  finishCompile,
  finishTake,
  findSection,
  isReelRuleError,
  nextTakeId,
  removeTake,
  startCompile,
  type EventDataInput,
  type EventType,
  type Principal,
  type Reel,
  type ReelChange,
  type ReelRuleError,
} from '@reelbus/contracts';
import { estimateCostUsd, type ModelRegistry } from '@reelbus/ai-generator/models';
import {
  describeError,
  isDocumentNotFound,
  isInvalidDocument,
  isRevisionConflict,
  type DocumentStore,
  type Logger,
  type StoredDocument,
} from '@reelbus/kit';
import type { IngestBus, JobStore } from '../deps.ts';
import { HttpError, type FieldIssue } from '../errors.ts';
import { newJobId } from '../ids.ts';
import type { SubmitJobRequest, SubmittedJob } from '../jobs/submit.ts';

/** The reels collection: revisioned documents over the `Reel` schema. */
export type ReelStore = DocumentStore<Reel, Reel>;

export interface ReelDeps {
  reels: ReelStore;
  jobs: Pick<JobStore, 'get'>;
  bus: IngestBus;
  models: ModelRegistry;
  logger: Logger;
  /** The one job-creating path (jobs/submit.ts): trace id, submittedBy, the key's active-jobs limit, 503 on a bus failure. */
  submitJob<T extends EventType>(req: SubmitJobRequest<T>): Promise<SubmittedJob>;
}

/** Model types a reel section may use: compile is a merge of videos. */
export const REEL_MODEL_TYPES = ['video', 'avatar'] as const;

/** `reel_<time><random>`, like job ids: sorts by creation time, unguessable tail. */
export function newReelId(now = Date.now()): string {
  return newJobId(now).replace(/^job_/, 'reel_');
}

/**
 * Checks a section's model and params against the registry: the model exists, makes a video (video or
 * avatar), and the params fit its schema (defaults filled in). Problems are named under `prefix`
 * (`sections[1]`), every one at once.
 */
export function checkSectionModel(opts: {
  models: ModelRegistry;
  model: string;
  params: Record<string, unknown>;
  prefix: string;
}): { ok: true; params: Record<string, unknown> } | { ok: false; issues: FieldIssue[] } {
  const { models, model, params, prefix } = opts;
  const at = (field: string) => (prefix ? `${prefix}.${field}` : field);
  if (!models.has(model)) {
    const videos = models
      .list()
      .filter((m) => (REEL_MODEL_TYPES as readonly string[]).includes(m.type))
      .map((m) => m.id);
    return {
      ok: false,
      issues: [
        {
          field: at('model'),
          message: `unknown model "${model}" (video and avatar models: ${videos.join(', ')})`,
        },
      ],
    };
  }
  const m = models.get(model);
  if (!(REEL_MODEL_TYPES as readonly string[]).includes(m.type)) {
    const videos = models
      .list()
      .filter((x) => (REEL_MODEL_TYPES as readonly string[]).includes(x.type))
      .map((x) => x.id);
    return {
      ok: false,
      issues: [
        {
          field: at('model'),
          message: `"${model}" makes ${m.type}; a reel section needs a video or avatar model, since compiling joins videos (${videos.join(', ')})`,
        },
      ],
    };
  }
  const checked = models.validateParams(model, params);
  if (!checked.ok)
    return { ok: false, issues: checked.issues.map((i) => ({ field: at(i.field), message: i.message })) };
  return { ok: true, params: checked.params };
}

/** A refused reel change as its HTTP answer. */
export function reelHttpError(err: ReelRuleError): HttpError {
  const statusCode = err.code === 'not_found' ? 404 : err.code === 'conflict' ? 409 : 400;
  return new HttpError({
    statusCode,
    code: err.code,
    message: err.message,
    ...(err.issues.length ? { issues: err.issues, field: err.issues[0]!.field } : {}),
  });
}

/** Store errors and reel rules as HTTP answers; anything else is rethrown. */
export function asHttpError(err: unknown, reelId: string): never {
  if (isReelRuleError(err)) throw reelHttpError(err);
  if (isDocumentNotFound(err))
    throw new HttpError({ statusCode: 404, code: 'not_found', message: `reel "${reelId}" does not exist` });
  if (isRevisionConflict(err))
    throw new HttpError({
      statusCode: 409,
      code: 'revision_conflict',
      message: `reel "${reelId}" is at revision ${err.currentRevision}, not ${err.expectedRevision} (If-Match): it changed since you read it; read it again and redo the change`,
      headers: { etag: `"${err.currentRevision}"` },
    });
  if (isInvalidDocument(err))
    throw new HttpError({
      statusCode: 400,
      code: 'invalid_input',
      message: err.message,
      issues: err.issues.map((i) => ({ field: i.path || 'body', message: i.message })),
      ...(err.issues[0] ? { field: err.issues[0].path || 'body' } : {}),
    });
  throw err;
}

/** Tells watchers (`GET /v1/reels/:id/events`, other services) that a reel changed; a failure is only logged. */
export async function announce(opts: {
  deps: Pick<ReelDeps, 'bus' | 'logger'>;
  stored: StoredDocument<Reel>;
  change: ReelChange;
  sectionId?: string | undefined;
  takeId?: string | undefined;
  jobId?: string | undefined;
  by?: Principal | undefined;
}): Promise<void> {
  const { deps, stored, change, sectionId, takeId, jobId, by } = opts;
  const take =
    sectionId && takeId
      ? stored.doc.sections.find((s) => s.id === sectionId)?.takes.find((t) => t.id === takeId)
      : undefined;
  const data: EventDataInput<'reel.updated'> = {
    reelId: stored.id,
    revision: stored.revision,
    change,
    ...(sectionId ? { sectionId } : {}),
    ...(takeId ? { takeId } : {}),
    ...(take ? { takeStatus: take.status } : {}),
    ...(jobId ? { jobId } : {}),
    ...(by ? { by: by.name } : {}),
  };
  await deps.bus
    .publish('reel.updated', stored.id, data, { id: `reel.updated:${stored.id}:${stored.revision}` })
    .catch((err: unknown) =>
      deps.logger.warn({ err, reelId: stored.id, change }, 'publishing reel.updated failed'),
    );
}

/**
 * Creates a take's generation job (kind `generation`, `origin { type: 'reel', id, sectionId, takeId }`)
 * through the one job-creating path, which publishes its `generation.requested`; throws its 503 (bus) or
 * 429 (the key's active-jobs limit) with nothing left behind.
 */
export async function queueTake(opts: {
  deps: ReelDeps;
  reelId: string;
  sectionId: string;
  takeId: string;
  jobId: string;
  model: string;
  params: Record<string, unknown>;
  callbackUrl: string | undefined;
  principal: Principal | undefined;
  /** A test run (issue 15 §4): the job is tagged and its events carry `testMode`; the section's model is kept. */
  testMode?: boolean | undefined;
}): Promise<void> {
  const { deps, reelId, sectionId, takeId, jobId, model, params, callbackUrl, principal, testMode } = opts;
  const now = new Date().toISOString();
  const origin = { type: 'reel' as const, id: reelId, sectionId, takeId };
  const data = {
    model,
    params,
    ...(callbackUrl ? { callbackUrl } : {}),
    origin,
  } satisfies EventDataInput<'generation.requested'>;
  const m = deps.models.get(model);
  await deps.submitJob({
    job: {
      id: jobId,
      kind: 'generation',
      input: data,
      // accepted here: no event of the notifier's marks the ingest step for this kind
      steps: { ingest: { status: 'completed', startedAt: now, finishedAt: now, percent: 100 } },
      cost: { backend: m.provider, estimateUsd: estimateCostUsd({ model: m, params }) },
      ...(callbackUrl ? { callbackUrl } : {}),
      origin,
    },
    event: { type: 'generation.requested', data },
    principal,
    testMode: testMode ?? false,
  });
}

/**
 * A new reel: the document with one pending take per section, then one generation job per take. A take
 * whose job cannot be queued is marked failed with the reason (the reel and the other takes stay).
 */
export async function createReel(opts: {
  deps: ReelDeps;
  title: string;
  sections: Array<{ title?: string | undefined; model: string; params: Record<string, unknown> }>;
  callbackUrl: string | undefined;
  principal: Principal | undefined;
  /** Every take's generation is a test run. */
  testMode?: boolean | undefined;
}): Promise<StoredDocument<Reel>> {
  const { deps, title, sections, callbackUrl, principal, testMode } = opts;
  const id = newReelId();
  const at = new Date().toISOString();
  const doc: Reel = {
    title,
    sections: sections.map((s, i) => ({
      id: `s${i + 1}`,
      ...(s.title ? { title: s.title } : {}),
      model: s.model,
      params: s.params,
      takes: [
        {
          id: 't1',
          jobId: newJobId(),
          params: s.params,
          status: 'pending',
          createdAt: at,
          ...(principal ? { createdBy: principal } : {}),
        },
      ],
    })),
    ...(callbackUrl ? { callbackUrl } : {}),
    ...(principal ? { createdBy: principal } : {}),
  };
  let stored = await deps.reels.create(id, doc);
  // A take whose job cannot be queued (the bus refused it, or the key reached its active-jobs limit) is
  // marked failed with the reason, to be regenerated; the takes queued before it run as asked.
  let refusal: string | undefined;
  for (const s of doc.sections) {
    const take = s.takes[0]!;
    if (!refusal) {
      try {
        await queueTake({
          deps,
          reelId: id,
          sectionId: s.id,
          takeId: take.id,
          jobId: take.jobId,
          model: s.model,
          params: take.params,
          callbackUrl,
          principal,
          testMode,
        });
        continue;
      } catch (err) {
        if (!(err instanceof HttpError)) throw err;
        refusal = err.message;
        deps.logger.warn({ reelId: id, err: describeError(err) }, 'a take of a new reel could not be queued');
      }
    }
    const reason = `not generated: ${refusal}; regenerate the section`;
    stored = await deps.reels.update(id, (reel) =>
      finishTake(reel, {
        sectionId: s.id,
        takeId: take.id,
        jobId: take.jobId,
        at: new Date().toISOString(),
        result: { status: 'failed', error: reason },
      }),
    );
  }
  await announce({ deps, stored, change: 'created', by: principal });
  return stored;
}

/** A new take of a section (its params with `changes`), generated; earlier takes stay. */
export async function regenerateSection(opts: {
  deps: ReelDeps;
  reelId: string;
  sectionId: string;
  changes: Record<string, unknown>;
  expectedRevision: number | undefined;
  principal: Principal | undefined;
  /** The take's generation is a test run. */
  testMode?: boolean | undefined;
}): Promise<{ stored: StoredDocument<Reel>; takeId: string; jobId: string }> {
  const { deps, reelId, sectionId, changes, expectedRevision, principal, testMode } = opts;
  const current = await deps.reels.get(reelId);
  if (!current)
    throw new HttpError({ statusCode: 404, code: 'not_found', message: `reel "${reelId}" does not exist` });
  let section;
  try {
    section = findSection(current.doc, sectionId);
  } catch (err) {
    asHttpError(err, reelId);
  }
  const checked = checkSectionModel({
    models: deps.models,
    model: section.model,
    params: { ...section.params, ...changes },
    prefix: '',
  });
  if (!checked.ok)
    throw new HttpError({
      statusCode: 400,
      code: 'invalid_input',
      field: checked.issues[0]!.field,
      issues: checked.issues,
      message: checked.issues.map((i) => `${i.field}: ${i.message}`).join('; '),
    });
  const jobId = newJobId();
  const at = new Date().toISOString();
  let takeId = '';
  let stored: StoredDocument<Reel>;
  try {
    stored = await deps.reels.update(
      reelId,
      (reel) => {
        takeId = nextTakeId(findSection(reel, sectionId));
        return addTake(reel, { sectionId, takeId, jobId, params: checked.params, by: principal, at });
      },
      expectedRevision !== undefined ? { expectedRevision } : {},
    );
  } catch (err) {
    asHttpError(err, reelId);
  }
  try {
    await queueTake({
      deps,
      reelId,
      sectionId,
      takeId,
      jobId,
      model: section.model,
      params: checked.params,
      callbackUrl: stored.doc.callbackUrl,
      principal,
      testMode,
    });
  } catch (err) {
    await deps.reels
      .update(reelId, (reel) => removeTake(reel, { sectionId, takeId, jobId }))
      .catch((e: unknown) =>
        deps.logger.warn({ err: e, reelId, takeId }, 'removing an unqueued take failed'),
      );
    throw err;
  }
  await announce({ deps, stored, change: 'take.added', sectionId, takeId, jobId, by: principal });
  return { stored, takeId, jobId };
}

/**
 * Compiles a reel: 409 naming every section without an approved take; otherwise records the compile
 * (compare-and-set: one compile at a time) and queues a job of kind `reel` whose `merge.requested` joins
 * the approved takes in section order. The encoder's `video.encoded` completes it (notifier), and the
 * notifier records its MP4 on the reel.
 */
export async function compileReel(opts: {
  deps: ReelDeps;
  reelId: string;
  expectedRevision: number | undefined;
  principal: Principal | undefined;
  /** The compile job is a test run. */
  testMode?: boolean | undefined;
}): Promise<{ stored: StoredDocument<Reel>; jobId: string; clips: number }> {
  const { deps, reelId, expectedRevision, principal, testMode } = opts;
  const current = await deps.reels.get(reelId);
  if (!current)
    throw new HttpError({ statusCode: 404, code: 'not_found', message: `reel "${reelId}" does not exist` });
  const notApproved = (missing: FieldIssue[]) =>
    new HttpError({
      statusCode: 409,
      code: 'not_approved',
      message: `cannot compile: ${missing.map((m) => m.message).join('; ')}`,
      field: missing[0]!.field,
      issues: missing,
    });
  const first = compilePlan(current.doc);
  if (!first.ok) throw notApproved(first.missing);
  // a compile recorded as running whose job is gone or ended was lost (a crash before queueing it)
  let staleRunning = false;
  if (current.doc.compile?.status === 'running') {
    const job = await deps.jobs.get(current.doc.compile.jobId);
    staleRunning = !job || TERMINAL_JOB_STATUSES.includes(job.status);
  }
  const jobId = newJobId();
  const at = new Date().toISOString();
  let clips: Array<{ sectionId: string; takeId: string; key: string; durationSec: number }> = [];
  let revision = 0;
  let stored: StoredDocument<Reel>;
  try {
    stored = await deps.reels.update(
      reelId,
      (reel, meta) => {
        const plan = compilePlan(reel);
        if (!plan.ok) throw notApproved(plan.missing);
        clips = plan.clips;
        revision = meta.revision;
        return startCompile(reel, {
          jobId,
          revision: meta.revision,
          takes: plan.clips.map(({ sectionId, takeId }) => ({ sectionId, takeId })),
          by: principal,
          at,
          staleRunning,
        });
      },
      expectedRevision !== undefined ? { expectedRevision } : {},
    );
  } catch (err) {
    if (err instanceof HttpError) throw err;
    asHttpError(err, reelId);
  }
  const data = { clips: clips.map((c) => ({ key: c.key })) } satisfies EventDataInput<'merge.requested'>;
  const now = new Date().toISOString();
  try {
    await deps.submitJob({
      job: {
        id: jobId,
        kind: 'reel',
        input: { reelId, revision, clips },
        steps: { ingest: { status: 'completed', startedAt: now, finishedAt: now, percent: 100 } },
        ...(stored.doc.callbackUrl ? { callbackUrl: stored.doc.callbackUrl } : {}),
        origin: { type: 'reel', id: reelId, revision },
      },
      event: { type: 'merge.requested', data },
      principal,
      testMode: testMode ?? false,
    });
  } catch (err) {
    deps.logger.error({ err: describeError(err), jobId, reelId }, 'queueing the compile failed');
    await deps.reels
      .update(reelId, (reel) =>
        finishCompile(reel, {
          jobId,
          at: new Date().toISOString(),
          result: {
            status: 'failed',
            error: `the compile could not be queued (${err instanceof Error ? err.message : String(err)}); compile again`,
          },
        }),
      )
      .catch((e: unknown) => deps.logger.warn({ err: e, reelId }, 'recording the unqueued compile failed'));
    throw err;
  }
  await announce({ deps, stored, change: 'compile.started', jobId, by: principal });
  return { stored, jobId, clips: clips.length };
}
