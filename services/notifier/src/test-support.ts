import { Job, type JobStatus, type JobKind } from '@reelbus/contracts';
import { JobNotFoundError, type JobStore } from '@reelbus/kit';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An in-memory JobStore with the real one's compare-and-set contract (mutations see a copy; the
 * store sets updatedAt; a missing job throws JobNotFoundError). For unit tests; the integration
 * test runs on the real KvJobStore.
 */
export class MemoryJobStore implements JobStore {
  readonly kind = 'kv' as const;
  readonly docs = new Map<string, Job>();
  /** Count of writes per job (an update whose mutation returns undefined writes nothing). */
  readonly writes = new Map<string, number>();

  async create(job: Job): Promise<{ created: boolean; job: Job }> {
    const existing = this.docs.get(job.id);
    if (existing) return { created: false, job: structuredClone(existing) };
    this.docs.set(job.id, Job.parse(structuredClone(job)));
    return { created: true, job: structuredClone(job) };
  }
  async get(id: string): Promise<Job | undefined> {
    const j = this.docs.get(id);
    return j && structuredClone(j);
  }
  async findByDedupeKey(dedupeKey: string): Promise<Job | undefined> {
    return [...this.docs.values()].find((j) => j.dedupeKey === dedupeKey);
  }
  async update(id: string, mutate: (job: Job) => Job | undefined): Promise<Job> {
    const cur = this.docs.get(id);
    if (!cur) throw new JobNotFoundError(id);
    const next = mutate(structuredClone(cur));
    if (next === undefined) return structuredClone(cur);
    const stored = Job.parse({ ...next, updatedAt: new Date().toISOString() });
    this.docs.set(id, stored);
    this.writes.set(id, (this.writes.get(id) ?? 0) + 1);
    return structuredClone(stored);
  }
  async list(opts: { limit?: number; status?: JobStatus; kind?: JobKind } = {}): Promise<Job[]> {
    return [...this.docs.values()]
      .filter((j) => (!opts.status || j.status === opts.status) && (!opts.kind || j.kind === opts.kind))
      .slice(0, opts.limit);
  }
  async delete(id: string): Promise<void> {
    this.docs.delete(id);
  }
  async close(): Promise<void> {}
}

export interface ReceivedRequest {
  headers: IncomingMessage['headers'];
  body: string;
}

/**
 * A local webhook receiver. `respond(n)` decides the answer to the n-th request (1-based):
 * a status code (or a promise of one, to answer later), or 'hang' to never answer.
 */
export async function startReceiver(respond: (n: number) => number | 'hang' | Promise<number>): Promise<{
  url: string;
  requests: ReceivedRequest[];
  /** Resolves when `n` requests arrived. */
  waitFor(n: number): Promise<void>;
  close(): Promise<void>;
}> {
  const requests: ReceivedRequest[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const hanging: ServerResponse[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      for (const w of waiters.filter((x) => requests.length >= x.n)) w.resolve();
      const answer = respond(requests.length);
      if (answer === 'hang') {
        hanging.push(res);
        return;
      }
      void Promise.resolve(answer).then((status) =>
        res.writeHead(status, { 'content-type': 'text/plain' }).end(`status ${status}`),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/reelbus`,
    requests,
    waitFor: (n) =>
      requests.length >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve })),
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
