// Test support (not used by the service): the kit's recording HandlerContext in the shape these tests
// read, and validated input events.
import type { EventOf, EventType } from '@reelbus/contracts';
import type { HandlerContext } from '@reelbus/kit';
import { recordingContext as kitRecordingContext, testEvent } from '@reelbus/kit/testing';

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
  return testEvent('recording.received', opts.jobId, opts.data);
}
