// One whole stack shared by the end-to-end files that only submit jobs and read what comes out (they
// do not kill, restart or reconfigure services): starting a stack per file cost most of the suite's
// time. The vitest main process owns it (./shared-stack.global.ts, a globalSetup): it starts it on the
// first request, so a run without such files never starts one, and stops it after the run. Files reach
// it through a small HTTP broker whose address is `provide`d to them; each file keeps its own jobs and
// its own temp dir, so files running at the same time do not see each other's work.
//
// Its configuration is the union of what those files need (below). A file that needs something else
// (its own service settings, a fake provider, a crash) keeps its own stack: `startE2E`.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@reelbus/kit/testing';
import { startStack, type Stack, type StackOptions } from '../stack.ts';

/** What a test file gets to know about the shared stack. */
export interface SharedStackInfo {
  /** The stack's state dir (its `dataDir`). */
  home: string;
  ingestUrl: string;
  natsUrl: string;
  namespace: string;
  blobDir: string;
  apiKey: string;
  /** Every service process, for its health port (/metrics). */
  processes: Array<{ service: string; replica: number; healthPort: number }>;
}

/** The key under which the broker's URL is provided to test files (`inject`). */
export const SHARED_STACK_KEY = 'reelbusSharedStack';

declare module 'vitest' {
  export interface ProvidedContext {
    [SHARED_STACK_KEY]: string;
  }
}

/** vitest's maxWorkers: at most this many files use the shared stack at once. */
const SHARED_WORK_CONCURRENCY = 2;

/** Lines of the shared stack's log kept for a failing test to print. */
const KEPT_LOG_LINES = 5_000;

/**
 * The shared stack's settings: every service, with what the files on it need: private URLs allowed
 * (merge fetches a clip from the test's own HTTP server), and two messages at a time per consumer,
 * so that two files running at once (vitest's two workers) are served side by side as they were by
 * a stack each, not one behind the other's renders.
 */
export function sharedStackOptions(): Omit<StackOptions, 'root' | 'dataDir'> {
  return {
    natsPort: 0,
    rawLogs: true,
    // many files, and the first of them meets a busy machine
    readyTimeoutMs: 240_000,
    env: {
      LOG_LEVEL: 'debug',
      ALLOW_PRIVATE_URLS: 'true',
      MERGE_ALLOW_PRIVATE_URLS: 'true',
      WORK_CONCURRENCY: String(SHARED_WORK_CONCURRENCY),
    },
  };
}

/** The broker: `POST /acquire` starts the stack once and answers `SharedStackInfo`; `GET /logs?tail=N`. */
export async function startSharedStackBroker(root: string): Promise<{ url: string; close(): Promise<void> }> {
  // Made with the stack: a run that never asks for it leaves nothing behind.
  let dir: string | undefined;
  const logs: string[] = [];
  let starting: Promise<Stack> | undefined;
  const acquire = async (): Promise<SharedStackInfo> => {
    starting ??= (async () => {
      dir = mkdtempSync(join(tmpdir(), 'reelbus-e2e-shared-'));
      return startStack({
        ...sharedStackOptions(),
        root,
        dataDir: join(dir, 'state'),
        ingestPort: await freePort(),
        log: (l) => {
          logs.push(l);
          if (logs.length > KEPT_LOG_LINES) logs.splice(0, logs.length - KEPT_LOG_LINES);
        },
      });
    })();
    const stack = await starting;
    return {
      home: join(dir!, 'state'),
      ingestUrl: stack.ingestUrl,
      natsUrl: stack.natsUrl,
      namespace: stack.namespace,
      blobDir: stack.blobDir,
      apiKey: stack.secrets.apiKey,
      processes: stack.processes.map(({ service, replica, healthPort }) => ({
        service,
        replica,
        healthPort,
      })),
    };
  };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://broker');
    const reply = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.method === 'POST' && url.pathname === '/acquire') {
      acquire().then(
        (info) => reply(200, info),
        (err: unknown) => {
          // A stack that did not start is not retried by the next file: each would wait as long again.
          reply(500, { error: err instanceof Error ? err.message : String(err), logs: logs.slice(-60) });
        },
      );
    } else if (req.method === 'GET' && url.pathname === '/logs') {
      reply(200, logs.slice(-Number(url.searchParams.get('tail') ?? 60)));
    } else reply(404, { error: 'no such route' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      const stack = await starting?.catch(() => undefined);
      await stack?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
