import type { EventOf } from '@reelbus/contracts';
import { describeError, isPermanent, type HandlerContext, type HandlerOutcome } from '@reelbus/kit';
import type { EncoderBackend } from './render.ts';

export interface TimelineRenderDeps {
  /** Backends by name; `timeline.ready` may pick one, else `defaultBackend`. */
  backends: ReadonlyMap<string, EncoderBackend>;
  defaultBackend: string;
}

/**
 * Renders the Timeline of a `timeline.ready` event and publishes `video.encoded`
 * (id `video.encoded:<jobId>`, so a redelivered render publishes once).
 * Bad input (a missing or unreadable blob, a feature the backend cannot do) is a `fail` outcome;
 * ffmpeg failures are thrown and retried.
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
  const { backends, defaultBackend } = deps;
  const name = event.data.backend ?? defaultBackend;
  const backend = backends.get(name);
  if (!backend) {
    return {
      outcome: 'fail',
      step: 'encode',
      reason: `timeline.ready data.backend: unknown encoder backend "${name}" (this encoder has ${[...backends.keys()].join(', ')})`,
    };
  }
  await ctx.progress('encode', 'started', 0, `rendering with ${backend.name}`);
  let result;
  try {
    result = await backend.render({
      jobId: event.jobId,
      timeline: event.data.timeline,
      signal: ctx.signal,
      logger: ctx.logger,
      onProgress: (pct) => {
        ctx.working();
        // Fire and forget: progress is best effort and rate-limited by the context.
        ctx
          .progress('encode', 'running', Math.round(pct))
          .catch((err: unknown) => ctx.logger.warn({ err }, 'could not publish encode progress'));
      },
    });
  } catch (err) {
    if (isPermanent(err)) return { outcome: 'fail', step: 'encode', reason: describeError(err) };
    throw err;
  }
  const { media } = result;
  if (!media.video || !media.audio || !media.video.width || !media.video.height) {
    // The backend wrote something that is not the promised video: a bug or a broken disk, worth a retry.
    throw new Error(`encode produced ${result.key} without a video and an audio stream`);
  }
  await ctx.publish(
    'video.encoded',
    event.jobId,
    {
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
    },
    { id: `video.encoded:${event.jobId}` },
  );
  await ctx.progress('encode', 'completed', 100);
  return { outcome: 'ok' };
}
