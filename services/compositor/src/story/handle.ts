import { z } from 'zod';
import { BlobKey, StoryReceivedV1, type EventOf, type Job } from '@reelbus/contracts';
import {
  chooseMusic,
  isJobNotFound,
  TransientError,
  type BlobStore,
  type HandlerContext,
  type HandlerOutcome,
  type JobStore,
} from '@reelbus/kit';
import { readClaim } from '../call-state.ts';
import { DEFAULT_LOGO_KEY, ensureDefaultLogo, fetchBrandLogo } from './brand.ts';
import { buildStoryTimeline } from './timeline.ts';

/**
 * The story fan-in: `audio.normalized` and `images.converted` arrive in any order, on any replica,
 * possibly more than once. Each stores its part on the job (`state.story`) and, in the same
 * compare-and-set update, claims the job's one `timeline.ready` (`state.timeline`, the claim the call
 * fan-in uses, read with its `readClaim`) when both parts are there. Only the claimant publishes; a
 * redelivery of the claiming event publishes again under the same id, which JetStream drops.
 */

export const StoryState = z.object({
  audio: z.object({ key: BlobKey, durationSec: z.number().positive(), eventId: z.string() }).optional(),
  images: z
    .object({
      list: z.array(z.object({ key: BlobKey, origin: z.string() })),
      usedFallback: z.boolean(),
      eventId: z.string(),
    })
    .optional(),
});
export type StoryState = z.infer<typeof StoryState>;

export function readStoryState(job: Job): StoryState {
  const r = StoryState.safeParse(job.state.story ?? {});
  return r.success ? r.data : {};
}

/** Inside a CAS mutation: claims `timeline.ready` for `claimant` when audio and images are both in and nobody claimed it. */
export function claimStoryIfComplete(job: Job, claimant: string, at: string): void {
  const s = readStoryState(job);
  if (!s.audio || !s.images || readClaim(job)) return;
  job.state.timeline = { by: claimant, at };
}

export interface StoryDeps {
  jobs: JobStore;
  blobs: BlobStore;
  /**
   * Resolves once the default logo and sample music exist (seeded on the first story, then memoised);
   * `onWait` hears what the story waits for when that takes a while (the music library being generated).
   */
  assetsReady?: (onWait?: (message: string) => void) => Promise<unknown>;
  tmpDir?: string;
  /** How brand logos given as URLs are fetched. */
  brandFetch?: { allowPrivate: boolean; timeoutMs: number };
}

async function storePart({
  jobId,
  eventId,
  part,
  ctx,
  deps,
}: {
  jobId: string;
  eventId: string;
  part: Partial<StoryState>;
  ctx: HandlerContext;
  deps: StoryDeps;
}): Promise<HandlerOutcome> {
  const at = new Date().toISOString();
  let job: Job;
  try {
    job = await deps.jobs.update(jobId, (j) => {
      j.state.story = { ...readStoryState(j), ...part };
      claimStoryIfComplete(j, eventId, at);
      return j;
    });
  } catch (err) {
    if (isJobNotFound(err)) {
      // The job document is made from the first event by another service; it may not be written yet.
      throw new TransientError(`job ${jobId} is not in the job store yet`, { step: 'compose', cause: err });
    }
    throw err;
  }
  return publishStoryIfClaimed({ job, claimant: eventId, ctx, deps });
}

export function collectStoryAudio({
  event,
  ctx,
  deps,
}: {
  event: EventOf<'audio.normalized'>;
  ctx: HandlerContext;
  deps: StoryDeps;
}): Promise<HandlerOutcome> {
  const { key, durationSec } = event.data;
  return storePart({
    jobId: event.jobId,
    eventId: event.id,
    part: { audio: { key, durationSec, eventId: event.id } },
    ctx,
    deps,
  });
}

export function collectStoryImages({
  event,
  ctx,
  deps,
}: {
  event: EventOf<'images.converted'>;
  ctx: HandlerContext;
  deps: StoryDeps;
}): Promise<HandlerOutcome> {
  const { images, usedFallback } = event.data;
  return storePart({
    jobId: event.jobId,
    eventId: event.id,
    part: {
      images: { list: images.map(({ key, origin }) => ({ key, origin })), usedFallback, eventId: event.id },
    },
    ctx,
    deps,
  });
}

/** Builds and publishes the story's Timeline when `claimant` holds the claim (id `timeline.ready:<jobId>`). */
export async function publishStoryIfClaimed({
  job,
  claimant,
  ctx,
  deps,
}: {
  job: Job;
  claimant: string;
  ctx: HandlerContext;
  deps: StoryDeps;
}): Promise<HandlerOutcome> {
  const claim = readClaim(job);
  const story = readStoryState(job);
  if (!claim || !story.audio || !story.images) return { outcome: 'ok' }; // still waiting for the other part
  if (claim.by !== claimant)
    return { outcome: 'skip', reason: `timeline.ready of job ${job.id} was claimed by ${claim.by}` };

  const parsed = StoryReceivedV1.data.safeParse(job.input);
  if (!parsed.success) {
    return {
      outcome: 'fail',
      step: 'compose',
      reason: `job ${job.id} has no story input (story.received data): ${parsed.error.issues[0]?.message ?? 'invalid'}`,
    };
  }
  const input = parsed.data;
  await deps.assetsReady?.((message) => void ctx.progress('compose', 'running', undefined, message));

  const logo = input.brand.logo;
  let logoKey = logo && 'key' in logo ? logo.key : undefined;
  if (logo && 'url' in logo) {
    const fetched = await fetchBrandLogo({
      url: logo.url,
      jobId: job.id,
      blobs: deps.blobs,
      allowPrivate: deps.brandFetch?.allowPrivate ?? false,
      timeoutMs: deps.brandFetch?.timeoutMs ?? 20_000,
      logger: ctx.logger,
      ...(deps.tmpDir ? { tmpDir: deps.tmpDir } : {}),
    });
    if ('key' in fetched) logoKey = fetched.key;
    else await ctx.warn('compose', `${fetched.reason}: the video uses the default logo`);
  }
  if (logoKey && !(await deps.blobs.stat(logoKey))) {
    await ctx.warn(
      'compose',
      `brand.logo "${logoKey}" is not in blob storage: the video uses the default logo`,
    );
    logoKey = undefined;
  }
  logoKey ??= await ensureDefaultLogo({
    blobs: deps.blobs,
    logger: ctx.logger,
    ...(deps.tmpDir ? { tmpDir: deps.tmpDir } : {}),
  });

  const { introSeconds, outroSeconds } = input.brand;
  const total = introSeconds + story.audio.durationSec + outroSeconds;
  const mood = input.music.mood;
  const music =
    mood === 'none'
      ? undefined
      : await chooseMusic({ blobs: deps.blobs, mood, durationSec: total, seed: job.id });
  if (mood !== 'none' && !music) {
    await ctx.warn(
      'compose',
      `the music library has no tracks for mood "${mood}" (music/${mood}/<Track>/…): the video has the voice only`,
    );
  }
  // The converter's brand-image fallback means no story image survived: the reference's logo-only content.
  const images = story.images.usedFallback ? [] : story.images.list;
  const timeline = buildStoryTimeline({
    voice: { key: story.audio.key, durationSec: story.audio.durationSec },
    images,
    logoKey: logoKey ?? DEFAULT_LOGO_KEY,
    brand: input.brand,
    music,
    musicGainDb: input.music.gainDb,
    duck: input.music.duck,
    allowDegradation: input.allowDegradation,
  });
  await ctx.publish(
    'timeline.ready',
    job.id,
    { kind: 'story', timeline, ...(input.backend ? { backend: input.backend } : {}) },
    { id: `timeline.ready:${job.id}` },
  );
  ctx.logger.info(
    {
      images: images.length,
      music: music ? { key: music.key, loop: music.loop } : 'none',
      durationSec: total,
    },
    'story timeline ready',
  );
  await ctx.progress('compose', 'completed', 100);
  return { outcome: 'ok' };
}
