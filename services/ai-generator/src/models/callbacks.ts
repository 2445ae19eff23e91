/*
 * Provider webhook bodies → the facts of a `generation.callback` event. Pure: ingest calls these after the
 * signature was verified.
 */

export interface CallbackFacts {
  requestId: string;
  status: 'succeeded' | 'failed' | 'canceled';
  output?: unknown;
  error?: string;
  computeSec?: number;
  completedAt?: string;
}

/** What is wrong with a webhook body (answered 400). */
export class CallbackBodyError extends Error {
  override name = 'CallbackBodyError';
}

/**
 * A Replicate webhook body is the prediction (`id`, `status`, `output`, `error`, `metrics.predict_time`,
 * `completed_at`). Only terminal statuses are callbacks (we ask for `completed` events only); anything else is
 * `undefined` (acknowledged, nothing published).
 */
export function replicateCallback(body: unknown): CallbackFacts | undefined {
  if (!body || typeof body !== 'object') throw new CallbackBodyError('the body is not a JSON object');
  const p = body as Record<string, unknown>;
  if (typeof p.id !== 'string' || !p.id)
    throw new CallbackBodyError('id: missing (not a Replicate prediction)');
  const status = p.status;
  if (status !== 'succeeded' && status !== 'failed' && status !== 'canceled' && status !== 'aborted')
    return undefined;
  const metrics = p.metrics as { predict_time?: unknown } | null | undefined;
  const error =
    p.error === null || p.error === undefined || p.error === ''
      ? undefined
      : typeof p.error === 'string'
        ? p.error
        : JSON.stringify(p.error);
  const completedAt =
    typeof p.completed_at === 'string' && !Number.isNaN(Date.parse(p.completed_at))
      ? new Date(p.completed_at).toISOString()
      : undefined;
  return {
    requestId: p.id,
    status: status === 'aborted' ? 'canceled' : status,
    ...(status === 'succeeded' ? { output: p.output } : {}),
    ...(error ? { error: error.slice(0, 4000) } : {}),
    ...(typeof metrics?.predict_time === 'number' && metrics.predict_time >= 0
      ? { computeSec: metrics.predict_time }
      : {}),
    ...(completedAt ? { completedAt } : {}),
  };
}

/**
 * A fal webhook body: `{ request_id, gateway_request_id, status: "OK" | "ERROR", payload, error?, payload_error? }`.
 * The payload of an OK is the model's result; of an ERROR, its details.
 */
export function falCallback(body: unknown, opts: { completedAt?: string } = {}): CallbackFacts {
  if (!body || typeof body !== 'object') throw new CallbackBodyError('the body is not a JSON object');
  const b = body as Record<string, unknown>;
  if (typeof b.request_id !== 'string' || !b.request_id)
    throw new CallbackBodyError('request_id: missing (not a fal webhook)');
  if (b.status === 'OK') {
    if (b.payload === null || b.payload === undefined) {
      return {
        requestId: b.request_id,
        status: 'failed',
        error: `fal could not send the result: ${typeof b.payload_error === 'string' ? b.payload_error : 'no payload'}`,
        ...(opts.completedAt ? { completedAt: opts.completedAt } : {}),
      };
    }
    return {
      requestId: b.request_id,
      status: 'succeeded',
      output: b.payload,
      ...(opts.completedAt ? { completedAt: opts.completedAt } : {}),
    };
  }
  if (b.status === 'ERROR') {
    const detail = (b.payload as { detail?: unknown } | null | undefined)?.detail;
    const details =
      typeof detail === 'string'
        ? detail
        : Array.isArray(detail)
          ? detail
              .map((d: { loc?: unknown[]; msg?: string }) => `${(d.loc ?? []).join('.')}: ${d.msg ?? ''}`)
              .join('; ')
          : '';
    const error = [typeof b.error === 'string' ? b.error : 'fal reported an error', details]
      .filter(Boolean)
      .join(': ');
    return {
      requestId: b.request_id,
      status: 'failed',
      error: error.slice(0, 4000),
      ...(opts.completedAt ? { completedAt: opts.completedAt } : {}),
    };
  }
  throw new CallbackBodyError(`status: must be "OK" or "ERROR" (got ${JSON.stringify(b.status)})`);
}
