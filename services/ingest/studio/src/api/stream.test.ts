import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isFatalStatus, openEventStream, retryDelay, type StreamState } from './stream.ts';
import type { ApiError } from './errors.ts';

describe('retryDelay and isFatalStatus', () => {
  it('doubles from the initial delay up to the cap', () => {
    const opts = { initialMs: 1000, maxMs: 30_000 };
    expect([0, 1, 2, 4, 5, 9].map((a) => retryDelay(a, opts))).toEqual([
      1000, 2000, 4000, 16_000, 30_000, 30_000,
    ]);
  });
  it('gives up on 4xx answers except timeouts and rate limits', () => {
    expect([400, 401, 403, 404, 408, 429, 500, 503].map(isFatalStatus)).toEqual([
      true,
      true,
      true,
      true,
      false,
      false,
      false,
      false,
    ]);
  });
});

// A real HTTP server speaking text/event-stream, read through Node's fetch (the browser's API).
describe('openEventStream', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  async function serve(
    handler: (res: ServerResponse, auth: string | undefined, n: number) => void,
  ): Promise<string> {
    let n = 0;
    server = createServer((req, res) => handler(res, req.headers.authorization, n++));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server!.address() as AddressInfo).port}/v1/events`;
  }

  it('sends the key in the Authorization header, parses messages split across chunks, and reconnects after the server ends', async () => {
    const auths: Array<string | undefined> = [];
    const url = await serve((res, auth, n) => {
      auths.push(auth);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`: hello\n\nevent: job.progress\nid: e${n}\nda`);
      res.end(`ta: {"n":${n}}\n\n`);
    });
    const ac = new AbortController();
    const seen: Array<{ event?: string; data: string; id?: string }> = [];
    const states: StreamState['state'][] = [];
    await openEventStream({
      path: url,
      key: 'rb_secret',
      signal: ac.signal,
      retry: { initialMs: 1, maxMs: 1 },
      onState: (s) => states.push(s.state),
      onMessage: (m) => {
        seen.push({ event: m.event, data: m.data, id: m.id });
        if (seen.length === 2) ac.abort();
      },
    });
    expect(seen).toEqual([
      { event: 'job.progress', data: '{"n":0}', id: 'e0' },
      { event: 'job.progress', data: '{"n":1}', id: 'e1' },
    ]);
    expect(auths).toEqual(['Bearer rb_secret', 'Bearer rb_secret']);
    expect(states.slice(0, 4)).toEqual(['connecting', 'live', 'retrying', 'connecting']);
  });

  it('stops at an answer that retrying cannot fix, with the API’s message', async () => {
    const url = await serve((res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'unauthorized', message: 'the API key is not valid' } }));
    });
    let fatal: ApiError | undefined;
    await openEventStream({
      path: url,
      key: 'wrong',
      signal: new AbortController().signal,
      onMessage: () => {},
      onFatal: (e) => (fatal = e),
    });
    expect(fatal).toMatchObject({ status: 401, message: 'the API key is not valid' });
  });

  it('does not reconnect after the end when told not to', async () => {
    let connections = 0;
    const url = await serve((res) => {
      connections += 1;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('event: job.completed\ndata: {}\n\n');
    });
    await openEventStream({
      path: url,
      key: 'k',
      signal: new AbortController().signal,
      onMessage: () => {},
      reconnectAfterEnd: () => false,
    });
    expect(connections).toBe(1);
  });
});
