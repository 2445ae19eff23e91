import { Readable, Transform } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import {
  isPermanent,
  PermanentError,
  withSpan,
  type BlobInfo,
  type BlobStore,
  type Logger,
} from '@reelbus/kit';

export interface DownloadSettings {
  /** Per-attempt limit: connect, headers and the whole body. */
  timeoutMs: number;
  attempts: number;
  /** Wait before the 2nd attempt; doubles after each further failure. */
  backoffMs: number;
  /** Twilio account credentials (Basic auth), sent only to Twilio recordings. */
  twilioAuth?: { accountSid: string; authToken: string };
}

/** True for a recording that lives at Twilio (its host, or an event that says it came from Twilio). */
export function isTwilioRecording(opts: { url: string; source?: string }): boolean {
  const { url, source } = opts;
  return source === 'twilio' || new URL(url).hostname === 'api.twilio.com';
}

/**
 * The URL that fetches Twilio's dual-channel WAV: `.wav` appended unless the path already ends in an
 * extension, and `RequestedChannels=2` (Twilio otherwise mixes a dual-channel recording down to mono).
 */
export function twilioMediaUrl(opts: { url: string }): string {
  const { url } = opts;
  const u = new URL(url);
  if (!/\.[A-Za-z0-9]{2,5}$/.test(u.pathname)) u.pathname = `${u.pathname.replace(/\/+$/, '')}.wav`;
  u.searchParams.set('RequestedChannels', '2');
  return u.toString();
}

/** A URL safe to show in errors and logs: no credentials, no query (it may hold a signature). */
export function displayUrl(opts: { url: string }): string {
  const { url } = opts;
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}

/** Basic-auth header value. */
export function basicAuth(opts: { username: string; password: string }): string {
  const { username, password } = opts;
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/** Delays before attempt 2, 3, …: base, 2×base, 4×base. */
export function backoffDelays(opts: { attempts: number; backoffMs: number }): number[] {
  const { attempts, backoffMs } = opts;
  return Array.from({ length: Math.max(0, attempts - 1) }, (_, i) => backoffMs * 2 ** i);
}

class RetryableDownloadError extends Error {
  override name = 'RetryableDownloadError';
  constructor(
    message: string,
    readonly timedOut: boolean,
    opts: { cause?: unknown } = {},
  ) {
    super(message, opts);
  }
}

/**
 * Downloads `url` straight into blob storage at `key` (streamed, never held whole in memory), with a
 * per-attempt timeout and bounded retries. A 4xx other than 408/429 fails at once; running out of
 * attempts fails with a reason that says why. Both throw PermanentError (step `download`): the retries
 * happened here, a redelivery would only repeat them. An abort of `signal` is rethrown as is.
 */
export async function downloadRecording(opts: {
  url: string;
  source?: string;
  key: string;
  blobs: BlobStore;
  settings: DownloadSettings;
  signal?: AbortSignal;
  logger?: Logger;
  /** Called with 0-100 as the body arrives (when the server sends Content-Length). */
  onProgress?: (percent: number) => void;
}): Promise<BlobInfo & { url: string }> {
  const { url, source, key, blobs, settings, signal, logger, onProgress } = opts;
  const { timeoutMs, attempts, backoffMs, twilioAuth } = settings;
  const twilio = isTwilioRecording({ url, ...(source ? { source } : {}) });
  const target = twilio ? twilioMediaUrl({ url }) : url;
  const shown = displayUrl({ url: target });
  const headers: Record<string, string> = {};
  if (twilio && twilioAuth)
    headers.authorization = basicAuth({ username: twilioAuth.accountSid, password: twilioAuth.authToken });
  if (twilio) headers.accept = 'audio/wav, audio/x-wav, */*';
  const delays = backoffDelays({ attempts, backoffMs });

  let last: RetryableDownloadError | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    signal?.throwIfAborted();
    try {
      const info = await withSpan(
        twilio ? 'twilio download' : 'recording download',
        { 'http.request.method': 'GET', 'url.full': shown, 'reelbus.attempt': attempt },
        () => attemptDownload({ target, shown, key, blobs, headers, timeoutMs, signal, onProgress }),
        { kind: 'client' },
      );
      logger?.info({ url: shown, key, attempt, size: info.size }, 'recording downloaded');
      return { ...info, url: shown };
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (!(err instanceof RetryableDownloadError)) throw err;
      last = err;
      const delay = delays[attempt - 1];
      logger?.warn(
        { url: shown, attempt, attempts, err: err.message, retryInMs: delay },
        'recording download failed',
      );
      if (delay !== undefined) await sleep(delay, undefined, signal ? { signal } : {});
    }
  }
  const secs = `${Math.round(timeoutMs / 100) / 10} s`;
  throw new PermanentError(
    last?.timedOut
      ? `download of the recording timed out after ${attempts} attempts (${secs} each): ${shown}`
      : `download of the recording failed after ${attempts} attempts: ${last?.message ?? 'unknown error'}`,
    { step: 'download', cause: last },
  );
}

async function attemptDownload(opts: {
  target: string;
  shown: string;
  key: string;
  blobs: BlobStore;
  headers: Record<string, string>;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  onProgress: ((percent: number) => void) | undefined;
}): Promise<BlobInfo> {
  const { target, shown, key, blobs, headers, timeoutMs, signal, onProgress } = opts;
  // one signal for the whole attempt: it also cuts a body that stops arriving half-way
  const timeout = AbortSignal.timeout(timeoutMs);
  const attemptSignal = signal ? AbortSignal.any([signal, timeout]) : timeout;
  const timedOut = () => timeout.aborted;
  let res: Response;
  try {
    res = await fetch(target, { headers, signal: attemptSignal, redirect: 'follow' });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new RetryableDownloadError(
      timedOut() ? `${shown} did not answer within ${timeoutMs} ms` : `${shown}: ${causeMessage(err)}`,
      timedOut(),
      { cause: err },
    );
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    const status = `${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
    if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
      const hint =
        res.status === 401 || res.status === 403 ? ' (check TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN)' : '';
      throw new PermanentError(`download of the recording failed: ${shown} answered ${status}${hint}`, {
        step: 'download',
      });
    }
    throw new RetryableDownloadError(`${shown} answered ${status}`, false);
  }
  const total = Number(res.headers.get('content-length') ?? NaN);
  let received = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      received += chunk.length;
      if (onProgress && total > 0) onProgress(Math.min(100, (received / total) * 100));
      cb(null, chunk);
    },
  });
  const body = Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>);
  body.on('error', (err) => counter.destroy(err));
  try {
    return await blobs.put(key, body.pipe(counter), {
      contentType: res.headers.get('content-type') ?? 'audio/wav',
      retention: 'intermediate',
    });
  } catch (err) {
    if (signal?.aborted || isPermanent(err)) throw err;
    throw new RetryableDownloadError(
      timedOut()
        ? `${shown} stopped sending within ${timeoutMs} ms`
        : `${shown}: body failed: ${causeMessage(err)}`,
      timedOut(),
      { cause: err },
    );
  }
}

function causeMessage(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string; code?: string } };
  return [e.message, e.cause?.code ?? e.cause?.message].filter(Boolean).join(': ');
}
