import type { FastifyReply, FastifyRequest } from 'fastify';

/** An open text/event-stream answer. */
export interface SseStream {
  /** Writes one message; `data` is sent as one JSON line. Returns false once the stream is closed. */
  send(message: { event: string; data: unknown; id?: string }): boolean;
  /** Ends the stream (idempotent). */
  close(): void;
  readonly closed: boolean;
}

export interface OpenSseOptions {
  /** Interval of `: heartbeat` comments that keep proxies from closing an idle stream. */
  heartbeatMs: number;
  /**
   * A client that reads slower than events arrive would make the server buffer without end: past
   * this many unsent bytes the stream is closed and the client reconnects (and resynchronises).
   */
  maxBufferedBytes?: number;
  /** Called once when the stream ends, whoever ended it. */
  onClose(): void;
}

/** Default of `maxBufferedBytes`: a generous second of events for a job list, not a memory leak. */
export const SSE_MAX_BUFFERED_BYTES = 1024 * 1024;

/** Takes over the reply and answers with a server-sent event stream. */
export function openSse(req: FastifyRequest, reply: FastifyReply, opts: OpenSseOptions): SseStream {
  const { heartbeatMs, maxBufferedBytes = SSE_MAX_BUFFERED_BYTES, onClose } = opts;
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    // no-transform: a proxy must not compress or buffer the stream.
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  let closed = false;
  const heartbeat = setInterval(() => write(': heartbeat\n\n'), heartbeatMs);
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    res.end();
    onClose();
  };
  function write(chunk: string): boolean {
    if (closed) return false;
    if (res.writableLength > maxBufferedBytes) {
      req.log.warn({ buffered: res.writableLength }, 'event stream client too slow; closing its stream');
      close();
      return false;
    }
    res.write(chunk);
    return true;
  }
  req.raw.on('close', close);
  res.on('close', close);
  return {
    send: ({ event, data, id }) =>
      write(`${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
    close,
    get closed() {
      return closed;
    },
  };
}
