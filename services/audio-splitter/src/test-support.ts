// Test support (not used by the service): a typed HandlerContext that records what a handler does,
// validating every published event against the contracts like the real Bus does.
import { randomUUID } from 'node:crypto';
import { latestEvent, type EventOf, type EventType } from '@reelbus/contracts';
import { silentLogger, type HandlerContext } from '@reelbus/kit';

export interface RecordedContext {
  ctx: HandlerContext;
  published: EventOf<EventType>[];
  progress: { step: string; status: string; percent: number | undefined }[];
  warnings: { step: string; message: string }[];
}

export function recordingContext(opts: { signal?: AbortSignal } = {}): RecordedContext {
  const { signal = new AbortController().signal } = opts;
  const published: EventOf<EventType>[] = [];
  const progress: RecordedContext['progress'] = [];
  const warnings: RecordedContext['warnings'] = [];
  const ctx: HandlerContext = {
    logger: silentLogger(),
    deliveryCount: 1,
    lastAttempt: false,
    working: () => undefined,
    signal,
    traceId: undefined,
    async progress(step, status, percent) {
      progress.push({ step, status, percent });
    },
    async warn(step, message) {
      warnings.push({ step, message });
    },
    async publish(type, jobId, data, publishOpts) {
      const def = latestEvent(type);
      const event = {
        id: publishOpts?.id ?? randomUUID(),
        type,
        version: def.version,
        jobId,
        occurredAt: new Date().toISOString(),
        data: def.data.parse(data),
      } as EventOf<typeof type>;
      published.push(event as unknown as EventOf<EventType>);
      return event;
    },
  };
  return { ctx, published, progress, warnings };
}

/** A validated recording.received event. */
export function recordingReceived(opts: { jobId: string; data: unknown }): EventOf<'recording.received'> {
  const { jobId, data } = opts;
  const def = latestEvent('recording.received');
  return {
    id: `recording.received:${jobId}`,
    type: 'recording.received',
    version: def.version,
    jobId,
    occurredAt: new Date().toISOString(),
    data: def.data.parse(data),
  };
}
