import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { metrics as defaultMetrics, type Metrics } from './metrics.ts';

export type ReadinessCheck = () => boolean | Promise<boolean>;

export interface HealthServer {
  /** The port listened on (the real one when 0 was asked). */
  port: number;
  close(): Promise<void>;
}

/** How long one readiness check may take before it counts as failing. */
const CHECK_TIMEOUT_MS = 2_000;

async function runCheck(check: ReadinessCheck): Promise<{ ok: boolean; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const ok = await Promise.race([
      Promise.resolve().then(check),
      new Promise<boolean>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
          CHECK_TIMEOUT_MS,
        );
      }),
    ]);
    return { ok: ok === true };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Serves `/healthz` (200 while the process runs), `/readyz` (200 only when every check passes,
 * JSON body with each check) and `/metrics` (Prometheus text of the consume loop's counters).
 * `checks` is read on every request, so checks added later show up.
 */
export async function startHealthServer(opts: {
  host?: string;
  port?: number;
  checks: Map<string, ReadinessCheck> | Record<string, ReadinessCheck>;
  metrics?: Metrics;
}): Promise<HealthServer> {
  const { host = '0.0.0.0', port = 0, checks, metrics = defaultMetrics } = opts;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (path === '/readyz') {
      const entries = checks instanceof Map ? [...checks.entries()] : Object.entries(checks);
      Promise.all(entries.map(async ([name, check]) => [name, await runCheck(check)] as const)).then(
        (results) => {
          const ready = results.every(([, r]) => r.ok);
          const body = { status: ready ? 'ready' : 'not ready', checks: Object.fromEntries(results) };
          res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        },
        (err: Error) => res.writeHead(500).end(err.message),
      );
      return;
    }
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metrics.render());
      return;
    }
    res
      .writeHead(404, { 'content-type': 'application/json' })
      .end('{"error":"not found: try /healthz, /readyz or /metrics"}');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
