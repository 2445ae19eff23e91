import type { EventDataInput, EventOf, EventType } from '@reelbus/contracts';
import { silentLogger, type HandlerContext } from '@reelbus/kit';

export interface Published {
  type: EventType;
  jobId: string;
  data: unknown;
  id: string | undefined;
}

/** A HandlerContext that records what a handler publishes, warns and reports, for unit tests of handlers. */
export function newRecordingContext(opts: { signal?: AbortSignal } = {}): HandlerContext & {
  published: Published[];
  warnings: Array<{ step: string; message: string }>;
  progressed: Array<{ step: string; status: string; percent: number | undefined }>;
} {
  const published: Published[] = [];
  const warnings: Array<{ step: string; message: string }> = [];
  const progressed: Array<{ step: string; status: string; percent: number | undefined }> = [];
  return {
    published,
    warnings,
    progressed,
    logger: silentLogger(),
    deliveryCount: 1,
    lastAttempt: false,
    working: () => undefined,
    signal: opts.signal ?? new AbortController().signal,
    traceId: undefined,
    async progress(step, status, percent) {
      progressed.push({ step, status, percent });
    },
    async warn(step, message) {
      warnings.push({ step, message });
    },
    async publish<T extends EventType>(type: T, jobId: string, data: EventDataInput<T>, o?: { id?: string }) {
      published.push({ type, jobId, data, id: o?.id });
      return {
        id: o?.id ?? 'x',
        type,
        version: 1,
        jobId,
        occurredAt: new Date().toISOString(),
        data,
      } as unknown as EventOf<T>;
    },
  };
}

/** A clip.requested envelope for tests. */
export function clipRequested(
  data: EventOf<'clip.requested'>['data'],
  jobId = 'job-1',
): EventOf<'clip.requested'> {
  return {
    id: `clip.requested:${jobId}:${data.role}`,
    type: 'clip.requested',
    version: 1,
    jobId,
    occurredAt: new Date().toISOString(),
    data,
  } as EventOf<'clip.requested'>;
}
