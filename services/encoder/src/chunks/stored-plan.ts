/**
 * The claim check of a chunked render: `jobs/<jobId>/chunks/plan.json` holds the resolved Timeline,
 * the chunk plan, the x264 preset and what probing the sources found, so every replica renders its
 * chunk with identical settings and no chunk event carries more than an index.
 */
import { JobKind, Timeline } from '@reelbus/contracts';
import { PermanentError, isBlobNotFound, X264_PRESETS, type BlobStore } from '@reelbus/kit';
import { z } from 'zod';
import { chunkKeys } from './decide.ts';

const Span = z.object({
  index: z.number().int().nonnegative(),
  startFrame: z.number().int().nonnegative(),
  frameCount: z.number().int().positive(),
});

export const StoredPlan = z.object({
  version: z.literal(1),
  jobId: z.string(),
  kind: JobKind,
  /** The resolved Timeline, as `timeline.ready` carried it. */
  timeline: Timeline,
  /** The x264 preset every chunk uses (the planning encoder's ENCODER_PRESET, else the Timeline's). */
  preset: z.enum(X264_PRESETS).optional(),
  chunkSeconds: z.number().positive(),
  fps: z.number().positive(),
  totalFrames: z.number().int().positive(),
  chunks: z.array(Span).min(1),
  /** Probe facts per blob key: which videos have sound, how long sources are (bounds a chunk's seek). */
  sources: z.record(z.string(), z.object({ hasAudio: z.boolean(), durationSec: z.number().nonnegative() })),
  plannedAt: z.iso.datetime(),
});
export type StoredPlan = z.infer<typeof StoredPlan>;

/** Writes the plan unless one is stored already (a redelivered `timeline.ready` keeps the first one). */
export async function storePlan({
  blobs,
  plan,
}: {
  blobs: BlobStore;
  plan: StoredPlan;
}): Promise<StoredPlan> {
  const key = chunkKeys.plan(plan.jobId);
  if (await blobs.stat(key)) return readPlan({ blobs, key });
  await blobs.put(key, JSON.stringify(plan), { contentType: 'application/json' });
  return plan;
}

/** Reads and checks a stored plan. A missing or corrupt plan is permanent: no chunk can be rendered. */
export async function readPlan({ blobs, key }: { blobs: BlobStore; key: string }): Promise<StoredPlan> {
  let text: string;
  try {
    const chunks: Buffer[] = [];
    for await (const c of await blobs.get(key)) chunks.push(Buffer.from(c as Uint8Array));
    text = Buffer.concat(chunks).toString('utf8');
  } catch (err) {
    if (isBlobNotFound(err))
      throw new PermanentError(`the chunk plan "${key}" is not in blob storage (was the job deleted?)`, {
        step: 'encode',
        cause: err,
      });
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new PermanentError(`the chunk plan "${key}" is not JSON`, { step: 'encode', cause: err });
  }
  const parsed = StoredPlan.safeParse(json);
  if (!parsed.success)
    throw new PermanentError(`the chunk plan "${key}" is not a valid plan: ${parsed.error.message}`, {
      step: 'encode',
    });
  return parsed.data;
}
