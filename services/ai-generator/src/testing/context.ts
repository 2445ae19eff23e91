import type { EventOf } from '@reelbus/contracts';
import type { HandlerContext } from '@reelbus/kit';
import { recordingContext, testEvent, type PublishedRecord } from '@reelbus/kit/testing';

export type { PublishedRecord as Published } from '@reelbus/kit/testing';

/** The kit's recording HandlerContext, with progress reports as objects (what these tests read). */
export function newRecordingContext(
  opts: { signal?: AbortSignal; testMode?: boolean } = {},
): HandlerContext & {
  published: PublishedRecord[];
  warnings: Array<{ step: string; message: string }>;
  progressed: Array<{ step: string; status: string; percent: number | undefined }>;
} {
  const ctx = recordingContext(opts);
  return Object.defineProperty(ctx, 'progressed', {
    get: () => ctx.progress.calls.map(([step, status, percent]) => ({ step, status, percent })),
  }) as typeof ctx & { progressed: Array<{ step: string; status: string; percent: number | undefined }> };
}

/** A validated clip.requested envelope for tests. */
export function clipRequested(
  data: EventOf<'clip.requested'>['data'],
  jobId = 'job-1',
): EventOf<'clip.requested'> {
  return testEvent('clip.requested', jobId, data, `clip.requested:${jobId}:${data.role}`);
}
