import {
  applyOutputPreset,
  timelineFrames,
  type EventDataInput,
  type EventOf,
  type MediaOutput,
  type Timeline,
} from '@reelbus/contracts';
import {
  describeError,
  isPermanent,
  type BlobStore,
  type HandlerContext,
  type HandlerOutcome,
} from '@reelbus/kit';
import { renderAudioFallback } from './audio-fallback.ts';
import { planChunkedRender, posterOutput, type ChunkedRenderDeps } from './chunks/chunked.ts';
import { decideChunking } from './chunks/decide.ts';
import { deliverClips } from './clips-fallback.ts';
import type { EncoderBackend } from './render.ts';

export interface TimelineRenderDeps {
  /** Backends by name; `timeline.ready` may pick one, else `defaultBackend`. */
  backends: ReadonlyMap<string, EncoderBackend>;
  defaultBackend: string;
  /** Where a story's audio-only fallback is written; no fallback when absent. */
  fallback?: { blobs: BlobStore; tmpDir: string };
  /** Writes the HLS ladder of the final MP4 (`jobs/<jobId>/hls/`) when the Timeline asks for it. */
  hls?: HlsWriter;
  /** Chunked rendering of long Timelines (ffmpeg backend); every Timeline renders in one pass when absent. */
  chunked?: ChunkedRenderDeps;
}

/** Writes the HLS ladder of a final MP4 already in the blob store. */
export type HlsWriter = (req: {
  jobId: string;
  key: string;
  signal: AbortSignal;
  onProgress: (pct: number) => void;
}) => Promise<MediaOutput>;

/** Whether the Timeline asks for HLS beside the MP4 (`output.formats` includes "hls"); tolerant of Timelines parsed by older contracts. */
export function wantsHls(timeline: unknown): boolean {
  const formats = (timeline as { output?: { formats?: unknown } } | undefined)?.output?.formats;
  return Array.isArray(formats) && formats.includes('hls');
}

/**
 * Renders the Timeline of a `timeline.ready` event and publishes `video.encoded`
 * (id `video.encoded:<jobId>`, so a redelivered render publishes once).
 * Bad input (a missing or unreadable blob, a feature the backend cannot do) is a `fail` outcome;
 * ffmpeg failures are thrown and retried. A story whose video cannot be made (a permanent error, or
 * any error on the last attempt) is delivered audio-only instead: `job.completed` with
 * `fallback: 'audio_only'` (see `deliverAudioOnly`).
 */
export async function renderTimelineEvent({
  event,
  ctx,
  deps,
}: {
  event: EventOf<'timeline.ready'>;
  ctx: HandlerContext;
  deps: TimelineRenderDeps;
}): Promise<HandlerOutcome> {
  const { backends, defaultBackend, fallback } = deps;
  const name = event.data.backend ?? defaultBackend;
  const backend = backends.get(name);
  if (!backend) {
    return {
      outcome: 'fail',
      step: 'encode',
      reason: `timeline.ready data.backend: unknown encoder backend "${name}" (this encoder has ${[...backends.keys()].join(', ')}${name === 'mediaconvert' ? '; set MEDIACONVERT_ROLE_ARN and AWS_REGION, with BLOB_STORE=s3, to enable it' : ''})`,
    };
  }
  if (deps.chunked) {
    const decision = decideChunking({
      timeline: event.data.timeline,
      backend: backend.name,
      settings: deps.chunked.settings,
    });
    if (decision.chunked) return planChunkedRender({ event, ctx, deps: deps.chunked, decision });
    ctx.logger.debug({ reason: decision.reason }, 'rendering in one pass');
  }
  await ctx.progress('encode', 'started', 0, `rendering with ${backend.name}`, { phase: 'preparing' });
  const frameTotal = timelineFrames(applyOutputPreset(event.data.timeline));
  let encoded: EventDataInput<'video.encoded'>;
  try {
    const result = await backend.render({
      onWarning: (message) => ctx.warn('encode', message),
      jobId: event.jobId,
      timeline: event.data.timeline,
      signal: ctx.signal,
      logger: ctx.logger,
      onProgress: (pct, detail) => {
        ctx.working();
        // Fire and forget: progress is best effort and rate-limited by the context.
        ctx
          .progress('encode', 'running', Math.round(pct), undefined, {
            phase: 'rendering',
            ...(detail?.frames !== undefined && frameTotal
              ? { frames: { done: Math.min(detail.frames, frameTotal), total: frameTotal } }
              : {}),
            ...(detail?.etaSec !== undefined ? { etaSec: detail.etaSec } : {}),
          })
          .catch((err: unknown) => ctx.logger.warn({ err }, 'could not publish encode progress'));
      },
    });
    const { media } = result;
    if (!media.video || !media.audio || !media.video.width || !media.video.height) {
      // The backend wrote something that is not the promised video: a bug or a broken disk, worth a retry.
      throw new Error(`encode produced ${result.key} without a video and an audio stream`);
    }
    encoded = {
      key: result.key,
      durationSec: media.durationSec,
      sizeBytes: media.sizeBytes,
      width: media.video.width,
      height: media.video.height,
      videoCodec: media.video.codec,
      audioCodec: media.audio.codec,
      backend: backend.name,
      encodeSeconds: result.encodeSeconds,
      ...(result.cpuSeconds !== undefined ? { cpuSeconds: result.cpuSeconds } : {}),
      ...(result.costUsd !== undefined ? { costUsd: result.costUsd } : {}),
      ...(result.poster ? { outputs: { poster: posterOutput(result.poster) } } : {}),
    };
  } catch (err) {
    const permanent = isPermanent(err);
    if (fallback && event.data.kind === 'story' && (permanent || ctx.lastAttempt)) {
      return deliverAudioOnly({
        jobId: event.jobId,
        timeline: event.data.timeline,
        ctx,
        fallback,
        reason: `encode (${backend.name}) failed: ${describeError(err)}`,
      });
    }
    if (fallback && event.data.fallback?.type === 'clips_only' && (permanent || ctx.lastAttempt)) {
      return deliverClipsOnly({ event, ctx, fallback, backend: backend.name, err });
    }
    if (permanent) return { outcome: 'fail', step: 'encode', reason: describeError(err) };
    throw err;
  }
  if (deps.hls && wantsHls(event.data.timeline)) {
    // After the MP4 exists; a failure here is retried like the render (the MP4 is simply rewritten).
    await ctx.progress('encode', 'running', 100, 'writing the HLS ladder');
    const hls = await deps.hls({
      jobId: event.jobId,
      key: encoded.key,
      signal: ctx.signal,
      onProgress: () => ctx.working(),
    });
    encoded = { ...encoded, outputs: { ...encoded.outputs, hls } };
  }
  await ctx.publish('video.encoded', event.jobId, encoded, { id: `video.encoded:${event.jobId}` });
  await ctx.progress('encode', 'completed', 100, undefined, { phase: 'complete' });
  return { outcome: 'ok' };
}

/**
 * The call's video could not be made for good: deliver the speaker clips `timeline.ready` named
 * (`data.fallback.outputs`) as `outputs.<name>` and complete the job with `fallback: 'clips_only'`
 * (id `job.completed:<jobId>`). When a clip cannot be delivered either, the job fails with both reasons.
 */
async function deliverClipsOnly({
  event,
  ctx,
  fallback,
  backend,
  err,
}: {
  event: EventOf<'timeline.ready'>;
  ctx: HandlerContext;
  fallback: NonNullable<TimelineRenderDeps['fallback']>;
  backend: string;
  err: unknown;
}): Promise<HandlerOutcome> {
  const reason = `encode (${backend}) failed: ${describeError(err)}`;
  let outputs;
  try {
    outputs = await deliverClips({
      jobId: event.jobId,
      clips: event.data.fallback!.outputs,
      blobs: fallback.blobs,
      tmpDir: fallback.tmpDir,
    });
  } catch (fallbackErr) {
    if (!isPermanent(fallbackErr) && !ctx.lastAttempt) throw fallbackErr;
    return {
      outcome: 'fail',
      step: 'encode',
      reason: `${reason}; delivering the speaker clips failed too: ${describeError(fallbackErr)}`,
    };
  }
  const names = Object.keys(outputs).join(', ');
  const warning = `the call video could not be made, so each speaker's clip is delivered on its own (${names}): ${reason}`;
  await ctx.warn('encode', warning);
  await ctx.publish(
    'job.completed',
    event.jobId,
    { outputs, warnings: [warning], fallback: 'clips_only', fallbackReason: reason },
    { id: `job.completed:${event.jobId}` },
  );
  await ctx.progress('encode', 'skipped', undefined, 'video failed; delivered the speaker clips');
  return { outcome: 'ok' };
}

/**
 * The story's video could not be made: deliver its `voice` track as `jobs/<jobId>/final-audio.m4a`
 * and complete the job with `fallback: 'audio_only'` (id `job.completed:<jobId>`), so the message is
 * acked instead of dead-lettered. When even that fails, the job fails with both reasons.
 */
export async function deliverAudioOnly({
  jobId,
  timeline,
  ctx,
  fallback,
  reason,
}: {
  jobId: string;
  timeline: Timeline;
  ctx: HandlerContext;
  fallback: NonNullable<TimelineRenderDeps['fallback']>;
  /** Why the video could not be made (`encode (ffmpeg) failed: …`, `chunk 3 of 10 (…): …`). */
  reason: string;
}): Promise<HandlerOutcome> {
  let audio;
  try {
    audio = await renderAudioFallback({
      jobId,
      timeline,
      blobs: fallback.blobs,
      tmpDir: fallback.tmpDir,
      signal: ctx.signal,
      logger: ctx.logger,
    });
  } catch (fallbackErr) {
    if (!isPermanent(fallbackErr) && !ctx.lastAttempt) throw fallbackErr;
    return {
      outcome: 'fail',
      step: 'encode',
      reason: `${reason}; the audio-only fallback failed too: ${describeError(fallbackErr)}`,
    };
  }
  const warning = `the video could not be made, so the story is delivered as audio only (${reason})`;
  await ctx.warn('encode', warning);
  await ctx.publish(
    'job.completed',
    jobId,
    { outputs: { audio }, warnings: [warning], fallback: 'audio_only', fallbackReason: reason },
    { id: `job.completed:${jobId}` },
  );
  await ctx.progress('encode', 'skipped', undefined, 'video failed; delivered audio only');
  return { outcome: 'ok' };
}
