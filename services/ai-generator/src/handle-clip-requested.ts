import { mkdir } from 'node:fs/promises';
import type { EventOf } from '@reelbus/contracts';
import {
  describeError,
  isBlobNotFound,
  probe,
  withLocalFile,
  withTempDir,
  type BlobStore,
  type HandlerContext,
  type HandlerOutcome,
} from '@reelbus/kit';
import { makePlaceholderClip } from './placeholder.ts';
import type { ModelRegistry } from './models/registry.ts';
import { modelSpec } from './providers/registry.ts';
import type { AvatarProvider, SpeakerRole } from './providers/types.ts';
import { generateClip, type ClipResult } from './segment.ts';

export { BUNDLED_FACES } from './providers/local-look.ts';

export interface ClipSettings {
  width: number;
  height: number;
  segmentConcurrency: number;
  /** Lowers every model's input limit (MAX_SEGMENT_SEC). */
  maxSegmentSec?: number | undefined;
  /** Face per role when the job brings none. */
  defaultImages: Record<SpeakerRole, string>;
  tmpDir: string;
  stallTimeoutMs?: number;
}

export interface ClipDeps {
  blobs: BlobStore;
  /** Providers by name; `defaultProvider` serves events that name none. */
  providers: Record<string, AvatarProvider>;
  defaultProvider: string;
  settings: ClipSettings;
  /** The model registry (the shipped infra/models.yaml by default). */
  registry?: ModelRegistry | undefined;
}

/** The provider a test run uses when it names none: offline, paid for by nobody (issue 15 §4). */
export const TEST_MODE_PROVIDER = 'local';

/**
 * The provider of one clip (pure): the one the event names, else `local` for a test-mode job, else
 * AI_PROVIDER. The compositor names the provider it decided for the call, by the same rule; an event
 * from another publisher may name none.
 */
export function clipProviderName(opts: {
  named: string | undefined;
  defaultProvider: string;
  testMode: boolean;
}): string {
  const { named, defaultProvider, testMode } = opts;
  return named ?? (testMode ? TEST_MODE_PROVIDER : defaultProvider);
}

/** Where a role's clip is stored. */
export function clipKey(jobId: string, role: SpeakerRole): string {
  return `jobs/${jobId}/clips/${role}.mp4`;
}

/**
 * clip.requested → one speaker's clip at `jobs/<jobId>/clips/<role>.mp4`, then clip.generated.
 * A provider that fails after its retries does not fail the job: a placeholder card stands in, with a warning.
 */
export async function handleClipRequested(opts: {
  e: EventOf<'clip.requested'>;
  ctx: HandlerContext;
  deps: ClipDeps;
}): Promise<HandlerOutcome> {
  const { e, ctx, deps } = opts;
  const { blobs, providers, defaultProvider, settings } = deps;
  const { role, label, audioKey, expectedClips } = e.data;
  const providerName = clipProviderName({
    named: e.data.provider,
    defaultProvider,
    testMode: ctx.testMode === true,
  });
  const provider = providers[providerName];
  if (!provider) {
    return {
      outcome: 'fail',
      step: 'generate',
      reason: `clip.requested asks for provider "${providerName}", which this ai-generator does not run (available: ${Object.keys(providers).join(', ')}; set AI_PROVIDER and its key)`,
    };
  }
  const log = ctx.logger.child({ role, provider: provider.name, model: provider.model });
  await ctx.progress('generate', 'started', undefined, `${label}: generating with ${provider.name}`);

  const key = clipKey(e.jobId, role);
  await mkdir(settings.tmpDir, { recursive: true }); // TMP_DIR may not exist yet on a fresh machine
  const stored = await withTempDir(
    `reelbus-aigen-${role}-`,
    async (workDir) => {
      const audio = await withLocalFile({ blobs, key: audioKey, tmpDir: workDir }, async (audioPath) => {
        const info = await probe(audioPath).catch((err: unknown) => {
          throw Object.assign(new Error(`audio ${audioKey} cannot be read: ${describeError(err)}`), {
            permanent: true,
          });
        });
        if (!info.audio || !(info.durationSec > 0)) {
          throw Object.assign(new Error(`audio ${audioKey} has no audio stream or no duration`), {
            permanent: true,
          });
        }
        return withImage({ e, ctx, deps, workDir }, async (imagePath) => {
          const common = {
            audioPath,
            durationSec: info.durationSec,
            label,
            role,
            signal: ctx.signal,
            logger: log,
          };
          let clip: ClipResult;
          let warning: string | undefined;
          try {
            clip = await generateClip({
              ...common,
              imagePath,
              provider,
              maxSegmentSec: Math.min(
                modelSpec(provider.model, deps.registry).maxInputSec,
                settings.maxSegmentSec ?? Infinity,
              ),
              workDir,
              width: settings.width,
              height: settings.height,
              concurrency: settings.segmentConcurrency,
              ...(settings.stallTimeoutMs ? { stallTimeoutMs: settings.stallTimeoutMs } : {}),
              hostFile: async ({ path, kind }) => hostInput({ blobs, jobId: e.jobId, role, path, kind }),
              onProgress: (pct, message) => {
                ctx.working();
                void ctx
                  .progress('generate', 'running', Math.round(pct), message ? `${label}: ${message}` : label)
                  .catch(() => undefined);
              },
            });
          } catch (err) {
            if (ctx.signal.aborted) throw err;
            warning = `The ${label} side could not be generated with ${provider.name} (${provider.model}): ${describeError(err)}. A placeholder card stands in.`;
            log.warn({ err }, 'generation failed; using a placeholder');
            const placeholder = await makePlaceholderClip({
              ...common,
              width: settings.width,
              height: settings.height,
              outDir: workDir,
            });
            clip = { ...placeholder, segments: 1 };
          }
          // made from, not delivered (unless the call falls back to its clips: then the job lists them as outputs)
          await blobs.putFile(key, clip.file, { contentType: 'video/mp4', retention: 'intermediate' });
          return { clip, warning };
        });
      });
      return audio;
    },
    { tmpDir: settings.tmpDir },
  ).catch((err: unknown) => {
    if (isBlobNotFound(err) || (err as { permanent?: boolean }).permanent) {
      return { failed: `${describeError(err)} (clip.requested audioKey)` } as const;
    }
    throw err;
  });
  if ('failed' in stored) return { outcome: 'fail', step: 'generate', reason: stored.failed };

  const { clip, warning } = stored;
  if (warning) await ctx.warn('generate', warning.slice(0, 2000));
  await ctx.publish(
    'clip.generated',
    e.jobId,
    {
      role,
      key,
      durationSec: clip.durationSec,
      width: clip.width,
      height: clip.height,
      provider: warning ? `${provider.name}:placeholder` : provider.name,
      placeholder: Boolean(warning),
      ...(warning ? { warning: warning.slice(0, 2000) } : {}),
      segments: clip.segments,
      expectedClips,
    },
    { id: `clip.generated:${e.jobId}:${role}` },
  );
  await ctx.progress('generate', 'running', 100, `${label}: clip ready${warning ? ' (placeholder)' : ''}`);
  return { outcome: 'ok' };
}

/** Runs `fn` with the face for this side: the job's image, else the configured default (a job image that is missing falls back too). */
async function withImage<T>(
  opts: { e: EventOf<'clip.requested'>; ctx: HandlerContext; deps: ClipDeps; workDir: string },
  fn: (imagePath: string) => Promise<T>,
): Promise<T> {
  const { e, ctx, deps, workDir } = opts;
  const fallback = deps.settings.defaultImages[e.data.role];
  if (!e.data.imageKey) return fn(fallback);
  let result: { value: T } | undefined;
  try {
    await withLocalFile({ blobs: deps.blobs, key: e.data.imageKey, tmpDir: workDir }, async (p) => {
      result = { value: await fn(p) };
    });
  } catch (err) {
    if (!isBlobNotFound(err) || result) throw err;
    await ctx.warn(
      'generate',
      `The ${e.data.label} image ${e.data.imageKey} was not found; the default face is used.`,
    );
  }
  return result ? result.value : fn(fallback);
}

/** Inputs on S3 go to remote models as presigned URLs (stored under the job's generate step); the fs store has none. */
async function hostInput(opts: {
  blobs: BlobStore;
  jobId: string;
  role: SpeakerRole;
  path: string;
  kind: 'audio' | 'image';
}): Promise<string | undefined> {
  const { blobs, jobId, role, path, kind } = opts;
  if (blobs.kind !== 's3') return undefined;
  const name = path.split(/[\\/]/).pop() ?? kind;
  const key = `jobs/${jobId}/generate/${role}-${name}`;
  await blobs.putFile(key, path, { retention: 'intermediate' });
  return blobs.presign(key, { expiresInSec: 3600 });
}
