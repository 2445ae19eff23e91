import { openAsBlob } from 'node:fs';
import { ApiError, createFalClient, type RequestMiddleware } from '@fal-ai/client';
import { falMessage, rewriteFalUrl } from '../providers/fal.ts';
import { ProviderError, type RemoteProvider } from './types.ts';

export interface FalGenerationOptions {
  /** FAL_KEY; may be absent when `baseUrl` is a proxy that adds it. */
  credentials: string | undefined;
  /** Send every fal call here (a proxy, or a local server speaking fal's queue protocol). */
  baseUrl?: string | undefined;
}

function toProviderError(step: string, err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  const status = err instanceof ApiError ? err.status : undefined;
  const retryable = status === undefined || status === 429 || status === 408 || status >= 500;
  return new ProviderError(`fal ${step}: ${falMessage(err)}`, retryable, { cause: err, status });
}

/**
 * fal.ai's queue API through `@fal-ai/client`: submit with a webhook URL (fal POSTs the result there,
 * signed with ED25519), status, result, cancel. Media inputs from the filesystem go up through fal storage.
 */
export function createFalGenerationProvider(opts: FalGenerationOptions): RemoteProvider {
  const { credentials, baseUrl } = opts;
  const requestMiddleware: RequestMiddleware | undefined = baseUrl
    ? async (req) => ({ ...req, url: rewriteFalUrl({ url: req.url, baseUrl }) })
    : undefined;
  const client = createFalClient({
    ...(credentials ? { credentials } : {}),
    ...(requestMiddleware ? { requestMiddleware } : {}),
    suppressLocalCredentialsWarning: true,
  });
  return {
    kind: 'remote',
    name: 'fal',
    async hostFile({ path }) {
      try {
        return await client.storage.upload(await openAsBlob(path));
      } catch (err) {
        throw toProviderError('storage upload', err);
      }
    },
    async submit({ model, input, webhookUrl, signal }) {
      try {
        const r = await client.queue.submit(model.ref, {
          input,
          ...(webhookUrl ? { webhookUrl } : {}),
          abortSignal: signal,
        } as never);
        return { requestId: r.request_id };
      } catch (err) {
        throw toProviderError(`submit to ${model.ref}`, err);
      }
    },
    async status({ model, requestId, signal }) {
      let status;
      try {
        status = await client.queue.status(model.ref, { requestId, logs: false, abortSignal: signal });
      } catch (err) {
        throw toProviderError(`status of ${model.ref} request ${requestId}`, err);
      }
      if (status.status === 'IN_QUEUE') return { state: 'running', percent: 5, message: 'queued' };
      if (status.status === 'IN_PROGRESS') return { state: 'running', percent: 30, message: 'generating' };
      const failed = (status as { error?: unknown }).error;
      try {
        const result = await client.queue.result(model.ref, { requestId, abortSignal: signal });
        if (failed) return { state: 'failed', error: String(failed) };
        return { state: 'succeeded', output: result.data };
      } catch (err) {
        const e = toProviderError(`result of ${model.ref} request ${requestId}`, err);
        // a 4xx result is the model's own failure (e.g. 422 invalid input), not a passing problem; its
        // `detail` says more than the status's one-line `error`
        if (!e.retryable) return { state: 'failed', error: e.message };
        if (failed) return { state: 'failed', error: String(failed) };
        throw e;
      }
    },
    async cancel({ model, requestId }) {
      try {
        await client.queue.cancel(model.ref, { requestId });
      } catch (err) {
        throw toProviderError(`cancel ${model.ref} request ${requestId}`, err);
      }
    },
  };
}
