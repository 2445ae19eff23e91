// Shared set-up for end-to-end tests: a whole embedded stack (real nats-server, every service as its
// own process) in a temp dir, on free ports.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@reelbus/kit/testing';
import { ApiError, ReelbusClient } from '../client.ts';
import { startStack, type Stack, type StackOptions } from '../stack.ts';

export const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

export interface E2E {
  dir: string;
  stack: Stack;
  client: ReelbusClient;
  logs: string[];
  close(): Promise<void>;
}

export async function startE2E(opts: Partial<StackOptions> = {}): Promise<E2E> {
  const dir = mkdtempSync(join(tmpdir(), 'reelbus-e2e-'));
  const logs: string[] = [];
  const stack = await startStack({
    root: ROOT,
    dataDir: join(dir, 'state'),
    natsPort: 0,
    ingestPort: await freePort(),
    log: (l) => logs.push(l),
    rawLogs: true,
    ...opts,
    env: { LOG_LEVEL: 'debug', ...opts.env },
  });
  const client = new ReelbusClient({ baseUrl: stack.ingestUrl, apiKey: stack.secrets.apiKey });
  return {
    dir,
    stack,
    client,
    logs,
    async close() {
      await stack.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A job started by publishing its first event on the bus: the notifier creates the job document when
 * it sees that event, so wait (up to 30 s) for the document to exist, then follow it to its end.
 */
export async function waitForJob(e2e: E2E, jobId: string) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await e2e.client.follow(jobId, () => {}, { pollMs: 250 });
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 404 || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
