import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  TERMINAL_JOB_STATUSES,
  type EventOf,
  type EventType,
  type Job,
  type MediaOutput,
} from '@reelbus/contracts';
import {
  TransientError,
  describeError,
  isBlobNotFound,
  isJobCancelled,
  metrics,
  withTempDir,
  type BlobStore,
  type HandlerContext,
  type HandlerOutcome,
  type JobStore,
} from '@reelbus/kit';
import { actualCostUsd, estimateCostUsd, type RunFacts } from '../models/pricing.ts';
import { buildProviderInput, outputUrls } from '../models/input.ts';
import { UnknownModelError, type ModelRegistry } from '../models/registry.ts';
import type { Model, ProviderName } from '../models/types.ts';
import { signWebhookToken } from '../models/webhook-token.ts';
import { downloadOutput, storeOutputs } from './store-outputs.ts';
import {
  isProviderError,
  type DirectResult,
  type GenerationProvider,
  type ProducedFile,
  type RemoteProvider,
  type RemoteState,
} from './types.ts';

/** Metric names of generations (per model and provider). */
export const GENERATION_METRIC = {
  started: 'reelbus_generations_started_total',
  completed: 'reelbus_generations_completed_total',
  failed: 'reelbus_generations_failed_total',
  seconds: 'reelbus_generation_processing_seconds',
  webhookLatency: 'reelbus_generation_webhook_latency_seconds',
  cost: 'reelbus_generation_cost_usd_total',
} as const;

export interface PollSettings {
  /** First status poll after submitting (longer when webhooks are on: they usually arrive first). */
  initialMs: number;
  /** Longest wait between polls (the wait grows ×1.5 from `initialMs`). */
  maxMs: number;
  /** A run still going after this long is cancelled and the job fails. */
  timeoutMs: number;
  /** Consecutive failed polls (network, 5xx) before the message is handed back for a later retry. */
  maxErrors: number;
}

export interface GenerationDeps {
  registry: ModelRegistry;
  providers: Partial<Record<ProviderName, GenerationProvider>>;
  blobs: BlobStore;
  jobs: Pick<JobStore, 'get' | 'update'>;
  /** A live view of one job's events (the kit bus's `watchJob`): wakes a poll loop when a webhook finished the job. */
  watchJob?: (jobId: string, onEvent: (e: EventOf<EventType>) => void) => { stop(): void };
  /** Where providers send webhooks (ingest's PUBLIC_BASE_URL) and the secret that signs the job id in them. */
  webhooks?: { baseUrl: string; secret: string } | undefined;
  poll: PollSettings;
  /** Submit retries (429, 5xx, timeouts) and their first delay (doubling). */
  retries: number;
  retryBaseMs: number;
  tmpDir: string;
  /** Who finishes a run (in the claim): this process. */
  instance: string;
  clock?: () => Date;
}

/** What the ai-generator keeps in `job.state.generation`. */
export interface GenerationState {
  model: string;
  provider: string;
  /** The provider's id of the run (remote providers), once submitted. */
  requestId?: string;
  submittedAt?: string;
  /** Who is finishing the run (storing the output, completing the job), until when. */
  finish?: { by: string; until: string };
  /** The job.completed for this run was published. */
  done?: boolean;
}

export function generationState(job: Job | undefined): GenerationState | undefined {
  const s = job?.state.generation;
  return s && typeof s === 'object' ? (s as GenerationState) : undefined;
}

const TERMINAL = new Set<string>(TERMINAL_JOB_STATUSES);
const FINISH_LEASE_MS = 10 * 60_000;

/** The webhook URL a provider is given for this job: ingest's route, with the job id and its signature. */
export function providerWebhookUrl(opts: {
  baseUrl: string;
  secret: string;
  provider: 'replicate' | 'fal';
  jobId: string;
}): string {
  const { baseUrl, secret, provider, jobId } = opts;
  const token = signWebhookToken({ secret, provider, jobId });
  return `${baseUrl.replace(/\/+$/, '')}/v1/webhooks/${provider}?job=${encodeURIComponent(jobId)}&token=${token}`;
}

/** The next wait between polls: ×1.5, at most `maxMs`. */
export function nextPollDelay(opts: { previousMs: number; settings: PollSettings }): number {
  return Math.min(opts.settings.maxMs, Math.round(opts.previousMs * 1.5));
}

/**
 * Inside a compare-and-set: takes the right to finish the run for `claimant` unless the job already ended,
 * the run is done, or someone else holds an unexpired claim. Returns whether `claimant` holds it now.
 */
export function claimFinish(job: Job, claimant: string, now: Date): boolean {
  if (TERMINAL.has(job.status)) return false;
  const st = generationState(job);
  if (!st || st.done) return false;
  if (st.finish && st.finish.by !== claimant && st.finish.until > now.toISOString()) return false;
  job.state.generation = {
    ...st,
    finish: { by: claimant, until: new Date(now.getTime() + FINISH_LEASE_MS).toISOString() },
  };
  return true;
}

const labels = (m: Model) => ({ model: m.id, provider: m.provider });

/**
 * generation.requested → one run of the model: a direct provider (local, ElevenLabs) runs to the end here;
 * a remote one (Replicate, fal) is submitted once (the request id is kept on the job, so a redelivery
 * resumes instead of paying twice) with a webhook, then polled with a growing wait until the webhook or a
 * poll says it ended. Whoever sees the end first claims it (compare-and-set) and stores the output: one
 * completion either way.
 */
export async function handleGenerationRequested(opts: {
  e: EventOf<'generation.requested'>;
  ctx: HandlerContext;
  deps: GenerationDeps;
}): Promise<HandlerOutcome> {
  const { e, ctx, deps } = opts;
  const { registry, providers, jobs } = deps;
  let model: Model;
  try {
    model = registry.get(e.data.model);
  } catch (err) {
    if (err instanceof UnknownModelError) return { outcome: 'fail', step: 'generate', reason: err.message };
    throw err;
  }
  const checked = registry.validateParams(model.id, e.data.params);
  if (!checked.ok)
    return {
      outcome: 'fail',
      step: 'generate',
      reason: `invalid params for ${model.id}: ${checked.message}`,
    };
  const params = checked.params;
  const provider = providers[model.provider];
  if (!provider) {
    return {
      outcome: 'fail',
      step: 'generate',
      reason: `model ${model.id} runs on ${model.provider}, which this ai-generator is not configured for (${providerHint(model.provider)})`,
    };
  }
  const job = await jobs.get(e.jobId);
  if (job && TERMINAL.has(job.status))
    return { outcome: 'skip', reason: `job ${e.jobId} already ${job.status}` };
  if (job?.cancel) return { outcome: 'skip', reason: `job ${e.jobId} was cancelled` };
  const log = ctx.logger.child({ model: model.id, provider: model.provider });
  if (ctx.deliveryCount === 1)
    metrics.add(
      GENERATION_METRIC.started,
      labels(model),
      1,
      'counter',
      'Generations started, per model and provider',
    );
  const started = Date.now();
  await ctx.progress('generate', 'started', undefined, `${model.id} on ${model.provider}`);
  await mkdir(deps.tmpDir, { recursive: true });

  const outcome = await withTempDir(
    'reelbus-generation-',
    async (workDir): Promise<HandlerOutcome> => {
      const media = await resolveMedia({
        model,
        params,
        deps,
        provider,
        workDir,
        jobId: e.jobId,
        signal: ctx.signal,
      });
      if ('failed' in media) return { outcome: 'fail', step: 'generate', reason: media.failed };
      if (provider.kind === 'direct') {
        let result: DirectResult;
        try {
          result = await provider.run({
            jobId: e.jobId,
            model,
            params,
            mediaFiles: media.files,
            mediaUrls: media.urls,
            outDir: workDir,
            signal: ctx.signal,
            logger: log,
            onProgress: (pct, message) => {
              ctx.working();
              void ctx.progress('generate', 'running', Math.round(pct), message).catch(() => undefined);
            },
          });
        } catch (err) {
          if (ctx.signal.aborted) throw err;
          if (isProviderError(err) && err.retryable)
            throw new TransientError(err.message, { cause: err, step: 'generate' });
          if (isProviderError(err) || (err as { name?: string }).name === 'PermanentError') {
            metrics.add(
              GENERATION_METRIC.failed,
              labels(model),
              1,
              'counter',
              'Generations failed, per model and provider',
            );
            return { outcome: 'fail', step: 'generate', reason: describeError(err) };
          }
          throw err;
        }
        await jobs
          .update(e.jobId, (j) => {
            j.state.generation = { ...generationState(j), model: model.id, provider: model.provider };
            return j;
          })
          .catch(() => undefined);
        return finish({
          e,
          ctx,
          deps,
          model,
          files: result.files,
          facts: result.facts,
          workDir,
          claimant: `${deps.instance}:${e.id}`,
          started,
        });
      }
      return runRemote({ e, ctx, deps, model, params, provider, media: media.urls, workDir, started, log });
    },
    { tmpDir: deps.tmpDir },
  );
  return outcome;
}

function providerHint(p: ProviderName): string {
  switch (p) {
    case 'replicate':
      return 'set REPLICATE_API_TOKEN';
    case 'fal':
      return 'set FAL_KEY';
    case 'elevenlabs':
      return 'set ELEVENLABS_API_KEY';
    default:
      return 'it should always be there';
  }
}

/** Media params (blob keys or URLs) as local files (direct providers) and URLs the provider can fetch (remote). */
async function resolveMedia(opts: {
  model: Model;
  params: Record<string, unknown>;
  deps: GenerationDeps;
  provider: GenerationProvider;
  workDir: string;
  jobId: string;
  signal: AbortSignal;
}): Promise<{ files: Record<string, string>; urls: Record<string, string> } | { failed: string }> {
  const { model, params, deps, provider, workDir, signal } = opts;
  const files: Record<string, string> = {};
  const urls: Record<string, string> = {};
  for (const [name, kind] of Object.entries(model.media)) {
    const value = params[name];
    if (typeof value !== 'string') continue;
    const isUrl = /^https?:\/\//i.test(value);
    if (provider.kind === 'direct') {
      try {
        const path = join(workDir, `input-${name}`);
        if (isUrl)
          files[name] = (
            await downloadOutput({
              url: value,
              dir: workDir,
              name: `input-${name}`,
              fallbackExt: kind === 'image' ? 'png' : kind === 'audio' ? 'wav' : 'mp4',
              signal,
            })
          ).path;
        else {
          await deps.blobs.download(value, path);
          files[name] = path;
        }
      } catch (err) {
        if (isBlobNotFound(err) || (isProviderError(err) && !err.retryable))
          return { failed: `params.${name}: ${describeError(err)}` };
        throw err;
      }
      continue;
    }
    if (isUrl) {
      urls[name] = value;
      continue;
    }
    if (!(await deps.blobs.stat(value))) return { failed: `params.${name}: no blob "${value}" in storage` };
    const presigned = await deps.blobs.presign(value, { expiresInSec: 6 * 3600 });
    if (presigned) urls[name] = presigned;
    else {
      const path = join(workDir, `input-${name}`);
      await deps.blobs.download(value, path);
      urls[name] = await provider.hostFile({ path, kind, signal });
    }
  }
  return { files, urls };
}

/** Submit once (or resume), then wait for the end: a poll, or a webhook handled by another consumer. */
async function runRemote(opts: {
  e: EventOf<'generation.requested'>;
  ctx: HandlerContext;
  deps: GenerationDeps;
  model: Model;
  params: Record<string, unknown>;
  provider: RemoteProvider;
  media: Record<string, string>;
  workDir: string;
  started: number;
  log: HandlerContext['logger'];
}): Promise<HandlerOutcome> {
  const { e, ctx, deps, model, params, provider, media, workDir, started, log } = opts;
  const { jobs } = deps;
  const clock = deps.clock ?? (() => new Date());
  const claimant = `${deps.instance}:${e.id}`;

  let requestId = generationState(await jobs.get(e.jobId))?.requestId;
  if (!requestId) {
    const webhookUrl = deps.webhooks
      ? providerWebhookUrl({ ...deps.webhooks, provider: provider.name, jobId: e.jobId })
      : undefined;
    const input = buildProviderInput({ model, params, mediaUrls: media });
    let submitted: { requestId: string };
    try {
      submitted = await withRetries({
        deps,
        ctx,
        what: 'submit',
        fn: () => provider.submit({ model, input, webhookUrl, signal: ctx.signal }),
      });
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      if (isProviderError(err) && !err.retryable) {
        metrics.add(
          GENERATION_METRIC.failed,
          labels(model),
          1,
          'counter',
          'Generations failed, per model and provider',
        );
        return { outcome: 'fail', step: 'generate', reason: err.message };
      }
      throw err;
    }
    // Recorded in a compare-and-set: a concurrent delivery that submitted first wins, and ours is cancelled.
    let kept = submitted.requestId;
    await jobs.update(e.jobId, (j) => {
      const st = generationState(j);
      if (st?.requestId) {
        kept = st.requestId;
        return undefined;
      }
      j.state.generation = {
        ...st,
        model: model.id,
        provider: model.provider,
        requestId: submitted.requestId,
        submittedAt: clock().toISOString(),
      };
      return j;
    });
    if (kept !== submitted.requestId) {
      await provider.cancel({ model, requestId: submitted.requestId }).catch(() => undefined);
    }
    requestId = kept;
    log.info({ requestId, webhook: Boolean(webhookUrl) }, 'generation submitted');
  } else {
    log.info({ requestId }, 'generation already submitted; resuming');
  }
  await ctx.progress('generate', 'running', 5, `submitted to ${model.provider} (${requestId})`);

  // Wait for the end: a poll, or a webhook finishing the job (then a job event wakes us).
  let wake: (() => void) | undefined;
  const watch = deps.watchJob?.(e.jobId, (ev) => {
    if (ev.type === 'job.completed' || ev.type === 'job.failed') wake?.();
  });
  try {
    let delay = deps.poll.initialMs;
    let errors = 0;
    const deadline = started + deps.poll.timeoutMs;
    for (;;) {
      const woke = new AbortController();
      wake = () => woke.abort();
      await sleep(Math.max(0, Math.min(delay, deadline - Date.now())), undefined, {
        signal: AbortSignal.any([ctx.signal, woke.signal]),
      }).catch(() => undefined);
      const job = await jobs.get(e.jobId);
      const st = generationState(job);
      if (!job || st?.done || TERMINAL.has(job.status)) return { outcome: 'ok' };
      if (job.cancel || ctx.signal.aborted) {
        const byUser = Boolean(job.cancel) || isJobCancelled(ctx.signal.reason);
        if (byUser) {
          // the user cancelled the job: stop paying for the run at the provider too
          await provider
            .cancel({ model, requestId })
            .catch((err: unknown) => log.warn({ err }, 'cancelling the run failed'));
          log.info({ requestId }, 'job cancelled; provider run cancelled');
          // the kit settles a message whose signal a cancellation aborted as cancelled (no job.failed)
          if (ctx.signal.aborted) throw ctx.signal.reason;
          return {
            outcome: 'skip',
            reason: `job ${e.jobId} was cancelled; ${model.provider} run ${requestId} cancelled`,
          };
        }
        // shutting down: the run goes on at the provider; a redelivery resumes it by its request id
        throw ctx.signal.reason ?? new Error('shutting down');
      }
      if (Date.now() >= deadline) {
        await provider.cancel({ model, requestId }).catch(() => undefined);
        metrics.add(
          GENERATION_METRIC.failed,
          labels(model),
          1,
          'counter',
          'Generations failed, per model and provider',
        );
        return {
          outcome: 'fail',
          step: 'generate',
          reason: `${model.provider} run ${requestId} of ${model.id} did not finish within ${Math.round(deps.poll.timeoutMs / 1000)} s (GENERATION_TIMEOUT_MS); it was cancelled`,
        };
      }
      if (woke.signal.aborted) continue; // a job event, not a poll time: look at the job again
      let state: RemoteState;
      try {
        state = await provider.status({ model, requestId, signal: ctx.signal });
        errors = 0;
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        errors++;
        log.warn({ err, errors }, 'status poll failed');
        if (errors >= deps.poll.maxErrors)
          throw new TransientError(`generate: ${describeError(err)} (${errors} polls in a row)`, {
            cause: err,
            step: 'generate',
          });
        delay = nextPollDelay({ previousMs: delay, settings: deps.poll });
        continue;
      }
      if (state.state === 'running') {
        ctx.working();
        if (state.percent !== undefined)
          await ctx.progress('generate', 'running', state.percent, state.message).catch(() => undefined);
        delay = nextPollDelay({ previousMs: delay, settings: deps.poll });
        continue;
      }
      return finishRemote({ e, ctx, deps, model, state, workDir, claimant, started, via: 'poll' });
    }
  } finally {
    watch?.stop();
  }
}

/**
 * A remote run ended (seen by a poll or a webhook): claim it, then store the output and complete the job,
 * or fail it with the provider's own message.
 */
export async function finishRemote(opts: {
  e: { id: string; jobId: string };
  ctx: HandlerContext;
  deps: GenerationDeps;
  model: Model;
  state: Exclude<RemoteState, { state: 'running' }>;
  workDir: string;
  claimant: string;
  started?: number | undefined;
  via: 'poll' | 'webhook';
}): Promise<HandlerOutcome> {
  const { e, ctx, deps, model, state, workDir, claimant, started, via } = opts;
  const clock = deps.clock ?? (() => new Date());
  let claimed = false;
  await deps.jobs.update(e.jobId, (j) => {
    claimed = claimFinish(j, claimant, clock());
    return claimed ? j : undefined;
  });
  if (!claimed)
    return {
      outcome: 'skip',
      reason: `the run of job ${e.jobId} is finished (or being finished) by another`,
    };
  ctx.logger.info({ via, state: state.state }, 'generation ended');
  if (state.state === 'canceled') {
    const job = await deps.jobs.get(e.jobId);
    if (job?.cancel) return { outcome: 'skip', reason: 'cancelled by the user' };
    metrics.add(
      GENERATION_METRIC.failed,
      labels(model),
      1,
      'counter',
      'Generations failed, per model and provider',
    );
    return {
      outcome: 'fail',
      step: 'generate',
      reason: `${model.provider} cancelled the run of ${model.id}`,
    };
  }
  if (state.state === 'failed') {
    metrics.add(
      GENERATION_METRIC.failed,
      labels(model),
      1,
      'counter',
      'Generations failed, per model and provider',
    );
    return { outcome: 'fail', step: 'generate', reason: `${model.provider} ${model.ref}: ${state.error}` };
  }
  const urls = outputUrls({ model, result: state.output });
  if (urls.length === 0) {
    metrics.add(
      GENERATION_METRIC.failed,
      labels(model),
      1,
      'counter',
      'Generations failed, per model and provider',
    );
    return {
      outcome: 'fail',
      step: 'generate',
      reason: `${model.provider} ${model.ref} returned no output URL${model.output.path ? ` at ${model.output.path}` : ''} (got ${JSON.stringify(state.output)?.slice(0, 300)})`,
    };
  }
  const role = roleOf(model);
  const fallbackExt = model.output.ext ?? (role === 'image' ? 'png' : role === 'video' ? 'mp4' : 'mp3');
  const downloaded = await downloadOutput({
    url: urls[0]!,
    dir: workDir,
    name: 'output',
    fallbackExt,
    signal: ctx.signal,
  }).catch((err: unknown) => {
    throw isProviderError(err) && err.retryable
      ? new TransientError(err.message, { cause: err, step: 'store' })
      : err;
  });
  const files: ProducedFile[] = [{ path: downloaded.path, role, contentType: downloaded.contentType }];
  return finish({
    e,
    ctx,
    deps,
    model,
    files,
    facts: { computeSec: state.computeSec, runs: Math.max(1, urls.length) },
    workDir,
    claimant,
    started,
  });
}

function roleOf(model: Model): ProducedFile['role'] {
  return model.type === 'image'
    ? 'image'
    : model.type === 'video' || model.type === 'avatar'
      ? 'video'
      : 'audio';
}

/** Stores the produced files, records the cost, publishes the one `job.completed` (id `job.completed:<jobId>`). */
async function finish(opts: {
  e: { id: string; jobId: string };
  ctx: HandlerContext;
  deps: GenerationDeps;
  model: Model;
  files: ProducedFile[];
  facts: RunFacts;
  workDir: string;
  claimant: string;
  started?: number | undefined;
}): Promise<HandlerOutcome> {
  const { e, ctx, deps, model, files, facts, workDir, started } = opts;
  await ctx.progress('generate', 'completed', 100);
  await ctx.progress('store', 'started', undefined, 'storing and probing the output');
  let outputs: Record<string, MediaOutput>;
  try {
    outputs = await storeOutputs({
      jobId: e.jobId,
      files,
      blobs: deps.blobs,
      workDir,
      signal: ctx.signal,
      logger: ctx.logger,
    });
  } catch (err) {
    if (isProviderError(err) && !err.retryable) {
      metrics.add(
        GENERATION_METRIC.failed,
        labels(model),
        1,
        'counter',
        'Generations failed, per model and provider',
      );
      return { outcome: 'fail', step: 'store', reason: `${model.id}: ${err.message}` };
    }
    throw err;
  }
  const main = outputs.video ?? outputs.audio ?? outputs.image;
  const actual = actualCostUsd({
    model,
    facts: { ...facts, outputSec: facts.outputSec ?? main?.durationSec },
  });
  await deps.jobs.update(e.jobId, (j) => {
    const st = generationState(j);
    j.cost = {
      ...j.cost,
      backend: model.provider,
      estimateUsd:
        j.cost?.estimateUsd ??
        estimateCostUsd({ model, params: (j.input.params as Record<string, unknown>) ?? {} }),
      ...(actual !== undefined ? { actualUsd: actual } : {}),
    };
    j.state.generation = { ...st, model: model.id, provider: model.provider, done: true };
    return j;
  });
  await ctx.progress('store', 'completed', 100);
  await ctx.publish('job.completed', e.jobId, { outputs, warnings: [] }, { id: `job.completed:${e.jobId}` });
  metrics.add(
    GENERATION_METRIC.completed,
    labels(model),
    1,
    'counter',
    'Generations completed, per model and provider',
  );
  if (started !== undefined)
    metrics.observe(GENERATION_METRIC.seconds, labels(model), (Date.now() - started) / 1000, {
      help: 'From generation.requested to the stored output, per model and provider, seconds',
    });
  if (actual !== undefined)
    metrics.add(
      GENERATION_METRIC.cost,
      labels(model),
      actual,
      'counter',
      'What generations cost as the providers reported, US dollars',
    );
  return { outcome: 'ok' };
}

/** Runs `fn`, retrying ProviderErrors marked retryable (429, 5xx, network) with exponential backoff. */
async function withRetries<T>(opts: {
  deps: GenerationDeps;
  ctx: HandlerContext;
  what: string;
  fn: () => Promise<T>;
}): Promise<T> {
  const { deps, ctx, fn } = opts;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const retryable = !isProviderError(err) || err.retryable;
      if (!retryable || attempt >= deps.retries || ctx.signal.aborted) throw err;
      ctx.logger.warn({ err, attempt: attempt + 1 }, `${opts.what} failed; retrying`);
      await sleep(deps.retryBaseMs * 2 ** attempt, undefined, { signal: ctx.signal });
    }
  }
}

/**
 * generation.callback → a verified provider webhook said the run ended: finish the job from it unless a
 * poll already did. A webhook for a run this job does not know (a superseded submission) is skipped.
 */
export async function handleGenerationCallback(opts: {
  e: EventOf<'generation.callback'>;
  ctx: HandlerContext;
  deps: GenerationDeps;
}): Promise<HandlerOutcome> {
  const { e, ctx, deps } = opts;
  const job = await deps.jobs.get(e.jobId);
  if (!job) return { outcome: 'skip', reason: `no job ${e.jobId}` };
  const st = generationState(job);
  if (TERMINAL.has(job.status) || st?.done)
    return { outcome: 'skip', reason: `job ${e.jobId} already finished` };
  if (!st?.requestId) {
    // the webhook overtook the write of the request id: try again shortly (polling finishes it otherwise)
    if (ctx.lastAttempt)
      return { outcome: 'skip', reason: `job ${e.jobId} has no recorded run; polling finishes it` };
    throw new TransientError(
      `generation.callback for ${e.data.requestId} arrived before the run was recorded`,
      { step: 'generate' },
    );
  }
  if (st.requestId !== e.data.requestId)
    return {
      outcome: 'skip',
      reason: `webhook for run ${e.data.requestId}, but job ${e.jobId} runs ${st.requestId}`,
    };
  let model: Model;
  try {
    model = deps.registry.get(st.model);
  } catch (err) {
    return { outcome: 'fail', step: 'generate', reason: describeError(err) };
  }
  if (e.data.completedAt) {
    const latency = (Date.parse(e.data.receivedAt) - Date.parse(e.data.completedAt)) / 1000;
    if (latency >= 0)
      metrics.observe(GENERATION_METRIC.webhookLatency, { provider: e.data.provider }, latency, {
        help: 'From the provider finishing a run to its webhook reaching ingest, seconds',
      });
  }
  const state: Exclude<RemoteState, { state: 'running' }> =
    e.data.status === 'succeeded'
      ? { state: 'succeeded', output: e.data.output, computeSec: e.data.computeSec }
      : e.data.status === 'failed'
        ? { state: 'failed', error: e.data.error ?? 'the provider reported a failure without a message' }
        : { state: 'canceled' };
  await mkdir(deps.tmpDir, { recursive: true });
  const started = st.submittedAt ? Date.parse(st.submittedAt) : undefined;
  return withTempDir(
    'reelbus-generation-cb-',
    (workDir) =>
      finishRemote({
        e,
        ctx,
        deps,
        model,
        state,
        workDir,
        claimant: `${deps.instance}:${e.id}`,
        started,
        via: 'webhook',
      }),
    { tmpDir: deps.tmpDir },
  );
}
