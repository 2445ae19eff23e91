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
  | { status: 'ERROR'; errorMessage: string; errorCode: number };

export interface FakeMediaConvert {
  endpoint: string;
  requests: RecordedRequest[];
  /** The outcome of the next submitted job. */
  nextOutcome: FakeOutcome;
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
  let n = 0;
  const fake: FakeMediaConvert = {
    endpoint: '',
    requests,
    nextOutcome: { status: 'COMPLETE' },
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
        const id = `${Date.now()}-fake${++n}`;
        const b = body as Record<string, unknown>;
        jobs.set(id, { body: b, polls: 0, outcome: fake.nextOutcome });
        return send(201, {
          job: { id, status: 'SUBMITTED', role: b.role, settings: b.settings, createdAt: Date.now() / 1000 },
        });
      }
      const get = /^\/2017-08-29\/jobs\/([^/]+)$/.exec(path);
      if (get && (req.method === 'GET' || req.method === 'DELETE')) {
        const job = jobs.get(decodeURIComponent(get[1]!));
        if (!job) return send(404, { message: 'job not found' });
        if (req.method === 'DELETE') return send(202, {});
        job.polls++;
        const id = get[1];
        if (job.polls === 1) return send(200, { job: { id, status: 'PROGRESSING', jobPercentComplete: 50 } });
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
