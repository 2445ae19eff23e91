import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { EventOf, ProjectAsset } from '@reelbus/contracts';
import {
  TransientError,
  describeError,
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
import { UnknownModelError, type ModelRegistry } from '../models/registry.ts';
import type { ProviderName } from '../models/types.ts';
import { isProviderError, type GenerationProvider } from '../generation/types.ts';

/*
 * project.asset.requested → one asset of a project render, made and stored at its project-owned key:
 * a model run (direct providers: local, ElevenLabs), a fetched URL, or a given music file; voiceovers
 * and music loudness-normalised to −16 LUFS. Then project.asset.ready for the compositor's fan-in.
 * Several run at once (the service's concurrency): a project's assets are made in parallel.
 */

export interface ProjectAssetDeps {
  registry: ModelRegistry;
  providers: Partial<Record<ProviderName, GenerationProvider>>;
  blobs: BlobStore;
  tmpDir: string;
  fetch: { allowPrivate: boolean; timeoutMs: number; maxBytes: number };
}

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

/** The asset's raw file: a model's output, a fetched URL, or a blob. */
async function obtain(opts: {
  asset: ProjectAsset;
  dir: string;
  deps: ProjectAssetDeps;
  ctx: HandlerContext;
  label: string;
}): Promise<{ path: string }> {
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
  if (!provider || provider.kind !== 'direct') {
    throw new AssetFailure(
      `${label}: model ${model.id} runs on ${model.provider}; project assets are made by direct providers (local, elevenlabs) in this version`,
    );
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
