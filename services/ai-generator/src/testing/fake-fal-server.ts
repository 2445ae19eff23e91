import { createHash, sign, type KeyObject } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * What the fake does with the n-th submitted request (1-based): `succeed`; `fail` (the result answers 500,
 * a passing problem); `error` (the model refused: the status says COMPLETED with fal's `error`, the
 * result answers 422 with its `detail`, the webhook says `ERROR`); `hang` (never ends).
 */
export type FakeBehaviour = 'succeed' | 'fail' | 'error' | 'hang';

/** How one request runs, when decided from its input (`request` option). */
export interface FalRequestBehaviour {
  outcome: FakeBehaviour;
  /** POST the end to the request's `fal_webhook`, signed, when it ends. Default true (when it gave one). */
  webhook?: boolean;
  /** false: status polls keep saying IN_PROGRESS after the end (only the webhook can tell). Default true. */
  pollsSeeEnd?: boolean;
}

export interface FakeRequest {
  id: string;
  model: string;
  input: Record<string, unknown>;
  behaviour: FakeBehaviour;
  /** Where fal was asked to report the end (`fal_webhook` of the submit URL). */
  webhookUrl?: string;
  webhook: boolean;
  pollsSeeEnd: boolean;
  polls: number;
  cancelled: boolean;
  /** The request ended (succeeded, failed or was cancelled) at fal. */
  ended: boolean;
  /** Answers of our webhook POSTs (status codes; 0 = no answer). */
  webhookResponses: number[];
}

/** The model's refusal of an `error` request, as fal's queue reports it. */
export const FAKE_FAL_ERROR = {
  error: 'Unprocessable Entity',
  detail: [
    {
      loc: ['body', 'image_url'],
      msg: 'Could not load the image from the URL (fake)',
      type: 'image_load_error',
    },
  ],
};

export interface FakeFalServer {
  url: string;
  /** Every request submitted, in order. */
  requests: FakeRequest[];
  /** Files uploaded through the storage API, by name: their byte length. */
  uploads: Map<string, number>;
  /** Paths the client called, e.g. `POST /fal-ai/infinitalk`, in order. */
  calls: string[];
  /** Submits refused so far (see `rejectSubmit`). */
  rejectedSubmits: number;
  /** Resolves once the webhook of request `id` was answered (at once if it already was). */
  webhookAnswered(id: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * A local HTTP server speaking fal's queue protocol the way `@fal-ai/client` calls it:
 * `POST /<owner>/<alias>[/<path>][?fal_webhook=<url>]` submits; `GET /<owner>/<alias>/requests/<id>/status?logs=0|1`
 * reports IN_QUEUE → IN_PROGRESS → COMPLETED; `GET /<owner>/<alias>/requests/<id>` is the result (`{ video: { url } }`);
 * `PUT …/requests/<id>/cancel` cancels. Storage: `POST /storage/upload/initiate` hands out an upload URL that takes
 * a `PUT`, and the file URL serves it. Requests need `Authorization: Key <key>`.
 *
 * Webhooks (with `webhook.privateKey`): when a request that gave a `fal_webhook` ends, the fake POSTs fal's
 * webhook body (`{ request_id, gateway_request_id, status: "OK" | "ERROR", payload, error? }`) there with
 * `X-Fal-Webhook-Request-Id`, `-User-Id`, `-Timestamp` and `-Signature`: ED25519 (hex) over
 * `request-id \n user-id \n timestamp \n hex(sha256(body))`, as fal signs them. A request ends when it is
 * polled past its queue and progress polls (`pollsSeeEnd: false` keeps the polls from showing it).
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
  /** How a request runs, from its input (overrides `behaviour`). */
  request?: (input: Record<string, unknown>, n: number) => FalRequestBehaviour | undefined;
  /** Signs webhooks with this ED25519 key, as fal's user `userId`. */
  webhook?: { privateKey: KeyObject; userId?: string };
  /** Refuse the n-th submit (1-based, counting refused ones) with this HTTP status and fal's `detail`. */
  rejectSubmit?: (
    n: number,
    input: Record<string, unknown>,
  ) => { status: number; detail: unknown; delayMs?: number } | undefined;
  /** The result of a successful request (default `{ video: { url, … }, seed }`); `mediaUrl` serves `videoFile`. */
  result?: (r: FakeRequest, mediaUrl: string) => unknown;
}): Promise<FakeFalServer> {
  const {
    key,
    videoFile,
    behaviour = () => 'succeed',
    pollsInQueue = 1,
    pollsInProgress = 1,
    request,
    webhook,
    rejectSubmit,
    result,
  } = opts;
  const requests: FakeRequest[] = [];
  const uploads = new Map<string, Buffer>();
  const calls: string[] = [];
  const answered = new Map<string, number>();
  const waiting = new Map<string, ((s: number) => void)[]>();
  let submits = 0;
  let rejectedSubmits = 0;
  let base = '';

  const successPayload = (r: FakeRequest) =>
    result
      ? result(r, `${base}/media/result.mp4`)
      : {
          video: {
            url: `${base}/media/result.mp4`,
            content_type: 'video/mp4',
            file_name: 'result.mp4',
            file_size: statSync(videoFile).size,
          },
          seed: 42,
        };
  const sendWebhook = async (r: FakeRequest) => {
    if (!webhook || !r.webhook || !r.webhookUrl) return;
    const body = JSON.stringify(
      r.behaviour === 'error'
        ? {
            request_id: r.id,
            gateway_request_id: r.id,
            status: 'ERROR',
            error: FAKE_FAL_ERROR.error,
            payload: { detail: FAKE_FAL_ERROR.detail },
          }
        : { request_id: r.id, gateway_request_id: r.id, status: 'OK', payload: successPayload(r) },
    );
    const userId = webhook.userId ?? 'fake-user';
    const timestamp = String(Math.floor(Date.now() / 1000));
    const digest = createHash('sha256').update(body).digest('hex');
    const signature = sign(
      null,
      Buffer.from(`${r.id}\n${userId}\n${timestamp}\n${digest}`),
      webhook.privateKey,
    ).toString('hex');
    const res = await fetch(r.webhookUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-fal-webhook-request-id': r.id,
        'x-fal-webhook-user-id': userId,
        'x-fal-webhook-timestamp': timestamp,
        'x-fal-webhook-signature': signature,
      },
      body,
    }).catch(() => undefined);
    const status = res?.status ?? 0;
    r.webhookResponses.push(status);
    answered.set(r.id, status);
    for (const w of waiting.get(r.id) ?? []) w(status);
    waiting.delete(r.id);
  };
  const end = (r: FakeRequest) => {
    if (r.ended || r.behaviour === 'hang') return;
    r.ended = true;
    void sendWebhook(r);
  };

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
          r.ended = true;
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
          if (r.cancelled)
            return json(res, 200, { ...urls, status: 'COMPLETED', logs, error: 'Request was cancelled' });
          if (r.behaviour === 'hang' || r.polls <= pollsInQueue)
            return json(res, 202, { ...urls, status: 'IN_QUEUE', queue_position: 0 });
          if (r.polls <= pollsInQueue + pollsInProgress)
            return json(res, 202, { ...urls, status: 'IN_PROGRESS', logs });
          end(r);
          if (!r.pollsSeeEnd) return json(res, 202, { ...urls, status: 'IN_PROGRESS', logs });
          return json(res, 200, {
            ...urls,
            status: 'COMPLETED',
            logs,
            metrics: { inference_time: 1.5 },
            ...(r.behaviour === 'error'
              ? { error: FAKE_FAL_ERROR.error, error_type: 'image_load_error' }
              : {}),
          });
        }
        if (!action && req.method === 'GET') {
          if (r.behaviour === 'fail') return json(res, 500, { detail: 'CUDA out of memory (fake)' });
          if (r.behaviour === 'error') return json(res, 422, { detail: FAKE_FAL_ERROR.detail });
          if (r.behaviour === 'hang' || !r.ended)
            return json(res, 400, { detail: 'Request is still in progress' });
          return json(res, 200, successPayload(r));
        }
      }

      if (req.method === 'POST' && /^\/[^/]+\/[^/]+(\/.*)?$/.test(path)) {
        const input = JSON.parse((await readBody(req)).toString() || '{}') as Record<string, unknown>;
        const refusal = rejectSubmit?.(++submits, input);
        if (refusal) {
          rejectedSubmits++;
          if (refusal.delayMs) await new Promise((r) => setTimeout(r, refusal.delayMs));
          return json(res, refusal.status, { detail: refusal.detail });
        }
        const id = `req-${requests.length + 1}`;
        const app = path.split('/').slice(1, 3).join('/');
        const n = requests.length + 1;
        const decided = request?.(input, n);
        const webhookUrl = url.searchParams.get('fal_webhook') ?? undefined;
        requests.push({
          id,
          model: path.slice(1),
          input,
          behaviour: decided?.outcome ?? behaviour(n),
          ...(webhookUrl ? { webhookUrl } : {}),
          webhook: decided?.webhook ?? true,
          pollsSeeEnd: decided?.pollsSeeEnd ?? true,
          polls: 0,
          cancelled: false,
          ended: false,
          webhookResponses: [],
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
    get rejectedSubmits() {
      return rejectedSubmits;
    },
    webhookAnswered: (id) => {
      const s = answered.get(id);
      if (s !== undefined) return Promise.resolve(s);
      return new Promise((resolve) => waiting.set(id, [...(waiting.get(id) ?? []), resolve]));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
