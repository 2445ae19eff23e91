/**
 * Chunked rendering on the bus (issue 10 §3). A Timeline longer than CHUNK_THRESHOLD_SEC is planned
 * into chunks; any encoder replica renders one chunk video-only, one renders the whole audio once;
 * the fan-in records each part on the job by compare-and-set and the event that completes the set
 * joins them by stream copy into `jobs/<jobId>/final.mp4` → `video.encoded`, exactly once.
 *
 *   timeline.ready ──plan──▶ plan.json + render.audio.requested + render.chunk.requested × N
 *   render.chunk.requested ──any replica──▶ chunk-000i.mp4 + render.chunk.rendered
 *   render.audio.requested ──any replica──▶ audio.m4a + render.audio.rendered
 *   render.*.rendered ──fan-in (CAS claim)──▶ join → final.mp4 (+ poster, HLS) → video.encoded
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import {
  applyOutputPreset,
  type EventOf,
  type Job,
  type MediaOutput,
  type Timeline,
} from '@reelbus/contracts';
import {
  PermanentError,
  TransientError,
  describeError,
  isBlobNotFound,
  isJobCancelled,
  isPermanent,
  probe,
  runFfmpeg,
  withTempDir,
  type BlobStore,
  type HandlerContext,
  type HandlerOutcome,
  type JobStore,
  type X264Preset,
} from '@reelbus/kit';
import { buildRenderArgs, UnsupportedTimelineError, type BuildRenderArgsOptions } from '../filtergraph.ts';
import { buildPosterArgs, posterKey, posterTime } from '../poster.ts';
import { finalVideoKey, inputRefs, localInputs, type InputRef } from '../render.ts';
import {
  chunkKeys,
  chunkedProgress,
  decideChunking,
  describeChunk,
  partsCpuSeconds,
  readChunkedState,
  recordPart,
  writeChunkedState,
  type ChunkPlanDecision,
  type ChunkedRenderState,
  type ChunkingSettings,
  type RenderedPart,
} from './decide.ts';
import { buildChunkJoinArgs, concatList } from './join.ts';
import { chunkTimeline } from './plan.ts';
import { readPlan, storePlan, type StoredPlan } from './stored-plan.ts';

const execFileP = promisify(execFile);

export interface ChunkedRenderDeps {
  blobs: BlobStore;
  /** The job store: the fan-in's compare-and-set, and a failed chunk stopping the others. */
  jobs: JobStore;
  /** Parent of the per-render temp dirs. */
  tmpDir: string;
  settings: ChunkingSettings;
  /** Overrides the Timeline's x264 preset (ENCODER_PRESET); stored in the plan, so every chunk agrees. */
  preset?: X264Preset;
  stallTimeoutMs?: number;
  fontFile?: string;
  /** Writes the HLS ladder of the final MP4 when the Timeline asks for it (after the join). */
  hls?: (req: {
    jobId: string;
    key: string;
    signal: AbortSignal;
    onProgress: (pct: number) => void;
  }) => Promise<MediaOutput>;
  /** A story whose chunk fails for good is delivered audio-only (handle-timeline.ts's fallback). */
  onStoryFailure?: (req: {
    jobId: string;
    timeline: Timeline;
    ctx: HandlerContext;
    /** Why the video cannot be made, naming the part. */
    reason: string;
  }) => Promise<HandlerOutcome>;
}

/** The Timeline's own parsed form with the output preset applied: what every part is rendered from. */
function presetTimeline(t: Timeline): Timeline {
  return applyOutputPreset(t);
}

/** buildRenderArgs, with a feature this backend cannot draw turned into a permanent error. */
function buildArgs(opts: BuildRenderArgsOptions): ReturnType<typeof buildRenderArgs> {
  try {
    return buildRenderArgs(opts);
  } catch (err) {
    if (err instanceof UnsupportedTimelineError) {
      throw new PermanentError(`the ffmpeg encoder cannot render this timeline: ${err.message}`, {
        step: 'encode',
        cause: err,
      });
    }
    throw err;
  }
}

// ── planning ─────────────────────────────────────────────────────────────────────────────────────

/**
 * `timeline.ready` of a long Timeline: checks and probes every source once (a missing or unreadable
 * one fails the job naming its field, before any chunk is rendered), stores the plan as the claim
 * check, then asks for the audio and every chunk. A redelivery keeps the stored plan and asks again
 * under the same event ids (JetStream drops the duplicates within its window).
 */
export async function planChunkedRender({
  event,
  ctx,
  deps,
  decision,
}: {
  event: EventOf<'timeline.ready'>;
  ctx: HandlerContext;
  deps: ChunkedRenderDeps;
  decision: ChunkPlanDecision;
}): Promise<HandlerOutcome> {
  const { blobs, tmpDir, settings, preset } = deps;
  const jobId = event.jobId;
  const { plan } = decision;
  const count = plan.chunks.length;
  await ctx.progress(
    'encode',
    'started',
    0,
    `planning ${count} chunks of ${settings.chunkSeconds} s (${Math.round(decision.durationSec)} s of video)`,
    { phase: 'preparing', chunks: { done: 0, total: count }, frames: { done: 0, total: plan.totalFrames } },
  );
  let stored: StoredPlan;
  try {
    await mkdir(tmpDir, { recursive: true });
    const sources = await withTempDir(
      `reelbus-plan-${jobId}`,
      async (dir) => {
        const local = await localInputs({ blobs, refs: inputRefs(event.data.timeline), dir });
        // Refuse what the graph cannot draw now, not in every chunk.
        buildArgs({ timeline: event.data.timeline, inputs: (k) => local.get(k)!.path, output: 'check.mp4' });
        return Object.fromEntries(
          [...local].map(([key, { info }]) => [
            key,
            { hasAudio: info.audio !== undefined, durationSec: info.durationSec },
          ]),
        );
      },
      { tmpDir },
    );
    stored = await storePlan({
      blobs,
      plan: {
        version: 1,
        jobId,
        kind: event.data.kind,
        timeline: event.data.timeline,
        ...(preset ? { preset } : {}),
        chunkSeconds: settings.chunkSeconds,
        fps: plan.fps,
        totalFrames: plan.totalFrames,
        chunks: plan.chunks,
        sources,
        plannedAt: new Date().toISOString(),
      },
    });
  } catch (err) {
    if (!isPermanent(err)) throw err;
    if (event.data.kind === 'story' && deps.onStoryFailure)
      return deps.onStoryFailure({
        jobId,
        timeline: event.data.timeline,
        ctx,
        reason: `encode (ffmpeg, chunked) failed: ${describeError(err)}`,
      });
    return { outcome: 'fail', step: 'encode', reason: describeError(err) };
  }
  const planKey = chunkKeys.plan(jobId);
  await ctx.publish(
    'render.audio.requested',
    jobId,
    { plan: planKey },
    { id: `render.audio.requested:${jobId}` },
  );
  for (const c of stored.chunks) {
    await ctx.publish(
      'render.chunk.requested',
      jobId,
      {
        plan: planKey,
        index: c.index,
        count: stored.chunks.length,
        startFrame: c.startFrame,
        frameCount: c.frameCount,
      },
      { id: `render.chunk.requested:${jobId}:${c.index}` },
    );
  }
  ctx.logger.info(
    { chunks: stored.chunks.length, totalFrames: stored.totalFrames, chunkSeconds: stored.chunkSeconds },
    'chunked render planned',
  );
  await ctx.progress('encode', 'running', 0, `rendering ${stored.chunks.length} chunks`, {
    phase: 'rendering',
    chunks: { done: 0, total: stored.chunks.length },
    frames: { done: 0, total: stored.totalFrames },
  });
  return { outcome: 'ok' };
}

// ── rendering a part ─────────────────────────────────────────────────────────────────────────────

/** The inputs a part reads, with the field of the whole Timeline that names each (for errors). */
function partRefs({ plan, keys }: { plan: StoredPlan; keys: ReadonlySet<string> }): InputRef[] {
  return inputRefs(plan.timeline).filter((r) => keys.has(r.key));
}

/** The blob keys the sound of a Timeline reads: audio tracks, and videos with their own sound on. */
export function audioKeys({
  timeline,
  sources,
}: {
  timeline: Timeline;
  sources: StoredPlan['sources'];
}): Set<string> {
  const keys = new Set(timeline.audio.map((a) => a.source.key));
  for (const track of timeline.tracks)
    for (const c of track.clips)
      if (c.type === 'video' && c.volume > 0 && sources[c.source.key]?.hasAudio !== false)
        keys.add(c.source.key);
  return keys;
}

/** Whether another part of this job already failed for good (then this one is not rendered). */
async function failedElsewhere(jobs: JobStore, jobId: string): Promise<ChunkedRenderState['failed']> {
  const job = await jobs.get(jobId);
  return job ? readChunkedState(job).failed : undefined;
}

/**
 * A part failed for good: note it on the job (so the other chunks stop), then fail the job naming
 * the part — or, for a story, deliver its audio only.
 */
async function failPart({
  plan,
  part,
  err,
  ctx,
  deps,
}: {
  plan: StoredPlan;
  part: string;
  err: unknown;
  ctx: HandlerContext;
  deps: ChunkedRenderDeps;
}): Promise<HandlerOutcome> {
  const reason = `${part}: ${describeError(err)}`;
  const at = new Date().toISOString();
  await deps.jobs
    .update(plan.jobId, (j) => {
      const st = readChunkedState(j);
      if (st.failed || st.claim) return undefined;
      return writeChunkedState(j, { ...st, failed: { part, reason, at } });
    })
    .catch((e: unknown) =>
      ctx.logger.warn({ err: describeError(e) }, 'could not mark the chunked render failed'),
    );
  if (plan.kind === 'story' && deps.onStoryFailure)
    return deps.onStoryFailure({
      jobId: plan.jobId,
      timeline: plan.timeline,
      ctx,
      reason: `encode (ffmpeg, chunked) failed: ${reason}`,
    });
  return { outcome: 'fail', step: 'encode', reason };
}

/**
 * Runs one part's ffmpeg and stores the file. Failures name the part; a permanent one, or any on the
 * last delivery, fails the job (see failPart); others are thrown and retried.
 */
async function renderPart({
  plan,
  part,
  keys,
  build,
  key,
  contentType,
  ctx,
  deps,
  onProgress,
  verify,
}: {
  plan: StoredPlan;
  /** The part's name in errors and logs. */
  part: string;
  keys: ReadonlySet<string>;
  build: (inputs: (key: string) => string, output: string) => ReturnType<typeof buildRenderArgs>;
  key: string;
  contentType: string;
  ctx: HandlerContext;
  deps: ChunkedRenderDeps;
  onProgress?: (p: { frames?: number; percent?: number }) => void;
  /** Checks the file ffmpeg wrote (frame count, duration); throws when it is not what was planned. */
  verify: (file: string, expectedFrames: number) => Promise<void>;
}): Promise<{ sizeBytes: number; encodeSeconds: number; cpuSeconds?: number } | HandlerOutcome> {
  const { blobs, tmpDir, stallTimeoutMs } = deps;
  try {
    await mkdir(tmpDir, { recursive: true });
    return await withTempDir(
      `reelbus-part-${plan.jobId}`,
      async (dir) => {
        const local = await localInputs({ blobs, refs: partRefs({ plan, keys }), dir, probe: false });
        const out = join(dir, basename(key));
        const built = build((k) => {
          const p = local.get(k)?.path;
          if (!p) throw new Error(`internal: input "${k}" of ${part} was not resolved`);
          return p;
        }, out);
        const run = await runFfmpeg({
          step: 'encode',
          args: built.args,
          durationSec: built.durationSec,
          signal: ctx.signal,
          logger: ctx.logger,
          ...(stallTimeoutMs ? { stallTimeoutMs } : {}),
          onProgress: (p) => {
            ctx.working();
            onProgress?.({
              ...(p.frames !== undefined ? { frames: p.frames } : {}),
              ...(p.percent !== undefined ? { percent: p.percent } : {}),
            });
          },
        });
        await verify(out, built.frames);
        const info = await blobs.putFile(key, out, { contentType });
        return {
          sizeBytes: info.size,
          encodeSeconds: run.elapsedMs / 1000,
          ...(run.cpuSeconds !== undefined ? { cpuSeconds: run.cpuSeconds } : {}),
        };
      },
      { tmpDir },
    );
  } catch (err) {
    if (isJobCancelled(err)) throw err; // settled as cancelled by the consume loop
    if (isPermanent(err) || ctx.lastAttempt) return failPart({ plan, part, err, ctx, deps });
    throw new TransientError(`${part}: ${describeError(err)}`, { step: 'encode', cause: err });
  }
}

/** How many video packets (= frames: one per frame in H.264 without field coding) a file holds. */
export async function countVideoFrames(file: string): Promise<number> {
  const { stdout } = await execFileP('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-count_packets',
    '-show_entries',
    'stream=nb_read_packets',
    '-of',
    'csv=p=0',
    file,
  ]);
  return Number(stdout.trim());
}

const isOutcome = (x: unknown): x is HandlerOutcome => typeof x === 'object' && x !== null && 'outcome' in x;

/** `render.chunk.requested`: renders one chunk video-only (a keyframe on its first frame) → `render.chunk.rendered`. */
export async function renderChunkEvent({
  event,
  ctx,
  deps,
}: {
  event: EventOf<'render.chunk.requested'>;
  ctx: HandlerContext;
  deps: ChunkedRenderDeps;
}): Promise<HandlerOutcome> {
  const { index, count, startFrame, frameCount } = event.data;
  const plan = await readPlan({ blobs: deps.blobs, key: event.data.plan });
  const span = plan.chunks[index];
  if (
    !span ||
    span.startFrame !== startFrame ||
    span.frameCount !== frameCount ||
    plan.chunks.length !== count
  ) {
    return {
      outcome: 'fail',
      step: 'encode',
      reason: `render.chunk.requested index ${index} (frames ${startFrame}+${frameCount} of ${count}) does not match the stored plan ${event.data.plan}`,
    };
  }
  const part = describeChunk({ index, count, startFrame, frameCount, fps: plan.fps });
  const failed = await failedElsewhere(deps.jobs, plan.jobId);
  if (failed) return { outcome: 'skip', reason: `${part} not rendered: ${failed.part} failed` };

  const timeline = presetTimeline(plan.timeline);
  const window = { startFrame, frameCount };
  const sub = chunkTimeline({ timeline, ...window });
  const keys = new Set(inputRefs(sub).map((r) => r.key));
  const sources = (k: string) => plan.sources[k];
  const key = chunkKeys.chunk(plan.jobId, index);
  ctx.logger.info({ chunk: index, startFrame, frameCount }, `rendering ${part}`);
  const result = await renderPart({
    plan,
    part,
    keys,
    key,
    contentType: 'video/mp4',
    ctx,
    deps,
    build: (inputs, output) =>
      buildArgs({
        timeline,
        inputs,
        sources,
        output,
        streams: 'video',
        window,
        ...(plan.preset ? { preset: plan.preset } : {}),
        ...(deps.fontFile ? { fontFile: deps.fontFile } : {}),
      }),
    onProgress: ({ frames }) => {
      if (frames === undefined) return;
      void ctx.progress('encode', 'running', undefined, undefined, {
        phase: 'rendering',
        chunk: { index, frames: Math.min(frames, frameCount) },
      });
    },
    verify: async (file, expected) => {
      const frames = await countVideoFrames(file);
      if (frames !== expected)
        throw new Error(`ffmpeg wrote ${frames} frames where the plan has ${expected}`);
    },
  });
  if (isOutcome(result)) return result;
  await ctx.publish(
    'render.chunk.rendered',
    plan.jobId,
    {
      plan: event.data.plan,
      index,
      count,
      key,
      frames: frameCount,
      sizeBytes: result.sizeBytes,
      encodeSeconds: result.encodeSeconds,
      ...(result.cpuSeconds !== undefined ? { cpuSeconds: result.cpuSeconds } : {}),
    },
    { id: `render.chunk.rendered:${plan.jobId}:${index}` },
  );
  await ctx.progress('encode', 'running', undefined, `${part} rendered`, {
    phase: 'rendering',
    chunk: { index, frames: frameCount },
  });
  return { outcome: 'ok' };
}

/** `render.audio.requested`: renders the whole Timeline's sound once (AAC, as a single pass would) → `render.audio.rendered`. */
export async function renderAudioEvent({
  event,
  ctx,
  deps,
}: {
  event: EventOf<'render.audio.requested'>;
  ctx: HandlerContext;
  deps: ChunkedRenderDeps;
}): Promise<HandlerOutcome> {
  const plan = await readPlan({ blobs: deps.blobs, key: event.data.plan });
  const part = 'the audio';
  const failed = await failedElsewhere(deps.jobs, plan.jobId);
  if (failed) return { outcome: 'skip', reason: `${part} not rendered: ${failed.part} failed` };
  const timeline = presetTimeline(plan.timeline);
  const key = chunkKeys.audio(plan.jobId);
  const durationSec = plan.totalFrames / plan.fps;
  const result = await renderPart({
    plan,
    part,
    keys: audioKeys({ timeline, sources: plan.sources }),
    key,
    contentType: 'audio/mp4',
    ctx,
    deps,
    build: (inputs, output) =>
      buildArgs({
        timeline,
        inputs,
        sources: (k) => plan.sources[k],
        output,
        streams: 'audio',
        ...(plan.preset ? { preset: plan.preset } : {}),
      }),
    verify: async (file) => {
      const info = await probe(file);
      // AAC frames are 1024 samples: the track may end up to one frame (21.3 ms) past the picture.
      if (!info.audio || Math.abs(info.durationSec - durationSec) > 0.05)
        throw new Error(`the audio is ${info.durationSec} s where the video is ${durationSec} s`);
    },
  });
  if (isOutcome(result)) return result;
  await ctx.publish(
    'render.audio.rendered',
    plan.jobId,
    {
      plan: event.data.plan,
      key,
      durationSec,
      sizeBytes: result.sizeBytes,
      encodeSeconds: result.encodeSeconds,
      ...(result.cpuSeconds !== undefined ? { cpuSeconds: result.cpuSeconds } : {}),
    },
    { id: `render.audio.rendered:${plan.jobId}` },
  );
  return { outcome: 'ok' };
}

// ── fan-in and join ──────────────────────────────────────────────────────────────────────────────

/** What the fan-in needs to know of a `rendered` event. */
function renderedPart(
  event: EventOf<'render.chunk.rendered'> | EventOf<'render.audio.rendered'>,
  plan: StoredPlan,
): RenderedPart {
  if (event.type === 'render.chunk.rendered') {
    const d = event.data;
    return {
      type: 'chunk',
      index: d.index,
      count: d.count,
      key: d.key,
      frames: d.frames,
      totalFrames: plan.totalFrames,
      plannedAt: plan.plannedAt,
      ...(d.cpuSeconds !== undefined ? { cpuSeconds: d.cpuSeconds } : {}),
    };
  }
  const d = event.data;
  return {
    type: 'audio',
    key: d.key,
    plannedAt: plan.plannedAt,
    ...(d.cpuSeconds !== undefined ? { cpuSeconds: d.cpuSeconds } : {}),
  };
}

/**
 * The fan-in (`render.chunk.rendered`, `render.audio.rendered`): records the part on the job and, in
 * the same compare-and-set update, claims the join when the set is complete. Only the claimant joins
 * and publishes `video.encoded` (id `video.encoded:<jobId>`); a redelivery of the claiming event joins
 * again (the final key is overwritten) and its publish is dropped as a duplicate.
 */
export async function collectRenderedPart({
  event,
  ctx,
  deps,
}: {
  event: EventOf<'render.chunk.rendered'> | EventOf<'render.audio.rendered'>;
  ctx: HandlerContext;
  deps: ChunkedRenderDeps;
}): Promise<HandlerOutcome> {
  const plan = await readPlan({ blobs: deps.blobs, key: event.data.plan });
  const part = renderedPart(event, plan);
  const at = new Date().toISOString();
  let job: Job;
  try {
    job = await deps.jobs.update(event.jobId, (j) => {
      const before = readChunkedState(j);
      const after = recordPart({ state: before, part, claimant: event.id, at });
      return JSON.stringify(after) === JSON.stringify(before) ? undefined : writeChunkedState(j, after);
    });
  } catch (err) {
    if ((err as Error).name === 'JobNotFoundError')
      throw new TransientError(`job ${event.jobId} is not in the job store yet: retrying`, {
        step: 'encode',
        cause: err,
      });
    throw err;
  }
  const state = readChunkedState(job);
  const progress = chunkedProgress({ state, now: new Date() });
  if (!state.claim) {
    await ctx.progress(
      'encode',
      'running',
      progress.percent,
      `${progress.chunks.done} of ${progress.chunks.total} chunks rendered${state.audio ? ', audio ready' : ''}`,
      {
        phase: 'rendering',
        chunks: progress.chunks,
        frames: progress.frames,
        ...(progress.etaSec !== undefined ? { etaSec: progress.etaSec } : {}),
      },
    );
    return { outcome: 'ok' };
  }
  if (state.claim.by !== event.id) return { outcome: 'ok' }; // recorded; another event (or a replica of this one) joins
  return joinParts({ plan, state, ctx, deps });
}

/**
 * Joins the chunks by the concat demuxer with stream copy, muxes the once-rendered audio, moves
 * `moov` first, checks the frame count, takes the poster and writes HLS when asked, stores
 * `jobs/<jobId>/final.mp4` and publishes `video.encoded`.
 */
async function joinParts({
  plan,
  state,
  ctx,
  deps,
}: {
  plan: StoredPlan;
  state: ChunkedRenderState;
  ctx: HandlerContext;
  deps: ChunkedRenderDeps;
}): Promise<HandlerOutcome> {
  const { blobs, tmpDir } = deps;
  const jobId = plan.jobId;
  const timeline = presetTimeline(plan.timeline);
  const count = plan.chunks.length;
  const frames = { done: plan.totalFrames, total: plan.totalFrames };
  await ctx.progress('encode', 'running', 96, `joining ${count} chunks and the audio`, {
    phase: 'concatenating',
    chunks: { done: count, total: count },
    frames,
    etaSec: 0,
  });
  const started = Date.now();
  let encoded;
  try {
    await mkdir(tmpDir, { recursive: true });
    encoded = await withTempDir(
      `reelbus-join-${jobId}`,
      async (dir) => {
        const local = async (key: string, name: string) => {
          const p = blobs.localPath(key);
          if (p !== undefined) return p;
          const file = join(dir, name);
          await blobs.download(key, file);
          return file;
        };
        const files: string[] = [];
        for (let i = 0; i < count; i++) {
          const rec = state.chunks[String(i)];
          if (!rec) throw new Error(`internal: chunk ${i} is not recorded`);
          files.push(await local(rec.key, `chunk-${i}.mp4`));
        }
        const audio = await local(state.audio!.key, 'audio.m4a');
        const list = join(dir, 'chunks.txt');
        await writeFile(list, concatList(files));
        const out = join(dir, 'final.mp4');
        const run = await runFfmpeg({
          step: 'encode',
          args: buildChunkJoinArgs({ list, audio, output: out }),
          signal: ctx.signal,
          logger: ctx.logger,
        });
        const joinedFrames = await countVideoFrames(out);
        if (joinedFrames !== plan.totalFrames)
          throw new Error(
            `the joined video has ${joinedFrames} frames where the plan has ${plan.totalFrames}`,
          );
        const media = await probe(out);
        if (!media.video || !media.audio || !media.video.width || !media.video.height)
          throw new Error('the joined file lacks a video or an audio stream');
        let poster: MediaOutput | undefined;
        const atSec = posterTime({ timeline, durationSec: media.durationSec });
        if (atSec !== undefined) {
          const file = join(dir, 'poster.jpg');
          await runFfmpeg({
            step: 'poster',
            args: buildPosterArgs({ input: out, atSec, output: file }),
            signal: ctx.signal,
            logger: ctx.logger,
          });
          const info = await probe(file);
          await blobs.putFile(posterKey(jobId), file, { contentType: 'image/jpeg' });
          poster = posterOutput({
            key: posterKey(jobId),
            sizeBytes: info.sizeBytes,
            width: info.video?.width,
            height: info.video?.height,
          });
        }
        await ctx.progress('encode', 'running', 98, 'storing the video', { phase: 'uploading', frames });
        const key = finalVideoKey(jobId);
        await blobs.putFile(key, out, { contentType: 'video/mp4' });
        return { key, media, poster, joinSeconds: run.elapsedMs / 1000 };
      },
      { tmpDir },
    );
  } catch (err) {
    if (isJobCancelled(err)) throw err;
    if (isBlobNotFound(err))
      return {
        outcome: 'fail',
        step: 'encode',
        reason: `joining the chunks: a part is missing from blob storage (${describeError(err)})`,
      };
    if (isPermanent(err) || ctx.lastAttempt)
      return { outcome: 'fail', step: 'encode', reason: `joining the chunks: ${describeError(err)}` };
    throw new TransientError(`joining the chunks: ${describeError(err)}`, { step: 'encode', cause: err });
  }
  const outputs: Record<string, MediaOutput> = {};
  if (encoded.poster) outputs.poster = encoded.poster;
  if (deps.hls && timeline.output.formats.includes('hls')) {
    await ctx.progress('encode', 'running', 99, 'writing the HLS ladder', { phase: 'uploading' });
    outputs.hls = await deps.hls({
      jobId,
      key: encoded.key,
      signal: ctx.signal,
      onProgress: () => ctx.working(),
    });
  }
  const cpuSeconds = partsCpuSeconds(state);
  const { media } = encoded;
  await ctx.publish(
    'video.encoded',
    jobId,
    {
      key: encoded.key,
      durationSec: media.durationSec,
      sizeBytes: media.sizeBytes,
      width: media.video!.width!,
      height: media.video!.height!,
      videoCodec: media.video!.codec,
      audioCodec: media.audio!.codec,
      backend: 'ffmpeg',
      // Wall clock from the plan to the joined file: what the user waited for the encode.
      encodeSeconds: Math.max(0, (Date.now() - new Date(plan.plannedAt).getTime()) / 1000),
      ...(cpuSeconds !== undefined ? { cpuSeconds } : {}),
      ...(Object.keys(outputs).length ? { outputs } : {}),
    },
    { id: `video.encoded:${jobId}` },
  );
  ctx.logger.info(
    { chunks: count, joinSeconds: encoded.joinSeconds, totalSeconds: (Date.now() - started) / 1000 },
    'chunked render joined',
  );
  await ctx.progress('encode', 'completed', 100, undefined, { phase: 'complete', frames });
  return { outcome: 'ok' };
}

/** The poster frame as a named output of `video.encoded` (a still: duration 0). */
export function posterOutput({
  key,
  sizeBytes,
  width,
  height,
}: {
  key: string;
  sizeBytes: number;
  width?: number | undefined;
  height?: number | undefined;
}): MediaOutput {
  return {
    key,
    durationSec: 0,
    sizeBytes,
    contentType: 'image/jpeg',
    ...(width ? { width } : {}),
    ...(height ? { height } : {}),
  };
}

export { decideChunking };
