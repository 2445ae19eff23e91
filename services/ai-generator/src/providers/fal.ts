import { createWriteStream } from 'node:fs';
import { openAsBlob } from 'node:fs';
import { extname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ApiError, createFalClient, type QueueStatus, type RequestMiddleware } from '@fal-ai/client';
import { PermanentError, TransientError, probe, withSpan } from '@reelbus/kit';
import type { ModelRegistry } from '../models/registry.ts';
import { modelSpec } from './registry.ts';
import type { AvatarProvider, GenerateRequest, GeneratedClip } from './types.ts';

/** The hosts the fal client talks to (queue, synchronous run, storage REST). */
const FAL_HOSTS = new Set(['queue.fal.run', 'fal.run', 'rest.fal.ai', 'rest.alpha.fal.ai']);

/** `https://queue.fal.run/fal-ai/x/requests/1?logs=1` → `<baseUrl>/fal-ai/x/requests/1?logs=1`; other URLs unchanged. */
export function rewriteFalUrl(opts: { url: string; baseUrl: string }): string {
  const { url, baseUrl } = opts;
  const u = new URL(url);
  if (!FAL_HOSTS.has(u.host)) return url;
  return `${baseUrl.replace(/\/+$/, '')}${u.pathname}${u.search}`;
}

export interface FalProviderOptions {
  /** FAL_KEY; may be absent when `baseUrl` is a proxy that adds it. */
  credentials: string | undefined;
  model: string;
  /** Send every fal call here (proxy, or a local server speaking fal's queue protocol). */
  baseUrl?: string | undefined;
  timeoutMs: number;
  retries: number;
  retryBaseMs: number;
  pollIntervalMs: number;
  prompt: string;
  /** The model registry (the shipped infra/models.yaml by default). */
  registry?: ModelRegistry | undefined;
}

/** A fal request failed: names the step, the model and fal's own message. */
export class FalError extends TransientError {
  override name = 'FalError';
  constructor(
    message: string,
    readonly retryable: boolean,
    cause?: unknown,
  ) {
    super(message, { step: 'generate', cause });
  }
}

/**
 * Talking-avatar clips from a fal.ai model through the queue API (submit, poll status, fetch result).
 * Inputs go over as hosted URLs (presigned S3) or fal storage uploads. The whole clip, retries included, must finish
 * within `timeoutMs` (the running request is cancelled when it does not); failures are retried `retries` times with
 * exponential backoff.
 */
export function createFalProvider(opts: FalProviderOptions): AvatarProvider {
  const { credentials, model, baseUrl, timeoutMs, retries, retryBaseMs, pollIntervalMs, prompt, registry } =
    opts;
  const spec = modelSpec(model, registry);
  const requestMiddleware: RequestMiddleware | undefined = baseUrl
    ? async (req) => ({ ...req, url: rewriteFalUrl({ url: req.url, baseUrl }) })
    : undefined;
  // A client per provider (not the `fal` singleton's global config) so tests and models never share settings.
  const client = createFalClient({
    ...(credentials ? { credentials } : {}),
    ...(requestMiddleware ? { requestMiddleware } : {}),
    suppressLocalCredentialsWarning: true,
  });
  const what = `fal model ${model}`;

  async function hostInput(
    req: GenerateRequest,
    path: string,
    kind: 'audio' | 'image',
    signal: AbortSignal,
  ): Promise<string> {
    const hosted = await req.hostFile?.({ path, kind });
    if (hosted) return hosted;
    signal.throwIfAborted();
    try {
      // openAsBlob: a file-backed Blob, so the upload streams from disk instead of memory
      return await client.storage.upload(await openAsBlob(path, { type: contentTypeOf(path, kind) }));
    } catch (err) {
      throw new FalError(
        `generate: uploading the ${kind} to fal storage for ${what} failed: ${falMessage(err)}`,
        isRetryable(err),
        err,
      );
    }
  }

  /** One fal.ai queue request (submit, poll, result) in a CLIENT span. */
  const attempt = (req: GenerateRequest, input: Record<string, unknown>, signal: AbortSignal) =>
    withSpan(
      'fal generate',
      { 'server.address': 'queue.fal.run', 'reelbus.fal.model': model, 'reelbus.role': req.role },
      () => attemptUntraced(req, input, signal),
      { kind: 'client' },
    );

  async function attemptUntraced(
    req: GenerateRequest,
    input: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<string> {
    const { logger } = req;
    let requestId: string | undefined;
    try {
      const submitted = await client.queue.submit(model, { input, abortSignal: signal } as never);
      requestId = submitted.request_id;
      logger.info({ model, requestId }, 'fal request submitted');
      let status: QueueStatus = submitted;
      while (status.status !== 'COMPLETED') {
        req.onProgress?.(
          status.status === 'IN_QUEUE' ? 5 : 30,
          status.status === 'IN_QUEUE' ? `queued at ${status.queue_position ?? '?'}` : 'generating',
        );
        await sleep(pollIntervalMs, undefined, { signal });
        status = await client.queue.status(model, { requestId, logs: true, abortSignal: signal });
      }
      const failed = (status as { error?: unknown }).error;
      if (failed)
        throw new FalError(`generate: ${what} request ${requestId} failed: ${String(failed)}`, true);
      req.onProgress?.(80, 'downloading');
      const result = await client.queue.result(model, { requestId, abortSignal: signal });
      const url = (result.data as { video?: { url?: unknown } } | undefined)?.video?.url;
      if (typeof url !== 'string' || !url) {
        throw new FalError(
          `generate: ${what} request ${requestId} returned no video.url (got ${JSON.stringify(result.data).slice(0, 200)})`,
          false,
        );
      }
      return url;
    } catch (err) {
      if (signal.aborted && requestId) {
        // the client has no request timeout of its own: tell fal to stop working (and billing) on it
        await client.queue
          .cancel(model, { requestId })
          .catch((e: unknown) => logger.warn({ err: e, requestId }, 'fal cancel failed'));
      }
      if (err instanceof FalError || signal.aborted) throw err;
      throw new FalError(
        `generate: ${what}${requestId ? ` request ${requestId}` : ''} failed: ${falMessage(err)}`,
        isRetryable(err),
        err,
      );
    }
  }

  async function download(url: string, file: string, signal: AbortSignal): Promise<void> {
    const res = await fetch(url, { signal }).catch((err: unknown) => {
      throw new FalError(`generate: downloading the ${what} result failed: ${falMessage(err)}`, true, err);
    });
    if (!res.ok || !res.body)
      throw new FalError(
        `generate: downloading the ${what} result failed: HTTP ${res.status} for ${url}`,
        res.status >= 500,
      );
    await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), createWriteStream(file), {
      signal,
    });
  }

  return {
    name: 'fal',
    model,
    exactOutput: false,
    async generate(req: GenerateRequest): Promise<GeneratedClip> {
      const { logger } = req;
      if (!req.imagePath)
        throw new PermanentError(
          `generate: ${what} needs a face image (job callerImage/calleeImage or DEFAULT_*_IMAGE)`,
          { step: 'generate' },
        );
      const timeout = new AbortController();
      const timer = setTimeout(() => timeout.abort(new Error('timed out')), timeoutMs);
      const signal = AbortSignal.any([req.signal, timeout.signal]);
      const file = join(req.outDir, `fal-${req.role}.mp4`);
      try {
        let lastError: unknown;
        for (let n = 0; n <= retries; n++) {
          try {
            const [imageUrl, audioUrl] = await Promise.all([
              hostInput(req, req.imagePath, 'image', signal),
              hostInput(req, req.audioPath, 'audio', signal),
            ]);
            const url = await attempt(req, spec.buildInput({ imageUrl, audioUrl, prompt }), signal);
            await download(url, file, signal);
            const info = await probe(file);
            return {
              file,
              durationSec: info.durationSec,
              width: info.video?.width ?? 0,
              height: info.video?.height ?? 0,
            };
          } catch (err) {
            // the job was cancelled (or the service stops): the abort's reason, not the SDK's AbortError
            if (req.signal.aborted) throw req.signal.reason instanceof Error ? req.signal.reason : err;
            if (timeout.signal.aborted) break;
            lastError = err;
            const retryable = !(err instanceof FalError) || err.retryable;
            logger.warn({ err, attempt: n + 1, of: retries + 1, retryable, model }, 'fal attempt failed');
            if (!retryable || n === retries) throw withAttempts(err, n + 1);
            await sleep(retryBaseMs * 2 ** n, undefined, { signal }).catch(() => undefined);
            if (timeout.signal.aborted) break;
          }
        }
        if (timeout.signal.aborted) {
          throw new FalError(
            `generate: ${what} timed out after ${timeoutMs} ms (FAL_TIMEOUT_MS)${lastError ? `; earlier: ${falMessage(lastError)}` : ''}`,
            false,
          );
        }
        throw withAttempts(lastError, retries + 1);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

function withAttempts(err: unknown, attempts: number): Error {
  if (err instanceof FalError)
    return new FalError(
      `${err.message} (after ${attempts} attempt${attempts > 1 ? 's' : ''})`,
      err.retryable,
      err.cause ?? err,
    );
  return err instanceof Error ? err : new Error(String(err));
}

/** fal's own message: ApiError bodies carry `detail` (a string or a list of validation errors). */
export function falMessage(err: unknown): string {
  if (err instanceof ApiError) {
    const body = err.body as { detail?: unknown; message?: unknown } | undefined;
    const detail = body?.detail;
    const text =
      typeof detail === 'string'
        ? detail
        : Array.isArray(detail)
          ? detail
              .map((d: { msg?: string; loc?: unknown[] }) => `${(d.loc ?? []).join('.')}: ${d.msg ?? ''}`)
              .join('; ')
          : '';
    return `HTTP ${err.status} ${err.message}${text && text !== err.message ? `: ${text}` : ''}`;
  }
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
    return `${err.message}${cause}`;
  }
  return String(err);
}

function isRetryable(err: unknown): boolean {
  if (err instanceof ApiError) return err.status >= 500 || err.status === 429 || err.status === 408;
  return true;
}

function contentTypeOf(path: string, kind: 'audio' | 'image'): string {
  const ext = extname(path).toLowerCase();
  const types: Record<string, string> = {
    '.wav': 'audio/wav',
    '.mp3': 'audio/mpeg',
    '.m4a': 'audio/mp4',
    '.png': 'image/png',
    '.jpg': 'image/jpeg',
    '.jpeg': 'image/jpeg',
    '.webp': 'image/webp',
  };
  return types[ext] ?? (kind === 'audio' ? 'audio/wav' : 'image/png');
}
