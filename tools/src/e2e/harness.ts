// Shared set-up for end-to-end tests: a whole embedded stack (real nats-server, every service as its
// own process) in a temp dir, on free ports.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@reelbus/kit/testing';
import { ReelbusClient } from '../client.ts';
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
