// Shared set-up for end-to-end tests: a whole embedded stack (real nats-server, every service as its
// own process) in a temp dir, on free ports: the one stack shared by the files that only submit jobs
// (`sharedE2E`, ./shared-stack.ts), or one of the file's own (`startE2E`) for a file that kills,
// restarts or configures services.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { freePort } from '@reelbus/kit/testing';
import { ApiError, ReelbusClient } from '../client.ts';
import { startStack, type Stack, type StackOptions } from '../stack.ts';
import { SHARED_STACK_KEY, sharedStackOptions, type SharedStackInfo } from './shared-stack.ts';

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

/** A test file's view of the shared stack: the same fields as `Stack` that such a file reads. */
export interface SharedE2E {
  /** This file's own temp dir (the stack's state is elsewhere). */
  dir: string;
  /** The stack's state dir (blobs/, secrets.json): REELBUS_HOME for the CLI, which prints blob paths under it. */
  home: string;
  stack: Pick<Stack, 'ingestUrl' | 'natsUrl' | 'namespace' | 'blobDir'> & {
    secrets: { apiKey: string };
    processes: SharedStackInfo['processes'];
  };
  client: ReelbusClient;
  /** The shared stack's last log lines (every file's jobs), for a failing test to print. */
  recentLogs(lines?: number): Promise<string[]>;
  /** Removes this file's temp dir; the stack stays up for the other files. */
  close(): Promise<void>;
}

/**
 * The shared stack (started by the first file that asks, stopped after the run): for a file that only
 * submits its own jobs and reads their results. Needs vitest's globalSetup
 * `tools/src/e2e/shared-stack.global.ts` (vitest.config.ts). `REELBUS_E2E_OWN_STACK=1`: the file
 * gets a stack of its own with the same settings instead (to tell whether sharing causes a failure).
 */
export async function sharedE2E(): Promise<SharedE2E> {
  if (process.env.REELBUS_E2E_OWN_STACK === '1') return ownSharedE2E();
  const broker = inject(SHARED_STACK_KEY);
  if (!broker)
    throw new Error('no shared stack: run through vitest.config.ts (globalSetup shared-stack.global.ts)');
  const res = await fetch(`${broker}/acquire`, { method: 'POST' });
  const body = (await res.json()) as SharedStackInfo & { error?: string; logs?: string[] };
  if (!res.ok)
    throw new Error(`the shared stack did not start: ${body.error}\n${(body.logs ?? []).join('\n')}`);
  const dir = mkdtempSync(join(tmpdir(), 'reelbus-e2e-'));
  return {
    dir,
    home: body.home,
    stack: {
      ingestUrl: body.ingestUrl,
      natsUrl: body.natsUrl,
      namespace: body.namespace,
      blobDir: body.blobDir,
      secrets: { apiKey: body.apiKey },
      processes: body.processes,
    },
    client: new ReelbusClient({ baseUrl: body.ingestUrl, apiKey: body.apiKey }),
    async recentLogs(lines = 60) {
      return (await (await fetch(`${broker}/logs?tail=${lines}`)).json()) as string[];
    },
    async close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `sharedE2E` on a stack of the file's own, started with the shared stack's settings. */
async function ownSharedE2E(): Promise<SharedE2E> {
  const e2e = await startE2E(sharedStackOptions());
  return {
    dir: e2e.dir,
    home: join(e2e.dir, 'state'),
    stack: e2e.stack,
    client: e2e.client,
    recentLogs: async (lines = 60) => e2e.logs.slice(-lines),
    close: () => e2e.close(),
  };
}

/**
 * A job started by publishing its first event on the bus: the notifier creates the job document when
 * it sees that event, so wait (up to 30 s) for the document to exist, then follow it to its end.
 */
export async function waitForJob(e2e: { client: ReelbusClient }, jobId: string) {
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

/**
 * `reelbus <args…>` (tools/src/cli.ts) against a test stack, as a user runs it: resolves to its stdout
 * and stderr; rejects with them (and `code`) on a non-zero exit.
 */
export function runCli(
  e2e: { stack: Pick<Stack, 'ingestUrl'> & { secrets: { apiKey: string } }; home: string },
  args: string[],
  opts: { timeoutMs?: number } = {},
): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, ['--import', 'tsx', join(ROOT, 'tools/src/cli.ts'), ...args], {
    cwd: ROOT,
    env: {
      ...process.env,
      REELBUS_URL: e2e.stack.ingestUrl,
      REELBUS_API_KEY: e2e.stack.secrets.apiKey,
      REELBUS_HOME: e2e.home,
    },
    timeout: opts.timeoutMs ?? 120_000,
  });
}
