import { parseEnvelope } from '@reelbus/contracts';
import { describe, expect, it } from 'vitest';
import { JobCancelledError, PermanentError, TransientError } from '../errors.ts';
import { abortError } from '../ffmpeg/errors.ts';
import { admit, backoffDelay, settle, type HandlerResult, type Settlement } from './settle.ts';

// The consume loop's decisions, case by case, with no NATS: what each handler result, delivery
// count and cancellation state turns into.

const base = { step: 'encode', deliveryCount: 1, maxDeliver: 3, backoffMs: [100, 200], cancelled: false };

const cases: Array<[string, HandlerResult & Partial<typeof base>, Settlement]> = [
  ['a handler that returns nothing is acked', { outcome: undefined }, { action: 'ack', as: 'ok' }],
  ['an ok outcome is acked', { outcome: { outcome: 'ok' } }, { action: 'ack', as: 'ok' }],
  [
    'a skip outcome is acked with its reason',
    { outcome: { outcome: 'skip', reason: 'already encoded' } },
    { action: 'ack', as: 'skip', reason: 'already encoded' },
  ],
  [
    'a fail outcome is dead-lettered at once at its own step, permanent',
    { outcome: { outcome: 'fail', step: 'split', reason: 'one channel only' } },
    { action: 'deadLetter', reason: 'one channel only', step: 'split', permanent: true },
  ],
  [
    'a PermanentError is dead-lettered at the step it names',
    { error: new PermanentError('recording.wav is not audio', { step: 'download' }) },
    { action: 'deadLetter', reason: 'recording.wav is not audio', step: 'download', permanent: true },
  ],
  [
    "a PermanentError without a step is dead-lettered at the handler's step",
    { error: new PermanentError('bad timeline') },
    { action: 'deadLetter', reason: 'bad timeline', step: 'encode', permanent: true },
  ],
  [
    'an error marked permanent (not a PermanentError) is dead-lettered too',
    { error: Object.assign(new Error('quota exceeded for good'), { permanent: true }) },
    { action: 'deadLetter', reason: 'quota exceeded for good', step: 'encode', permanent: true },
  ],
  [
    'a transient error on the first delivery is retried after the first backoff',
    { error: new TransientError('provider timed out') },
    { action: 'nak', delayMs: 100, reason: 'provider timed out' },
  ],
  [
    'a plain Error is transient',
    { error: new Error('socket hang up'), deliveryCount: 2 },
    { action: 'nak', delayMs: 200, reason: 'socket hang up' },
  ],
  [
    'the last backoff repeats past the end of the list',
    { error: new Error('busy'), deliveryCount: 4, maxDeliver: 10 },
    { action: 'nak', delayMs: 200, reason: 'busy' },
  ],
  [
    'no backoff list means an immediate redelivery',
    { error: new Error('busy'), backoffMs: [] },
    { action: 'nak', delayMs: 0, reason: 'busy' },
  ],
  [
    'a thrown string is transient and described',
    { error: 'weird' },
    { action: 'nak', delayMs: 100, reason: 'weird' },
  ],
  [
    'a transient error on the last delivery MaxDeliver allows is dead-lettered, not permanent',
    { error: new TransientError('provider timed out', { step: 'generate' }), deliveryCount: 3 },
    {
      action: 'deadLetter',
      reason: 'gave up after 3 attempts: provider timed out',
      step: 'generate',
      permanent: false,
    },
  ],
  [
    'a delivery beyond MaxDeliver (lowered since) is dead-lettered too',
    { error: new Error('busy'), deliveryCount: 7 },
    { action: 'deadLetter', reason: 'gave up after 7 attempts: busy', step: 'encode', permanent: false },
  ],
  [
    "an error's causes are part of the reason",
    { error: new TransientError('cannot upload', { cause: new Error('ECONNRESET') }) },
    { action: 'nak', delayMs: 100, reason: 'cannot upload: ECONNRESET' },
  ],
  [
    'a handler aborted because its job was cancelled settles as cancelled, not as a retry',
    { error: abortError('encode', new JobCancelledError({ jobId: 'job_1' })), cancelled: true },
    { action: 'cancelled' },
  ],
  [
    'any error of a cancelled job settles as cancelled, even on the last attempt',
    { error: new TransientError('killed'), cancelled: true, deliveryCount: 3 },
    { action: 'cancelled' },
  ],
  [
    'a permanent error of a cancelled job settles as cancelled (no job.failed after a cancel)',
    { error: new PermanentError('bad input'), cancelled: true },
    { action: 'cancelled' },
  ],
  [
    'a fail outcome of a cancelled job settles as cancelled',
    { outcome: { outcome: 'fail', step: 'encode', reason: 'aborted' }, cancelled: true },
    { action: 'cancelled' },
  ],
  [
    'a JobCancelledError (or one as the cause) means cancelled even before the set knows it',
    { error: new Error('provider call aborted', { cause: new JobCancelledError({ jobId: 'job_1' }) }) },
    { action: 'cancelled' },
  ],
  [
    'a handler that finished its work although the job was cancelled is acked as done',
    { outcome: { outcome: 'ok' }, cancelled: true },
    { action: 'ack', as: 'ok' },
  ],
  [
    'a skip of a cancelled job is acked as a skip',
    { outcome: { outcome: 'skip', reason: 'duplicate' }, cancelled: true },
    { action: 'ack', as: 'skip', reason: 'duplicate' },
  ],
];

describe('settle', () => {
  it.each(cases)('%s', (_name, input, expected) => {
    expect(settle({ ...base, ...input } as Parameters<typeof settle>[0])).toEqual(expected);
  });
});

describe('backoffDelay', () => {
  it.each([
    [1, [1_000, 2_000, 4_000], undefined, 1_000],
    [3, [1_000, 2_000, 4_000], undefined, 4_000],
    [9, [1_000, 2_000, 4_000], undefined, 4_000],
    [1, [], undefined, 0],
    [2, [], 1_000, 1_000],
    [0, [500], undefined, 500],
  ])('after delivery %i with %j (fallback %s) waits %i ms', (deliveryCount, backoffMs, fallbackMs, ms) => {
    expect(
      backoffDelay({ deliveryCount, backoffMs, ...(fallbackMs === undefined ? {} : { fallbackMs }) }),
    ).toBe(ms);
  });
});

describe('admit', () => {
  const event = {
    id: 'e1',
    type: 'job.warning',
    version: 1,
    jobId: 'job_1',
    occurredAt: '2026-01-01T00:00:00.000Z',
    data: { step: 'images', message: 'x' },
  };
  const good = parseEnvelope(JSON.stringify(event));
  const opts: Parameters<typeof admit>[0] = {
    parsed: good,
    type: 'job.warning',
    step: 'compose',
    service: 'worker',
    replayFor: undefined,
    cancelled: false,
  };

  it('hands a valid event of its type to the handler', () => {
    expect(good.ok).toBe(true);
    const a = admit(opts);
    expect(a.action).toBe('handle');
    expect(a.action === 'handle' && a.event.id).toBe('e1');
  });

  it.each<[string, Partial<typeof opts>, Settlement]>([
    [
      'skips a replayed dead letter meant for another service',
      { replayFor: 'encoder' },
      { action: 'ack', as: 'skip', reason: 'replayed dead letter meant for encoder' },
    ],
    [
      'settles a message of a cancelled job without the handler',
      { cancelled: true },
      { action: 'cancelled' },
    ],
    [
      'settles even a malformed message of a cancelled job as cancelled',
      { cancelled: true, parsed: parseEnvelope('{not json') },
      { action: 'cancelled' },
    ],
    [
      'dead-letters bytes that are not JSON as poison, permanent, at the handler step',
      { parsed: parseEnvelope('{not json') },
      {
        action: 'deadLetter',
        reason: expect.stringMatching(/^poison message: message is not valid JSON/) as unknown as string,
        step: 'compose',
        permanent: true,
      },
    ],
    [
      'dead-letters an event of another type on this subject as poison',
      {
        parsed: parseEnvelope(
          JSON.stringify({ ...event, type: 'job.progress', data: { step: 'a', status: 'started' } }),
        ),
      },
      {
        action: 'deadLetter',
        reason: 'poison message: a job.progress event on the job.warning subject',
        step: 'compose',
        permanent: true,
      },
    ],
  ])('%s', (_name, input, expected) => {
    expect(admit({ ...opts, ...input })).toEqual(expected);
  });

  it('always hands job.cancelled itself to its handler, even though its job is cancelled', () => {
    const cancel = parseEnvelope(JSON.stringify({ ...event, type: 'job.cancelled', data: { by: 'ops' } }));
    expect(admit({ ...opts, type: 'job.cancelled', parsed: cancel, cancelled: true }).action).toBe('handle');
  });

  it('handles a replay meant for this very service', () => {
    expect(admit({ ...opts, replayFor: 'worker' }).action).toBe('handle');
  });
});
