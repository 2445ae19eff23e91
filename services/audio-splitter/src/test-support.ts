// Test support (not used by the service): the kit's recording HandlerContext in the shape these tests
// read, and validated input events.
import { latestEvent, type EventOf, type EventType } from '@reelbus/contracts';
import type { HandlerContext } from '@reelbus/kit';
import { recordingContext as kitRecordingContext } from '@reelbus/kit/testing';

export interface RecordedContext {
  ctx: HandlerContext;
  /** The envelopes the handler published. */
  published: EventOf<EventType>[];
  progress: { step: string; status: string; percent: number | undefined }[];
  warnings: { step: string; message: string }[];
}

export function recordingContext(opts: { signal?: AbortSignal } = {}): RecordedContext {
  const ctx = kitRecordingContext(opts);
  return {
    ctx,
    published: ctx.events,
    get progress() {
      return ctx.progress.calls.map(([step, status, percent]) => ({ step, status, percent }));
    },
    warnings: ctx.warnings,
  };
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
