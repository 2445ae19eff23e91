// Test helper: a local HTTP server speaking the MediaConvert REST API (2017-08-29) as the real SDK
// calls it (JSON with lowerCamelCase member names). Not exported from the package barrel.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  body: unknown;
}

/** How a fake job ends after one PROGRESSING poll. */
export type FakeOutcome =
  | { status: 'COMPLETE'; produce?: (createBody: Record<string, unknown>) => Promise<void> }
  | { status: 'ERROR'; errorMessage: string; errorCode: number }
  | { status: 'CANCELED' }
  /** Never ends on its own: PROGRESSING until CancelJob (a long job to cancel mid-way). */
  | { status: 'PROGRESSING' };

export interface FakeMediaConvert {
  endpoint: string;
  requests: RecordedRequest[];
  /** The outcome of the next submitted job. */
  nextOutcome: FakeOutcome;
  /** Ids of the jobs really created (a repeated ClientRequestToken creates none). */
  created: string[];
  /** While true, GetJob answers 503 (the SDK retries, then gives up): a network partition. */
  getsUnavailable: boolean;
  /** GetJob answers after this long (a slow API: a cancel arrives while the SDK waits). Default 0. */
  getDelayMs: number;
  close(): Promise<void>;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as unknown) : undefined;
}

export async function startFakeMediaConvert(): Promise<FakeMediaConvert> {
  const requests: RecordedRequest[] = [];
  const jobs = new Map<string, { body: Record<string, unknown>; polls: number; outcome: FakeOutcome }>();
  const tokens = new Map<string, { id: string; at: number }>();
  let n = 0;
  const fake: FakeMediaConvert = {
    endpoint: '',
    requests,
    nextOutcome: { status: 'COMPLETE' },
    created: [],
    getsUnavailable: false,
    getDelayMs: 0,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    void (async () => {
      const body = await readJson(req);
      const path = (req.url ?? '').split('?')[0]!;
      requests.push({ method: req.method ?? '', path, body });
      if (req.method === 'POST' && path === '/2017-08-29/jobs') {
        const b = body as Record<string, unknown>;
        // MediaConvert: a token reused within one minute of a successful request returns that job.
        const token = typeof b.clientRequestToken === 'string' ? b.clientRequestToken : undefined;
        const seen = token ? tokens.get(token) : undefined;
        let id: string;
        if (seen && Date.now() - seen.at < 60_000) id = seen.id;
        else {
          id = `${Date.now()}-fake${++n}`;
          jobs.set(id, { body: b, polls: 0, outcome: fake.nextOutcome });
          fake.created.push(id);
          if (token) tokens.set(token, { id, at: Date.now() });
        }
        return send(201, {
          job: { id, status: 'SUBMITTED', role: b.role, settings: b.settings, createdAt: Date.now() / 1000 },
        });
      }
      const get = /^\/2017-08-29\/jobs\/([^/]+)$/.exec(path);
      if (get && (req.method === 'GET' || req.method === 'DELETE')) {
        const job = jobs.get(decodeURIComponent(get[1]!));
        if (!job) return send(404, { message: 'job not found' });
        if (req.method === 'DELETE') {
          job.outcome = { status: 'CANCELED' };
          return send(202, {});
        }
        if (fake.getDelayMs > 0) await new Promise((r) => setTimeout(r, fake.getDelayMs));
        if (res.destroyed) return; // the client gave up (aborted) while we waited
        if (fake.getsUnavailable) return send(503, { message: 'Service Unavailable' });
        const id = get[1];
        if (job.outcome.status === 'CANCELED') return send(200, { job: { id, status: 'CANCELED' } });
        job.polls++;
        if (job.polls === 1 || job.outcome.status === 'PROGRESSING')
          return send(200, { job: { id, status: 'PROGRESSING', jobPercentComplete: 50 } });
        if (job.outcome.status === 'ERROR') {
          const { errorMessage, errorCode } = job.outcome;
          return send(200, { job: { id, status: 'ERROR', errorMessage, errorCode } });
        }
        if (job.polls === 2) await job.outcome.produce?.(job.body);
        return send(200, { job: { id, status: 'COMPLETE', jobPercentComplete: 100 } });
      }
      send(404, { message: `no route ${req.method} ${path}` });
    })().catch((err: unknown) => send(500, { message: String(err) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}
