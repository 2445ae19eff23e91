// A local receiver for the notifier's signed webhooks: node:http on a free loopback port. It checks
// `Reelbus-Signature` as a user's receiver would (verifyWebhookSignature on the raw body), answers
// 204 (401 to a bad signature) and records every delivery, so tests can count what was sent.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  EVENT_ID_HEADER,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifyWebhookSignature,
} from '@reelbus/notifier';

export interface WebhookDelivery {
  at: Date;
  path: string;
  /** Whether the signature matched the secret (bad ones are answered 401 and recorded too). */
  verified: boolean;
  eventId: string | undefined;
  headers: IncomingHttpHeaders;
  body: {
    event: string;
    jobId: string;
    status: string;
    outputs?: { video?: { key: string; durationSec: number } };
    error?: { step: string; reason: string } | null;
    warnings?: string[];
  };
}

export interface WebhookReceiver {
  /** POST here, e.g. `http://127.0.0.1:40123/hooks`. */
  url: string;
  deliveries: WebhookDelivery[];
  /** Deliveries for one job, in arrival order. */
  forJob(jobId: string): WebhookDelivery[];
  /** Resolves with the first verified delivery for the job (at once if it already came). */
  waitFor(jobId: string, opts?: { timeoutMs?: number }): Promise<WebhookDelivery>;
  close(): Promise<void>;
}

export async function startWebhookReceiver({ secret }: { secret: string }): Promise<WebhookReceiver> {
  const deliveries: WebhookDelivery[] = [];
  const waiters = new Set<{ jobId: string; resolve: (d: WebhookDelivery) => void }>();
  const header = (h: IncomingHttpHeaders, name: string) => {
    const v = h[name.toLowerCase()];
    return Array.isArray(v) ? v.join(',') : v;
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const verified = verifyWebhookSignature({
        secret,
        timestamp: header(req.headers, TIMESTAMP_HEADER),
        signature: header(req.headers, SIGNATURE_HEADER),
        body: raw,
      });
      let body: WebhookDelivery['body'];
      try {
        body = JSON.parse(raw.toString('utf8')) as WebhookDelivery['body'];
      } catch {
        res.writeHead(400).end();
        return;
      }
      const delivery: WebhookDelivery = {
        at: new Date(),
        path: req.url ?? '/',
        verified,
        eventId: header(req.headers, EVENT_ID_HEADER),
        headers: req.headers,
        body,
      };
      deliveries.push(delivery);
      if (verified) {
        for (const w of [...waiters]) {
          if (w.jobId !== body.jobId) continue;
          waiters.delete(w);
          w.resolve(delivery);
        }
      }
      res.writeHead(verified ? 204 : 401).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/hooks`,
    deliveries,
    forJob: (jobId) => deliveries.filter((d) => d.body.jobId === jobId),
    waitFor(jobId, { timeoutMs = 60_000 } = {}) {
      const done = deliveries.find((d) => d.verified && d.body.jobId === jobId);
      if (done) return Promise.resolve(done);
      return new Promise((resolve, reject) => {
        const waiter = {
          jobId,
          resolve: (d: WebhookDelivery) => {
            clearTimeout(timer);
            resolve(d);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no signed webhook for job ${jobId} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
