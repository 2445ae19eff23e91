// A HandlerContext for unit tests of handlers: it records what the handler does, and validates every
// published event's data against the contracts as the real Bus does (a handler that publishes bad data
// fails its test the way it would fail in production).
import { randomUUID } from 'node:crypto';
import { latestEvent, type EventDataInput, type EventOf, type EventType } from '@reelbus/contracts';
import { silentLogger } from '../logger.ts';
import type { HandlerContext } from '../bus/types.ts';

/** What the handler asked to publish: the validated data and the id it gave, if any. */
export interface PublishedRecord {
  type: EventType;
  jobId: string;
  id: string | undefined;
  data: unknown;
  /** The event was published as part of a test-mode job. */
  testMode?: boolean;
}

export interface RecordingContext extends HandlerContext {
  /** One entry per publish, in order. */
  published: PublishedRecord[];
  /** The same publishes as the envelopes the bus would send (a random id where none was given). */
  events: EventOf<EventType>[];
  progress: HandlerContext['progress'] & { calls: Parameters<HandlerContext['progress']>[] };
  warnings: { step: string; message: string }[];
  workingCalls: number;
}

export function recordingContext(
  opts: {
    signal?: AbortSignal;
    /** Shared between contexts, like one bus. */
    published?: PublishedRecord[];
    /** Also publish there (e.g. a real Bus), after recording. */
    bus?: Pick<HandlerContext, 'publish'>;
    deliveryCount?: number;
    lastAttempt?: boolean;
    /** The handled message's job is a test run (its publishes carry the flag, as the bus's do). */
    testMode?: boolean;
  } = {},
): RecordingContext {
  const {
    signal = new AbortController().signal,
    published = [],
    bus,
    deliveryCount = 1,
    lastAttempt = false,
    testMode = false,
  } = opts;
  const events: EventOf<EventType>[] = [];
  const calls: Parameters<HandlerContext['progress']>[] = [];
  const warnings: RecordingContext['warnings'] = [];
  const ctx: RecordingContext = {
    published,
    events,
    warnings,
    workingCalls: 0,
    logger: silentLogger(),
    deliveryCount,
    lastAttempt,
    signal,
    traceId: undefined,
    testMode,
    working() {
      ctx.workingCalls++;
    },
    progress: Object.assign(
      async (...args: Parameters<HandlerContext['progress']>) => {
        calls.push(args);
      },
      { calls },
    ),
    async warn(step, message) {
      warnings.push({ step, message });
    },
    async publish<T extends EventType>(
      type: T,
      jobId: string,
      data: EventDataInput<T>,
      popts?: { id?: string; testMode?: boolean },
    ) {
      const def = latestEvent(type);
      const parsed = def.data.parse(data);
      const test = popts?.testMode ?? testMode;
      published.push({ type, jobId, id: popts?.id, data: parsed, ...(test ? { testMode: true } : {}) });
      const event = {
        id: popts?.id ?? randomUUID(),
        type,
        version: def.version,
        jobId,
        occurredAt: new Date().toISOString(),
        ...(test ? { testMode: true } : {}),
        data: parsed,
      } as EventOf<T>;
      events.push(event as unknown as EventOf<EventType>);
      if (bus) return bus.publish(type, jobId, data, { ...popts, ...(test ? { testMode: true } : {}) });
      return event;
    },
  };
  return ctx;
}

/** A validated event of `type`, as a consumer receives it; its id is `<type>:<jobId>` unless given. */
export function testEvent<T extends EventType>(
  type: T,
  jobId: string,
  data: unknown,
  id = `${type}:${jobId}`,
  opts: { testMode?: boolean; occurredAt?: string } = {},
): EventOf<T> {
  const def = latestEvent(type);
  return {
    id,
    type,
    version: def.version,
    jobId,
    occurredAt: opts.occurredAt ?? new Date().toISOString(),
    ...(opts.testMode ? { testMode: true } : {}),
    data: def.data.parse(data),
  } as EventOf<T>;
}
