import { createReadStream, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the fake does with the n-th submitted request (1-based). */
export type FakeBehaviour = 'succeed' | 'fail' | 'hang';

export interface FakeRequest {
  id: string;
  model: string;
  input: Record<string, unknown>;
  behaviour: FakeBehaviour;
  polls: number;
  cancelled: boolean;
}

export interface FakeFalServer {
  url: string;
  /** Every request submitted, in order. */
  requests: FakeRequest[];
  /** Files uploaded through the storage API, by name: their byte length. */
  uploads: Map<string, number>;
  /** Paths the client called, e.g. `POST /fal-ai/infinitalk`, in order. */
  calls: string[];
  close(): Promise<void>;
}

/**
 * A local HTTP server speaking fal's queue protocol the way `@fal-ai/client` calls it:
 * `POST /<owner>/<alias>[/<path>]` submits; `GET /<owner>/<alias>/requests/<id>/status?logs=0|1` reports
 * IN_QUEUE → IN_PROGRESS → COMPLETED; `GET /<owner>/<alias>/requests/<id>` is the result (`{ video: { url } }`);
 * `PUT …/requests/<id>/cancel` cancels. Storage: `POST /storage/upload/initiate` hands out an upload URL that takes
 * a `PUT`, and the file URL serves it. Requests need `Authorization: Key <key>`.
 */
export async function startFakeFalServer(opts: {
  key: string;
  /** The video every successful request returns. */
  videoFile: string;
  /** Behaviour of the n-th submitted request. Default: all succeed. */
  behaviour?: (n: number) => FakeBehaviour;
  /** Status polls a request stays IN_QUEUE, then IN_PROGRESS, before COMPLETED. Default 1 each. */
  pollsInQueue?: number;
  pollsInProgress?: number;
}): Promise<FakeFalServer> {
  const { key, videoFile, behaviour = () => 'succeed', pollsInQueue = 1, pollsInProgress = 1 } = opts;
  const requests: FakeRequest[] = [];
  const uploads = new Map<string, Buffer>();
  const calls: string[] = [];
  let base = '';

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'x-fal-request-id': 'fake' });
    res.end(JSON.stringify(body));
  };
  const readBody = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', base);
      const path = url.pathname;
      calls.push(`${req.method} ${path}`);

      // storage: upload target and served files need no key (they are signed URLs at fal)
      if (path.startsWith('/upload/') && req.method === 'PUT') {
        uploads.set(path.slice('/upload/'.length), await readBody(req));
        return json(res, 200, {});
      }
      if (path.startsWith('/files/') && req.method === 'GET') {
        const body = uploads.get(path.slice('/files/'.length));
        if (!body) return json(res, 404, { detail: 'no such file' });
        res.writeHead(200, { 'content-length': body.length });
        return res.end(body);
      }
      if (path === '/media/result.mp4' && req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': statSync(videoFile).size });
        return createReadStream(videoFile).pipe(res);
      }

      if (req.headers.authorization !== `Key ${key}`)
        return json(res, 401, { detail: 'No user found for Key ID and Secret' });

      if (path === '/storage/upload/initiate' && req.method === 'POST') {
        const { file_name } = JSON.parse((await readBody(req)).toString()) as { file_name: string };
        const name = `${uploads.size + 1}-${file_name}`;
        uploads.set(name, Buffer.alloc(0));
        return json(res, 200, { upload_url: `${base}/upload/${name}`, file_url: `${base}/files/${name}` });
      }

      const m = /^\/([^/]+\/[^/]+)\/requests\/([^/]+)(\/status|\/cancel)?$/.exec(path);
      if (m) {
        const [, app, id, action] = m;
        const r = requests.find((x) => x.id === id);
        if (!r) return json(res, 404, { detail: `Request ${id} not found` });
        const urls = {
          request_id: id,
          status_url: `${base}/${app}/requests/${id}/status`,
          response_url: `${base}/${app}/requests/${id}`,
          cancel_url: `${base}/${app}/requests/${id}/cancel`,
        };
        if (action === '/cancel' && req.method === 'PUT') {
          r.cancelled = true;
          return json(res, 202, { status: 'CANCELLATION_REQUESTED' });
        }
        if (action === '/status' && req.method === 'GET') {
          r.polls++;
          const logs =
            url.searchParams.get('logs') === '1'
              ? [
                  {
                    message: `poll ${r.polls}`,
                    level: 'INFO',
                    source: 'USER',
                    timestamp: new Date().toISOString(),
                  },
                ]
              : [];
          if (r.behaviour === 'hang' || r.polls <= pollsInQueue)
            return json(res, 202, { ...urls, status: 'IN_QUEUE', queue_position: 0 });
          if (r.polls <= pollsInQueue + pollsInProgress)
            return json(res, 202, { ...urls, status: 'IN_PROGRESS', logs });
          return json(res, 200, { ...urls, status: 'COMPLETED', logs, metrics: { inference_time: 1.5 } });
        }
        if (!action && req.method === 'GET') {
          if (r.behaviour === 'fail') return json(res, 500, { detail: 'CUDA out of memory (fake)' });
          if (r.behaviour === 'hang') return json(res, 400, { detail: 'Request is still in progress' });
          return json(res, 200, {
            video: {
              url: `${base}/media/result.mp4`,
              content_type: 'video/mp4',
              file_name: 'result.mp4',
              file_size: statSync(videoFile).size,
            },
            seed: 42,
          });
        }
      }

      if (req.method === 'POST' && /^\/[^/]+\/[^/]+(\/.*)?$/.test(path)) {
        const input = JSON.parse((await readBody(req)).toString() || '{}') as Record<string, unknown>;
        const id = `req-${requests.length + 1}`;
        const app = path.split('/').slice(1, 3).join('/');
        requests.push({
          id,
          model: path.slice(1),
          input,
          behaviour: behaviour(requests.length + 1),
          polls: 0,
          cancelled: false,
        });
        return json(res, 200, {
          status: 'IN_QUEUE',
          request_id: id,
          queue_position: 0,
          status_url: `${base}/${app}/requests/${id}/status`,
          response_url: `${base}/${app}/requests/${id}`,
          cancel_url: `${base}/${app}/requests/${id}/cancel`,
        });
      }
      json(res, 404, { detail: `fake fal: no route for ${req.method} ${path}` });
    })().catch((err: unknown) => {
      if (!res.headersSent) json(res, 500, { detail: String(err) });
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    requests,
    get uploads() {
      return new Map([...uploads].map(([k, v]) => [k, v.length]));
    },
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
