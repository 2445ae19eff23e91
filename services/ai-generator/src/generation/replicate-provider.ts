import { openAsBlob } from 'node:fs';
import { basename } from 'node:path';
import Replicate from 'replicate';
import { ProviderError, type RemoteProvider, type RemoteState } from './types.ts';

export interface ReplicateProviderOptions {
  /** REPLICATE_API_TOKEN. */
  token: string;
  /** Replicate's API root (default https://api.replicate.com/v1); a local server speaking its protocol in tests. */
  baseUrl?: string | undefined;
  /** Timeout of one HTTP request. */
  requestTimeoutMs?: number;
}

/** A Replicate prediction as its API returns it (the fields reelbus reads). */
export interface ReplicatePrediction {
  id: string;
  status: 'starting' | 'processing' | 'succeeded' | 'failed' | 'canceled' | 'aborted';
  output?: unknown;
  error?: unknown;
  logs?: string | null;
  metrics?: { predict_time?: number; total_time?: number } | null;
  completed_at?: string | null;
}

/** A prediction as reelbus sees it: running, succeeded (output, billed compute seconds), failed, canceled. */
export function predictionState(p: ReplicatePrediction): RemoteState {
  switch (p.status) {
    case 'succeeded':
      return {
        state: 'succeeded',
        output: p.output,
        ...(typeof p.metrics?.predict_time === 'number' ? { computeSec: p.metrics.predict_time } : {}),
      };
    case 'failed':
      return {
        state: 'failed',
        error: errorText(p.error) ?? 'the prediction failed without an error message',
      };
    case 'canceled':
    case 'aborted':
      return { state: 'canceled' };
    default:
      return {
        state: 'running',
        message: p.status,
        ...(p.status === 'processing' ? { percent: 30 } : { percent: 5 }),
      };
  }
}

function errorText(e: unknown): string | undefined {
  if (e === null || e === undefined || e === '') return undefined;
  return typeof e === 'string' ? e : JSON.stringify(e);
}

/** `owner/name:version` → { version }; `owner/name` → { model } (official models run by name). */
export function replicateTarget(ref: string): { model: `${string}/${string}` } | { version: string } {
  const [name, version] = ref.split(':');
  return version ? { version } : { model: name as `${string}/${string}` };
}

/** Replicate's message from an ApiError ("Request to … failed with status 422 …: {"detail": …}"). */
export function replicateMessage(err: unknown): { message: string; status: number | undefined } {
  const e = err as { name?: string; message?: string; response?: { status?: number } };
  const status = e.response?.status;
  const text = e.message ?? String(err);
  const body = /: (\{.*\})\.?$/s.exec(text)?.[1];
  if (body) {
    try {
      const j = JSON.parse(body) as { detail?: unknown; title?: unknown };
      const detail =
        typeof j.detail === 'string' ? j.detail : j.detail ? JSON.stringify(j.detail) : undefined;
      if (detail) return { message: `HTTP ${status ?? '?'}: ${detail}`, status };
    } catch {
      // not JSON: keep the whole message
    }
  }
  return { message: text, status };
}

function toProviderError(step: string, err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  const { message, status } = replicateMessage(err);
  const retryable = status === undefined || status === 429 || status === 408 || status >= 500;
  return new ProviderError(`replicate ${step}: ${message}`, retryable, { cause: err, status });
}

/**
 * Replicate through its official client: predictions created with a webhook (only `completed` events), read
 * by id, cancelled. The client retries 429 (and 5xx on reads) itself; what is left is mapped to
 * ProviderError (retryable or not).
 */
export function createReplicateProvider(opts: ReplicateProviderOptions): RemoteProvider {
  const { token, baseUrl, requestTimeoutMs = 30_000 } = opts;
  const client = new Replicate({
    auth: token,
    ...(baseUrl ? { baseUrl } : {}),
    userAgent: 'reelbus',
    // every request gets a timeout: the client has none of its own
    fetch: (input, init) => {
      const signal = init?.signal
        ? AbortSignal.any([init.signal, AbortSignal.timeout(requestTimeoutMs)])
        : AbortSignal.timeout(requestTimeoutMs);
      return fetch(input, { ...init, signal });
    },
  });

  return {
    kind: 'remote',
    name: 'replicate',
    async hostFile({ path }) {
      try {
        const blob = await openAsBlob(path);
        const file = await client.files.create(new File([blob], basename(path), { type: blob.type }));
        return file.urls.get;
      } catch (err) {
        throw toProviderError('file upload', err);
      }
    },
    async submit({ model, input, webhookUrl, signal }) {
      try {
        const p = (await client.predictions.create({
          ...replicateTarget(model.ref),
          input,
          ...(webhookUrl ? { webhook: webhookUrl, webhook_events_filter: ['completed'] } : {}),
          signal,
        })) as ReplicatePrediction;
        return { requestId: p.id };
      } catch (err) {
        throw toProviderError(`create prediction for ${model.ref}`, err);
      }
    },
    async status({ requestId, signal }) {
      try {
        const p = (await client.predictions.get(requestId, { signal })) as ReplicatePrediction;
        return predictionState(p);
      } catch (err) {
        throw toProviderError(`get prediction ${requestId}`, err);
      }
    },
    async cancel({ requestId }) {
      try {
        await client.predictions.cancel(requestId);
      } catch (err) {
        throw toProviderError(`cancel prediction ${requestId}`, err);
      }
    },
  };
}
