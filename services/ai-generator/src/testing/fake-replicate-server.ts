import { createReadStream, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/**
 * How the fake runs one prediction:
 * - `outcome`: succeed (output = the served file), fail (Replicate's `error`), or hang (never ends);
 * - `endsAtPoll`: the prediction ends when it is read the n-th time (default 2);
 * - `webhook`: POST the completed prediction to its webhook, signed (Standard Webhooks), when it ends;
 * - `pollsSeeEnd`: false → reads keep answering `processing` after the end (only the webhook can tell).
 */
export interface ReplicateBehaviour {
  outcome: 'succeed' | 'fail' | 'hang';
  endsAtPoll?: number;
  webhook?: boolean;
  pollsSeeEnd?: boolean;
  /** Answer every read of the prediction with this HTTP error (e.g. 500: Replicate's status API failing). */
  readError?: { status: number; detail: string };
  /** Answer the create request with this HTTP error instead (e.g. 422 with Replicate's detail). */
  rejectCreate?: { status: number; detail: string };
}

export interface FakePrediction {
  id: string;
  path: string;
  body: {
    version?: string;
    input: Record<string, unknown>;
    webhook?: string;
    webhook_events_filter?: string[];
  };
  behaviour: ReplicateBehaviour;
  reads: number;
  status: 'starting' | 'processing' | 'succeeded' | 'failed' | 'canceled';
  canceled: boolean;
  /** Answers of our webhook POSTs (status codes). */
  webhookResponses: number[];
}

export interface FakeReplicateServer {
  /** The API root to give the client (`…/v1`). */
  url: string;
  predictions: FakePrediction[];
  /** The status of every create request, in order (201 for the ones that made a prediction). */
  createAttempts: number[];
  /** Resolves once the webhook of `id` was answered (at once if it already was). */
  webhookAnswered(id: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * A local HTTP server speaking Replicate's predictions API the way the official `replicate` client calls it:
 * `POST /v1/predictions` (with `version`) and `POST /v1/models/<owner>/<name>/predictions` create (201),
 * `GET /v1/predictions/<id>` reads, `POST /v1/predictions/<id>/cancel` cancels; `POST /v1/files` takes an
 * upload. Needs `Authorization: Bearer <token>`. When a prediction ends and asked for a webhook, it POSTs the
 * prediction there signed as Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`) with
 * the `whsec_` secret, as Replicate does.
 */
export async function startFakeReplicateServer(opts: {
  token: string;
  /** Replicate's webhook signing secret (`whsec_…`). */
  webhookSecret: string;
  /** The file every successful prediction outputs. */
  outputFile: string;
  outputContentType?: string;
  /** Behaviour per prediction, from its input (e.g. keyed on the prompt). */
  behaviour?: (input: Record<string, unknown>) => ReplicateBehaviour;
  /**
   * Refuse the n-th create request (1-based, counting refused ones) with this HTTP status and detail, after
   * `delayMs` (longer than the client's timeout: a create that times out).
   */
  createFailures?: (
    n: number,
    input: Record<string, unknown>,
  ) => { status: number; detail: string; delayMs?: number; retryAfterSec?: number } | undefined;
}): Promise<FakeReplicateServer> {
  const {
    token,
    webhookSecret,
    outputFile,
    outputContentType = 'image/png',
    behaviour = () => ({ outcome: 'succeed' }),
    createFailures,
  } = opts;
  let creates = 0;
  const createAttempts: number[] = [];
  const predictions: FakePrediction[] = [];
  const answered = new Map<string, number>();
  const waiting = new Map<string, ((s: number) => void)[]>();
  const signer = new Webhook(webhookSecret);
  let base = '';

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const readBody = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };
  const view = (p: FakePrediction, forPoll: boolean) => {
    const shown =
      forPoll && p.behaviour.pollsSeeEnd === false && p.status !== 'canceled' ? 'processing' : p.status;
    return {
      id: p.id,
      model: 'fake/model',
      version: p.body.version ?? 'fake-version',
      input: p.body.input,
      logs: '',
      output: shown === 'succeeded' ? [`${base}/delivery/${p.id}/output${extOf(outputContentType)}`] : null,
      error: shown === 'failed' ? 'CUDA out of memory (fake Replicate)' : null,
      status: shown,
      created_at: new Date().toISOString(),
      completed_at: ['succeeded', 'failed', 'canceled'].includes(shown) ? new Date().toISOString() : null,
      metrics: shown === 'succeeded' ? { predict_time: 2.5, total_time: 3 } : {},
      urls: { get: `${base}/v1/predictions/${p.id}`, cancel: `${base}/v1/predictions/${p.id}/cancel` },
    };
  };
  const sendWebhook = async (p: FakePrediction) => {
    if (!p.behaviour.webhook || !p.body.webhook) return;
    if (p.body.webhook_events_filter && !p.body.webhook_events_filter.includes('completed')) return;
    const payload = JSON.stringify(view(p, false));
    const id = `msg_${p.id}`;
    const at = new Date();
    const res = await fetch(p.body.webhook, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': signer.sign(id, at, payload),
      },
      body: payload,
    }).catch(() => undefined);
    const status = res?.status ?? 0;
    p.webhookResponses.push(status);
    answered.set(p.id, status);
    for (const w of waiting.get(p.id) ?? []) w(status);
    waiting.delete(p.id);
  };
  const end = (p: FakePrediction) => {
    if (p.status === 'succeeded' || p.status === 'failed' || p.status === 'canceled') return;
    p.status = p.behaviour.outcome === 'fail' ? 'failed' : 'succeeded';
    void sendWebhook(p);
  };

  const server = createServer((req, res) => {
    void (async () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const media = /^\/delivery\/([^/]+)\/output/.exec(path);
      if (media && req.method === 'GET') {
        res.writeHead(200, {
          'content-type': outputContentType,
          'content-length': statSync(outputFile).size,
        });
        return createReadStream(outputFile).pipe(res);
      }
      if (req.headers.authorization !== `Bearer ${token}`)
        return json(res, 401, {
          title: 'Unauthenticated',
          detail: 'You did not pass a valid authentication token',
          status: 401,
        });
      const create =
        req.method === 'POST' &&
        (path === '/v1/predictions' || /^\/v1\/models\/[^/]+\/[^/]+\/predictions$/.test(path));
      if (create) {
        const body = JSON.parse((await readBody(req)).toString() || '{}') as FakePrediction['body'];
        const failure = createFailures?.(++creates, body.input ?? {});
        if (failure) {
          createAttempts.push(failure.status);
          if (failure.delayMs) await new Promise((r) => setTimeout(r, failure.delayMs));
          if (res.destroyed) return;
          res.writeHead(failure.status, {
            'content-type': 'application/json',
            ...(failure.retryAfterSec !== undefined ? { 'retry-after': String(failure.retryAfterSec) } : {}),
          });
          return res.end(JSON.stringify({ title: 'Error', detail: failure.detail, status: failure.status }));
        }
        const b: ReplicateBehaviour = behaviour(body.input ?? {});
        if (b.rejectCreate) createAttempts.push(b.rejectCreate.status);
        if (b.rejectCreate)
          return json(res, b.rejectCreate.status, {
            title: 'Invalid input',
            detail: b.rejectCreate.detail,
            status: b.rejectCreate.status,
          });
        const p: FakePrediction = {
          id: `pred${predictions.length + 1}${Math.random().toString(36).slice(2, 8)}`,
          path,
          body,
          behaviour: b,
          reads: 0,
          status: 'starting',
          canceled: false,
          webhookResponses: [],
        };
        predictions.push(p);
        createAttempts.push(201);
        return json(res, 201, view(p, true));
      }
      const m = /^\/v1\/predictions\/([^/]+)(\/cancel)?$/.exec(path);
      if (m) {
        const p = predictions.find((x) => x.id === m[1]);
        if (!p) return json(res, 404, { detail: 'Not found.', status: 404 });
        if (m[2] && req.method === 'POST') {
          if (p.status === 'starting' || p.status === 'processing') p.status = 'canceled';
          p.canceled = true;
          return json(res, 200, view(p, false));
        }
        if (!m[2] && req.method === 'GET') {
          p.reads++;
          const failing = p.behaviour.readError;
          if (failing) return json(res, failing.status, { detail: failing.detail, status: failing.status });
          if (p.status === 'starting') p.status = 'processing';
          if (p.behaviour.outcome !== 'hang' && p.reads >= (p.behaviour.endsAtPoll ?? 2)) end(p);
          return json(res, 200, view(p, true));
        }
      }
      if (path === '/v1/files' && req.method === 'POST') {
        await readBody(req);
        const id = `file${Math.random().toString(36).slice(2, 8)}`;
        return json(res, 201, { id, urls: { get: `${base}/v1/files/${id}` } });
      }
      json(res, 404, { detail: `fake replicate: no route ${req.method} ${path}` });
    })().catch((err: unknown) => {
      if (!res.headersSent) json(res, 500, { detail: String(err) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `${base}/v1`,
    predictions,
    createAttempts,
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

function extOf(contentType: string): string {
  return contentType === 'video/mp4' ? '.mp4' : contentType.startsWith('audio/') ? '.mp3' : '.png';
}
