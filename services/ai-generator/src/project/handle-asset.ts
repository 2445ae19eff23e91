import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { EventOf, ProjectAsset } from '@reelbus/contracts';
import {
  TransientError,
  describeError,
  isJobCancelled,
  isPermanent,
  probe,
  redactUrl,
  runFfmpeg,
  safeFetch,
  withTempDir,
  type BlobStore,
  type HandlerContext,
  type HandlerOutcome,
} from '@reelbus/kit';
import { buildProviderInput, outputUrls } from '../models/input.ts';
import { UnknownModelError, type ModelRegistry } from '../models/registry.ts';
import type { Model, ProviderName } from '../models/types.ts';
import { nextPollDelay, type PollSettings } from '../generation/handle-generation.ts';
import { downloadOutput } from '../generation/store-outputs.ts';
import {
  isProviderError,
  type GenerationProvider,
  type RemoteProvider,
  type RemoteState,
} from '../generation/types.ts';

/*
 * project.asset.requested → one asset of a project render, made and stored at its project-owned key:
 * a model run, a fetched URL, or a given music file; voiceovers and music loudness-normalised to
 * −16 LUFS. Then project.asset.ready for the compositor's fan-in. Several run at once (the service's
 * concurrency): a project's assets are made in parallel.
 *
 * Model runs go through the generation providers: a direct one (local, ElevenLabs) runs to the end
 * here; a remote one (Replicate, fal) is submitted once and polled to its end, the way a generation is
 * (same provider clients, same input mapping and output download), without a webhook: a provider's
 * webhook is routed to a generation job, and an asset is no job of its own. The run's request id is
 * kept beside the asset (`<asset key>.run.json`, owned by the project), so a redelivery resumes the
 * run instead of paying for a second one.
 */

export interface ProjectAssetDeps {
  registry: ModelRegistry;
  providers: Partial<Record<ProviderName, GenerationProvider>>;
  blobs: BlobStore;
  tmpDir: string;
  fetch: { allowPrivate: boolean; timeoutMs: number; maxBytes: number };
  /** How remote runs (Replicate, fal) are polled, and how long one may take (the generations' settings). */
  poll?: PollSettings;
}

/** Remote runs when the service passes no settings: a first look after 2 s, then up to every 15 s, 30 min at most. */
export const DEFAULT_ASSET_POLL: PollSettings = {
  initialMs: 2_000,
  maxMs: 15_000,
  timeoutMs: 30 * 60_000,
  maxErrors: 5,
};

/** Which file of a run is the asset. */
const ROLE_OF_MEDIA = { audio: 'audio', image: 'image', video: 'video' } as const;

/** What the asset is, for messages: `scene "b" voiceover`, `music`. */
export const assetLabel = (a: ProjectAsset) => (a.sceneId ? `scene "${a.sceneId}" ${a.role}` : a.role);

/** Pure: loudnorm's first pass (measure only). */
export function buildLoudnessMeasureArgs(input: string, lufs: number): string[] {
  return [
    '-i',
    input,
    '-map',
    '0:a:0',
    '-af',
    `loudnorm=I=${lufs}:TP=-1.5:LRA=11:print_format=json`,
    '-f',
    'null',
    '-',
  ];
}

/**
 * Pure: a linear gain to `lufs` from the measured loudness (a limiter catches the rare peak the gain
 * pushes over −1 dBFS), 48 kHz stereo: PCM WAV for voiceovers, AAC in M4A for music.
 */
export function buildLoudnessApplyArgs(opts: {
  input: string;
  output: string;
  gainDb: number;
  codec: 'wav' | 'm4a';
}): string[] {
  const { input, output, gainDb, codec } = opts;
  return [
    '-i',
    input,
    '-map',
    '0:a:0',
    '-af',
    `volume=${gainDb.toFixed(2)}dB,alimiter=limit=0.89:level=disabled,aresample=48000`,
    '-ac',
    '2',
    ...(codec === 'wav' ? ['-c:a', 'pcm_s16le'] : ['-c:a', 'aac', '-b:a', '160k', '-movflags', '+faststart']),
    output,
  ];
}

/** The integrated loudness loudnorm printed (`input_i`), or undefined (silence prints -inf). */
export function parseIntegratedLoudness(lines: string[]): number | undefined {
  const start = lines.map((l) => l.trim()).lastIndexOf('{');
  if (start < 0) return undefined;
  try {
    const end = lines.findIndex((l, i) => i > start && l.trim() === '}');
    const raw = JSON.parse(lines.slice(start, end + 1).join('\n')) as Record<string, string>;
    const v = Number(raw.input_i);
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

class AssetFailure extends Error {
  override name = 'AssetFailure';
}

export async function handleProjectAssetRequested(opts: {
  e: EventOf<'project.asset.requested'>;
  ctx: HandlerContext;
  deps: ProjectAssetDeps;
}): Promise<HandlerOutcome> {
  const { e, ctx, deps } = opts;
  const { projectId, asset, allowPlaceholder } = e.data;
  const label = assetLabel(asset);
  const ready = async (extra: { durationSec?: number; error?: string }) => {
    await ctx.publish(
      'project.asset.ready',
      e.jobId,
      { projectId, assetId: asset.id, key: asset.key, ...extra },
      { id: `project.asset.ready:${e.jobId}:${asset.id}` },
    );
    return { outcome: 'ok' } as const;
  };

  // Made already (a redelivery, or another render of the same project at the same time): reuse it.
  if (await deps.blobs.stat(asset.key)) {
    const durationSec =
      asset.media === 'image'
        ? undefined
        : await withTempDir(
            'reelbus-asset-',
            async (dir) => {
              const f = join(dir, 'existing');
              await deps.blobs.download(asset.key, f);
              return (await probe(f)).durationSec;
            },
            { tmpDir: deps.tmpDir },
          );
    return ready(durationSec !== undefined ? { durationSec } : {});
  }

  try {
    const durationSec = await withTempDir(
      'reelbus-asset-',
      async (dir) => {
        const source = await obtain({ asset, dir, deps, ctx, label });
        let out = source.path;
        if (asset.loudnessLufs !== undefined) {
          out = join(dir, asset.key.endsWith('.wav') ? 'normalised.wav' : 'normalised.m4a');
          await normalise({ input: source.path, output: out, lufs: asset.loudnessLufs, ctx, label });
        }
        const info = asset.media === 'image' ? undefined : await probe(out);
        if (asset.media !== 'image' && !(asset.media === 'audio' ? info?.audio : info?.video)) {
          throw new AssetFailure(
            `${label}: the ${asset.media === 'audio' ? 'file has no sound' : 'file has no picture'}`,
          );
        }
        await deps.blobs.putFile(asset.key, out, { contentType: contentType(asset.key) });
        await source.stored?.();
        return info?.durationSec;
      },
      { tmpDir: deps.tmpDir },
    );
    ctx.logger.info({ projectId, asset: asset.id, key: asset.key }, `${label} made`);
    return ready(durationSec !== undefined ? { durationSec } : {});
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    const permanent =
      err instanceof AssetFailure || isPermanent(err) || (isProviderError(err) && !err.retryable);
    if (!permanent) {
      if (isProviderError(err))
        throw new TransientError(`${label}: ${err.message}`, { cause: err, step: 'prepare' });
      throw err;
    }
    const reason =
      err instanceof AssetFailure ? err.message : `${label} could not be made: ${describeError(err)}`;
    if (allowPlaceholder && asset.role !== 'voiceover' && asset.role !== 'music')
      return ready({ error: reason });
    return { outcome: 'fail', step: 'prepare', reason };
  }
}

function contentType(key: string): string {
  if (key.endsWith('.wav')) return 'audio/wav';
  if (key.endsWith('.m4a')) return 'audio/mp4';
  if (key.endsWith('.mp4')) return 'video/mp4';
  if (key.endsWith('.png')) return 'image/png';
  if (/\.jpe?g$/.test(key)) return 'image/jpeg';
  return 'application/octet-stream';
}

/** The asset's raw file, and what to do once the asset is stored (forget a remote run). */
interface Obtained {
  path: string;
  stored?: () => Promise<void>;
}

/** The asset's raw file: a model's output, a fetched URL, or a blob. */
async function obtain(opts: {
  asset: ProjectAsset;
  dir: string;
  deps: ProjectAssetDeps;
  ctx: HandlerContext;
  label: string;
}): Promise<Obtained> {
  const { asset, dir, deps, ctx, label } = opts;
  const make = asset.make;
  if ('key' in make) {
    const path = join(dir, 'source');
    await deps.blobs.download(make.key, path).catch((err: unknown) => {
      throw new AssetFailure(`${label}: cannot read ${make.key}: ${describeError(err)}`);
    });
    return { path };
  }
  if ('url' in make) {
    const res = await safeFetch({
      url: make.url,
      allowPrivate: deps.fetch.allowPrivate,
      timeoutMs: deps.fetch.timeoutMs,
      maxBytes: deps.fetch.maxBytes,
      signal: ctx.signal,
    });
    if (!res.ok) {
      await res.body.cancel().catch(() => undefined);
      const msg = `${label}: ${redactUrl(make.url)} answered HTTP ${res.status}`;
      if (res.status >= 500 || res.status === 429) throw new TransientError(msg, { step: 'prepare' });
      throw new AssetFailure(msg);
    }
    const path = join(dir, 'fetched');
    await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), createWriteStream(path));
    const info = await probe(path).catch(() => undefined);
    if (!info?.video && asset.media !== 'audio')
      throw new AssetFailure(`${label}: ${redactUrl(make.url)} is not a picture or video`);
    return { path };
  }
  let model;
  try {
    model = deps.registry.get(make.model);
  } catch (err) {
    if (err instanceof UnknownModelError) throw new AssetFailure(`${label}: ${err.message}`);
    throw err;
  }
  const checked = deps.registry.validateParams(model.id, make.params);
  if (!checked.ok) throw new AssetFailure(`${label}: invalid params for ${model.id}: ${checked.message}`);
  const provider = deps.providers[model.provider];
  if (!provider) {
    throw new AssetFailure(
      `${label}: model ${model.id} runs on ${model.provider}, which this ai-generator is not configured for (${PROVIDER_SETTING[model.provider] ?? model.provider})`,
    );
  }
  if (provider.kind === 'remote') {
    return runRemote({ asset, model, params: checked.params, provider, dir, deps, ctx, label });
  }
  const result = await provider.run({
    jobId: `${asset.id}`,
    model,
    params: checked.params,
    mediaFiles: {},
    mediaUrls: {},
    outDir: dir,
    signal: ctx.signal,
    logger: ctx.logger,
    onProgress: () => ctx.working(),
  });
  const file = result.files.find((f) => f.role === ROLE_OF_MEDIA[asset.media]);
  if (!file) throw new AssetFailure(`${label}: ${model.id} produced no ${asset.media}`);
  return { path: file.path };
}

/** What a provider needs set to be there. */
const PROVIDER_SETTING: Partial<Record<ProviderName, string>> = {
  replicate: 'set REPLICATE_API_TOKEN',
  fal: 'set FAL_KEY',
  elevenlabs: 'set ELEVENLABS_API_KEY',
};

/** A remote run in progress, kept beside the asset so a redelivery resumes it. */
interface RunRecord {
  provider: string;
  model: string;
  requestId: string;
  submittedAt: string;
}

/** Where the run of an asset is recorded (owned by the project, like the asset). */
export const runRecordKey = (assetKey: string) => `${assetKey}.run.json`;

async function readRunRecord(blobs: BlobStore, key: string): Promise<RunRecord | undefined> {
  if (!(await blobs.stat(key))) return undefined;
  const chunks: Buffer[] = [];
  for await (const c of await blobs.get(key)) chunks.push(c as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as RunRecord;
  } catch {
    return undefined; // unreadable: submit again
  }
}

/** Media params (blob keys or URLs) as URLs the provider can fetch: given, presigned, or hosted by it. */
async function remoteMediaUrls(opts: {
  model: Model;
  params: Record<string, unknown>;
  provider: RemoteProvider;
  dir: string;
  deps: ProjectAssetDeps;
  ctx: HandlerContext;
  label: string;
}): Promise<Record<string, string>> {
  const { model, params, provider, dir, deps, ctx, label } = opts;
  const urls: Record<string, string> = {};
  for (const [name, kind] of Object.entries(model.media)) {
    const value = params[name];
    if (typeof value !== 'string') continue;
    if (/^https?:\/\//i.test(value)) {
      urls[name] = value;
      continue;
    }
    if (!(await deps.blobs.stat(value)))
      throw new AssetFailure(`${label}: params.${name}: no blob "${value}" in storage`);
    const presigned = await deps.blobs.presign(value, { expiresInSec: 6 * 3600 });
    if (presigned) urls[name] = presigned;
    else {
      const path = join(dir, `input-${name}`);
      await deps.blobs.download(value, path);
      urls[name] = await provider.hostFile({ path, kind, signal: ctx.signal });
    }
  }
  return urls;
}

/**
 * A remote model run for an asset: submitted once (or resumed from its record), polled with a growing
 * wait until it ends, its output downloaded. A cancelled job cancels the run at the provider; a run
 * that outlasts the poll timeout is cancelled and the asset fails naming the provider and the run.
 */
async function runRemote(opts: {
  asset: ProjectAsset;
  model: Model;
  params: Record<string, unknown>;
  provider: RemoteProvider;
  dir: string;
  deps: ProjectAssetDeps;
  ctx: HandlerContext;
  label: string;
}): Promise<Obtained> {
  const { asset, model, params, provider, dir, deps, ctx, label } = opts;
  const poll = deps.poll ?? DEFAULT_ASSET_POLL;
  const recordKey = runRecordKey(asset.key);
  const forget = () => deps.blobs.delete(recordKey);
  const log = ctx.logger.child({ asset: asset.id, model: model.id, provider: model.provider });

  let record = await readRunRecord(deps.blobs, recordKey);
  if (record && (record.model !== model.id || record.provider !== model.provider)) record = undefined;
  if (record) log.info({ requestId: record.requestId }, `${label}: resuming ${model.provider} run`);
  else {
    const mediaUrls = await remoteMediaUrls({ model, params, provider, dir, deps, ctx, label });
    const input = buildProviderInput({ model, params, mediaUrls });
    const { requestId } = await provider.submit({ model, input, webhookUrl: undefined, signal: ctx.signal });
    record = { provider: model.provider, model: model.id, requestId, submittedAt: new Date().toISOString() };
    await deps.blobs.put(recordKey, JSON.stringify(record), { contentType: 'application/json' });
    log.info({ requestId }, `${label}: submitted to ${model.provider}`);
  }
  const { requestId } = record;
  const run = `${model.provider} run ${requestId} of ${model.id}`;
  const deadline = Date.parse(record.submittedAt) + poll.timeoutMs;
  let delay = poll.initialMs;
  let errors = 0;
  for (;;) {
    await sleep(Math.max(0, Math.min(delay, deadline - Date.now())), undefined, { signal: ctx.signal }).catch(
      () => undefined,
    );
    if (ctx.signal.aborted) {
      if (isJobCancelled(ctx.signal.reason)) {
        // the user cancelled the render: stop paying for the run too
        await provider
          .cancel({ model, requestId })
          .catch((err: unknown) => log.warn({ err }, 'cancel failed'));
        await forget().catch(() => undefined);
      }
      // shutting down: the run goes on at the provider; a redelivery resumes it from its record
      throw ctx.signal.reason ?? new Error('shutting down');
    }
    if (Date.now() >= deadline) {
      await provider.cancel({ model, requestId }).catch(() => undefined);
      await forget();
      throw new AssetFailure(
        `${label}: ${run} did not finish within ${Math.round(poll.timeoutMs / 1000)} s (GENERATION_TIMEOUT_MS); it was cancelled`,
      );
    }
    let state: RemoteState;
    try {
      state = await provider.status({ model, requestId, signal: ctx.signal });
      errors = 0;
    } catch (err) {
      if (ctx.signal.aborted) continue;
      if (isProviderError(err) && !err.retryable) {
        await forget();
        throw err;
      }
      if (++errors >= poll.maxErrors)
        throw new TransientError(`${label}: ${describeError(err)} (${errors} polls in a row)`, {
          cause: err,
          step: 'prepare',
        });
      log.warn({ err, errors }, 'status poll failed');
      delay = nextPollDelay({ previousMs: delay, settings: poll });
      continue;
    }
    if (state.state === 'running') {
      ctx.working();
      delay = nextPollDelay({ previousMs: delay, settings: poll });
      continue;
    }
    if (state.state !== 'succeeded') {
      await forget();
      throw new AssetFailure(
        state.state === 'failed'
          ? `${label}: ${model.provider} ${model.ref}: ${state.error}`
          : `${label}: ${model.provider} cancelled ${run}`,
      );
    }
    const [url] = outputUrls({ model, result: state.output });
    if (!url) {
      await forget();
      throw new AssetFailure(
        `${label}: ${model.provider} ${model.ref} returned no output URL${model.output.path ? ` at ${model.output.path}` : ''}`,
      );
    }
    const media = asset.media;
    const file = await downloadOutput({
      url,
      dir,
      name: 'output',
      fallbackExt: model.output.ext ?? (media === 'image' ? 'png' : media === 'video' ? 'mp4' : 'mp3'),
      signal: ctx.signal,
    });
    log.info({ requestId }, `${label}: ${run} finished`);
    return { path: file.path, stored: forget };
  }
}

async function normalise(opts: {
  input: string;
  output: string;
  lufs: number;
  ctx: HandlerContext;
  label: string;
}): Promise<void> {
  const { input, output, lufs, ctx, label } = opts;
  const lines: string[] = [];
  await runFfmpeg({
    step: 'prepare',
    args: buildLoudnessMeasureArgs(input, lufs),
    onStderrLine: (l) => lines.push(l),
    signal: ctx.signal,
    logger: ctx.logger,
  });
  const measured = parseIntegratedLoudness(lines);
  if (measured === undefined)
    throw new AssetFailure(`${label}: the audio is silent (no loudness to normalise)`);
  await runFfmpeg({
    step: 'prepare',
    args: buildLoudnessApplyArgs({
      input,
      output,
      gainDb: lufs - measured,
      codec: output.endsWith('.wav') ? 'wav' : 'm4a',
    }),
    signal: ctx.signal,
    logger: ctx.logger,
  });
}
