import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { ApiError, apiErrorFrom } from './errors.ts';

/** Where a stream is: connecting, receiving, or waiting `delayMs` before it tries again. */
export type StreamState =
  { state: 'connecting' } | { state: 'live' } | { state: 'retrying'; delayMs: number; reason: string };

export interface StreamOptions {
  /** A same-origin path, e.g. `/v1/events`. */
  path: string;
  key: string;
  signal: AbortSignal;
  onMessage(message: EventSourceMessage): void;
  onState?(state: StreamState): void;
  /** The stream cannot work (401, 403, 404, 400): the studio shows `err` and stops. */
  onFatal?(err: ApiError): void;
  /**
   * Called when the server ended the stream (e.g. after the job finished, or at its shutdown):
   * return true to connect again. Default: true.
   */
  reconnectAfterEnd?(): boolean;
  /** Backoff of reconnections (default 1 s doubling to 30 s). */
  retry?: { initialMs: number; maxMs: number };
}

/** Delay before reconnection attempt `attempt` (0-based): initialMs·2^attempt, capped at maxMs. */
export function retryDelay(
  attempt: number,
  { initialMs, maxMs }: { initialMs: number; maxMs: number },
): number {
  return Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt));
}

/** Statuses after which connecting again cannot help. */
export function isFatalStatus(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/**
 * Server-sent events over fetch(). A browser's EventSource cannot send an Authorization header,
 * and the API key never goes into a URL, so the studio reads the stream itself: the key in the
 * header, the body parsed as text/event-stream, and a reconnection with backoff when the
 * connection drops (each reconnection starts with a fresh snapshot from the server, so nothing is
 * missed). Stops when `signal` aborts.
 */
export async function openEventStream(opts: StreamOptions): Promise<void> {
  const { path, key, signal, onMessage, onState, onFatal } = opts;
  const retry = opts.retry ?? { initialMs: 1000, maxMs: 30_000 };
  const reconnectAfterEnd = opts.reconnectAfterEnd ?? (() => true);
  let attempt = 0;
  while (!signal.aborted) {
    onState?.({ state: 'connecting' });
    let reason: string;
    try {
      const res = await fetch(path, {
        headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' },
        cache: 'no-store',
        signal,
      });
      if (!res.ok || !res.body) {
        const err = apiErrorFrom({ status: res.status, statusText: res.statusText, body: await res.text() });
        if (isFatalStatus(res.status)) {
          onFatal?.(err);
          return;
        }
        throw err;
      }
      onState?.({ state: 'live' });
      attempt = 0;
      const parser = createParser({ onEvent: onMessage });
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.feed(value);
      }
      if (!reconnectAfterEnd()) return;
      reason = 'the server ended the stream';
    } catch (err) {
      if (signal.aborted) return;
      reason = err instanceof Error ? err.message : String(err);
    }
    const delayMs = retryDelay(attempt++, retry);
    onState?.({ state: 'retrying', delayMs, reason });
    await abortableDelay(delayMs, signal);
  }
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export { ApiError };
