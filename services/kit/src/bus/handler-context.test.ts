import type { EventDataInput, EventOf, EventType } from '@reelbus/contracts';
import { describe, expect, it } from 'vitest';
import { TransientError } from '../errors.ts';
import { silentLogger } from '../logger.ts';
import { buildEnvelope } from './bus.ts';
import { createHandlerContext, type HandlerContextOptions } from './handler-context.ts';
import type { Publisher } from './types.ts';

/** A publisher that validates like the Bus (buildEnvelope) and records what it was asked to send. */
function recordingPublisher(opts: { failOn?: EventType } = {}) {
  const sent: Array<{ type: EventType; jobId: string; data: unknown; id: string | undefined }> = [];
  const publisher: Publisher = {
    async publish<T extends EventType>(
      type: T,
      jobId: string,
      data: EventDataInput<T>,
      popts?: { id?: string },
    ): Promise<EventOf<T>> {
      if (type === opts.failOn) throw new TransientError(`cannot publish ${type}: connection closed`);
      const event = buildEnvelope({ type, jobId, data, id: popts?.id });
      sent.push({ type, jobId, data: event.data, id: popts?.id });
      return event;
    },
  };
  return { publisher, sent };
}

function context(over: Partial<HandlerContextOptions> = {}) {
  const rec = recordingPublisher();
  let clock = 10_000;
  let beats = 0;
  const ctx = createHandlerContext({
    publisher: rec.publisher,
    jobId: 'job_ctx',
    logger: silentLogger(),
    deliveryCount: 2,
    maxDeliver: 5,
    signal: new AbortController().signal,
    traceId: 'a'.repeat(32),
    working: () => void beats++,
    now: () => clock,
    ...over,
  });
  return {
    ctx,
    sent: rec.sent,
    tick: (ms: number) => void (clock += ms),
    beats: () => beats,
  };
}

describe('createHandlerContext', () => {
  it('says which delivery this is and whether it is the last one', () => {
    expect(context().ctx).toMatchObject({ deliveryCount: 2, lastAttempt: false, traceId: 'a'.repeat(32) });
    expect(context({ deliveryCount: 5 }).ctx.lastAttempt).toBe(true);
  });

  it('reports progress for the job with the attempt, at most once a second per step and status', async () => {
    const { ctx, sent, tick } = context();
    await ctx.progress('encode', 'started');
    await ctx.progress('encode', 'running', 10);
    tick(400);
    await ctx.progress('encode', 'running', 20); // same status within a second: dropped
    await ctx.progress('upload', 'running', 5); // another step has its own clock
    tick(700);
    await ctx.progress('encode', 'running', 30);
    await ctx.progress('encode', 'completed', 100); // a new status always goes out
    expect(sent.map((s) => [s.jobId, s.data])).toEqual([
      ['job_ctx', { step: 'encode', status: 'started', attempt: 2 }],
      ['job_ctx', { step: 'encode', status: 'running', percent: 10, attempt: 2 }],
      ['job_ctx', { step: 'upload', status: 'running', percent: 5, attempt: 2 }],
      ['job_ctx', { step: 'encode', status: 'running', percent: 30, attempt: 2 }],
      ['job_ctx', { step: 'encode', status: 'completed', percent: 100, attempt: 2 }],
    ]);
  });

  it("carries the render detail (phase, chunks, frames, a chunk's frames, eta) and lets a new phase through the rate limit", async () => {
    const { ctx, sent, tick } = context();
    await ctx.progress('encode', 'running', 5, 'planned', {
      phase: 'preparing',
      chunks: { done: 0, total: 4 },
      frames: { done: 0, total: 3600 },
    });
    tick(100);
    await ctx.progress('encode', 'running', 6, undefined, { phase: 'rendering' }); // a new phase: sent
    tick(100);
    await ctx.progress('encode', 'running', 7, undefined, { chunk: { index: 1, frames: 30 } }); // same phase, too soon
    tick(1000);
    await ctx.progress('encode', 'running', 8, undefined, { chunk: { index: 1, frames: 300 }, etaSec: 42 });
    expect(sent.map((s) => s.data)).toEqual([
      {
        step: 'encode',
        status: 'running',
        percent: 5,
        message: 'planned',
        attempt: 2,
        phase: 'preparing',
        chunks: { done: 0, total: 4 },
        frames: { done: 0, total: 3600 },
      },
      { step: 'encode', status: 'running', percent: 6, attempt: 2, phase: 'rendering' },
      {
        step: 'encode',
        status: 'running',
        percent: 8,
        attempt: 2,
        chunk: { index: 1, frames: 300 },
        etaSec: 42,
      },
    ]);
  });

  it('clamps the percent and cuts long messages to what the contract allows', async () => {
    const { ctx, sent } = context();
    await ctx.progress('encode', 'running', 140, 'x'.repeat(3000));
    await ctx.progress('render', 'running', -3);
    await ctx.warn('images', 'y'.repeat(2500));
    expect(sent[0]!.data).toMatchObject({ percent: 100 });
    expect((sent[0]!.data as { message: string }).message).toHaveLength(2000);
    expect(sent[1]!.data).toMatchObject({ percent: 0 });
    expect(sent[2]).toMatchObject({ type: 'job.warning', jobId: 'job_ctx' });
    expect((sent[2]!.data as { message: string }).message).toHaveLength(2000);
  });

  it('does not fail the work when a progress report cannot be published, but a warning can fail', async () => {
    const failing = recordingPublisher({ failOn: 'job.progress' });
    const ctx = createHandlerContext({
      publisher: failing.publisher,
      jobId: 'job_ctx',
      logger: silentLogger(),
      deliveryCount: 1,
      maxDeliver: 5,
      signal: new AbortController().signal,
      traceId: undefined,
      working: () => undefined,
    });
    await expect(ctx.progress('encode', 'started')).resolves.toBeUndefined();
    const warnFails = recordingPublisher({ failOn: 'job.warning' });
    const ctx2 = createHandlerContext({
      publisher: warnFails.publisher,
      jobId: 'job_ctx',
      logger: silentLogger(),
      deliveryCount: 1,
      maxDeliver: 5,
      signal: new AbortController().signal,
      traceId: undefined,
      working: () => undefined,
    });
    await expect(ctx2.warn('images', 'skipped')).rejects.toThrow(/cannot publish job.warning/);
  });

  it('publishes any event through the bound publisher and passes working() and the signal through', async () => {
    const ac = new AbortController();
    const { ctx, sent, beats } = context({ signal: ac.signal });
    await ctx.publish('job.warning', 'job_other', { step: 'images', message: 'x' }, { id: 'w1' });
    expect(sent).toEqual([
      { type: 'job.warning', jobId: 'job_other', data: { step: 'images', message: 'x' }, id: 'w1' },
    ]);
    ctx.working();
    ctx.working();
    expect(beats()).toBe(2);
    ac.abort(new Error('stop'));
    expect(ctx.signal.aborted).toBe(true);
  });
});
