import type { Job, NotificationAttempt } from '@reelbus/contracts';
import { failSpan, isNonPublicAddress, withSpan, type JobStore, type Logger } from '@reelbus/kit';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { notifierState, type WebhookState } from './projection.ts';

/** The events a job's `callbackUrl` hears about: its end (completed, failed, cancelled), and a stall the watchdog noticed. */
export type WebhookEvent = 'job.completed' | 'job.failed' | 'job.cancelled' | 'job.stalled';

/** The job status each webhook event reports. */
const STATUS_OF: Record<WebhookEvent, Job['status']> = {
  'job.completed': 'completed',
  'job.failed': 'failed',
  'job.cancelled': 'cancelled',
  'job.stalled': 'stalled',
};

/** The JSON body POSTed to `callbackUrl`. Absent `error` / `fallback` are `null`, so every key is always there. */
export interface WebhookPayload {
  event: WebhookEvent;
  jobId: string;
  status: Job['status'];
  outputs: Job['outputs'];
  warnings: string[];
  error: Job['error'] | null;
  fallback: Job['fallback'] | null;
  fallbackReason: string | null;
  /** The document the job belongs to: a reel (`{ type: 'reel', id, sectionId?, takeId? }` for a take, `revision` for a compile), a project. */
  origin: Job['origin'] | null;
  /** The job is a test run (issue 15 §4); always present. */
  testMode: boolean;
  /** Who cancelled it and why (`job.cancelled`), else null. */
  cancel: Job['cancel'] | null;
  occurredAt: string;
}

export interface WebhookSettings {
  /** HMAC-SHA256 key shared with receivers. */
  secret: string;
  /** Per attempt: connect, send, and the whole response. */
  timeoutMs: number;
  attempts: number;
  /** Wait before the 2nd attempt; doubles before each next one. */
  backoffMs: number;
  /** Allow loopback / private / link-local callback hosts (tests, private networks). */
  allowPrivate: boolean;
}

export const SIGNATURE_HEADER = 'Reelbus-Signature';
export const TIMESTAMP_HEADER = 'Reelbus-Timestamp';
export const EVENT_ID_HEADER = 'Reelbus-Event-Id';

/** `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. */
export function signWebhook({
  secret,
  timestamp,
  body,
}: {
  secret: string;
  timestamp: number | string;
  body: string | Buffer;
}): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
  return `v1=${mac}`;
}

/**
 * For receivers: true when `signature` (the Reelbus-Signature header; several comma-separated
 * `v1=` values are accepted, e.g. during a secret rotation) is the HMAC of `timestamp.body` under
 * `secret`, and `timestamp` (Reelbus-Timestamp, unix seconds) is within `toleranceSec` of now
 * (refuses replays of old deliveries). `body` must be the raw request body, byte for byte.
 */
export function verifyWebhookSignature({
  secret,
  timestamp,
  body,
  signature,
  toleranceSec = 300,
  now = new Date(),
}: {
  secret: string;
  timestamp: string | number | undefined;
  body: string | Buffer;
  signature: string | undefined;
  toleranceSec?: number;
  now?: Date;
}): boolean {
  if (!signature || timestamp === undefined || !/^\d{1,12}$/.test(String(timestamp))) return false;
  if (Math.abs(now.getTime() / 1000 - Number(timestamp)) > toleranceSec) return false;
  const expected = Buffer.from(signWebhook({ secret, timestamp: String(timestamp), body }).slice(3), 'hex');
  return signature
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('v1='))
    .some((s) => {
      const given = Buffer.from(s.slice(3), 'hex');
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
}

export function webhookPayload({
  job,
  event,
  occurredAt,
}: {
  job: Job;
  event: WebhookEvent;
  occurredAt: string;
}): WebhookPayload {
  return {
    event,
    jobId: job.id,
    status: job.status,
    outputs: job.outputs,
    warnings: job.warnings,
    error: job.error ?? null,
    fallback: job.fallback ?? null,
    fallbackReason: job.fallbackReason ?? null,
    origin: job.origin ?? null,
    testMode: job.testMode,
    cancel: job.cancel ?? null,
    occurredAt,
  };
}

// ---------------------------------------------------------------------------------------------
// Refusing private callback hosts (SSRF): checked on the literal host and on every address DNS
// returns, inside the connection's own lookup, so a name cannot resolve to a public address for a
// check and to 127.0.0.1 for the connection.

/** True for loopback, private, link-local, CGNAT, multicast and unspecified addresses (the kit's classifier). */
export function isPrivateAddress(address: string): boolean {
  return isNonPublicAddress(address);
}

class BlockedHostError extends Error {
  override name = 'BlockedHostError';
}

function guardedLookup(
  hostname: string,
  options: LookupOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '');
    const list = addresses as LookupAddress[];
    const bad = list.find((a) => isPrivateAddress(a.address));
    if (bad) {
      return callback(blocked(hostname, bad.address), '');
    }
    if (options.all) return callback(null, list);
    const first = list[0];
    if (!first) return callback(new Error(`no address for ${hostname}`), '');
    callback(null, first.address, first.family);
  });
}

function blocked(host: string, address: string): BlockedHostError {
  return new BlockedHostError(
    `callback host ${host} is a private or loopback address (${address}); set ALLOW_PRIVATE_CALLBACKS=true to allow it`,
  );
}

// ---------------------------------------------------------------------------------------------

export interface AttemptResult {
  ok: boolean;
  status?: number;
  error?: string;
  /** Worth another attempt (network error, timeout, 408, 429, 5xx). */
  retryable: boolean;
}

/** One POST with a deadline covering connect, request and the whole response. Never throws. */
export async function postOnce({
  url,
  body,
  headers,
  timeoutMs,
  allowPrivate,
}: {
  url: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  allowPrivate: boolean;
}): Promise<AttemptResult> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return { ok: false, retryable: false, error: `callbackUrl "${url}" is not a valid URL` };
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    return { ok: false, retryable: false, error: `callbackUrl must be http(s), got ${target.protocol}` };
  }
  const host = target.hostname.replace(/^\[|\]$/g, '');
  if (!allowPrivate && isPrivateAddress(host)) {
    return { ok: false, retryable: false, error: blocked(host, host).message };
  }
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<AttemptResult>((resolve) => {
    let settled = false;
    const finish = (r: AttemptResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const req = send(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
        ...(allowPrivate ? {} : { lookup: guardedLookup }),
      },
      (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        res.on('data', () => {});
        res.on('error', (err) => finish({ ok: false, status, retryable: true, error: err.message }));
        res.on('end', () => {
          if (status >= 200 && status < 300) return finish({ ok: true, status, retryable: false });
          const retryable = status === 408 || status === 429 || status >= 500;
          const why = status >= 300 && status < 400 ? ' (redirects are not followed)' : '';
          finish({ ok: false, status, retryable, error: `receiver answered HTTP ${status}${why}` });
        });
      },
    );
    const timer = setTimeout(() => {
      finish({ ok: false, retryable: true, error: `no answer within ${timeoutMs} ms (timed out)` });
      req.destroy();
    }, timeoutMs);
    req.on('error', (err) => {
      const permanent = err instanceof BlockedHostError;
      finish({ ok: false, retryable: !permanent, error: err.message });
    });
    req.end(body);
  });
}

// ---------------------------------------------------------------------------------------------

export interface DeliveryResult {
  /** delivered: a 2xx; gave-up: out of attempts or a permanent refusal; skipped: nothing to send or sent before. */
  outcome: 'delivered' | 'gave-up' | 'skipped';
  attempts: number;
  reason?: string;
}

const LEASE_MARGIN_MS = 5_000;

/**
 * Sends the job's terminal webhook once, whichever handler gets there: the terminal event's, or a
 * late event that brings the `callbackUrl` (per-type consumers do not keep order across types).
 * A compare-and-set claim on the job (`state.notifier.webhooks[event]`, owned by the id of the
 * message being handled) picks one sender; every attempt is appended to `job.notifications`; a
 * finished delivery (delivered, or given up) is never repeated. A live claim of another message is
 * left alone (skipped): if its worker dies, that message is redelivered and its owner reclaims it.
 */
export async function deliverWebhook({
  jobs,
  jobId,
  event,
  owner,
  settings,
  working = () => {},
  signal,
  logger,
  clock = () => new Date(),
}: {
  jobs: Pick<JobStore, 'update'>;
  jobId: string;
  event: WebhookEvent;
  /** Id of the message being handled (a redelivery of the same message may take over its own claim). */
  owner: string;
  settings: WebhookSettings;
  working?: () => void;
  signal?: AbortSignal;
  logger?: Logger;
  clock?: () => Date;
}): Promise<DeliveryResult> {
  const wantStatus = STATUS_OF[event];
  const leaseUntil = (waitMs: number) =>
    new Date(clock().getTime() + settings.timeoutMs + waitMs + LEASE_MARGIN_MS).toISOString();

  let skip: string | undefined;
  const claimed = await jobs.update(jobId, (j) => {
    skip = undefined;
    const w = webhookState(j, event);
    if (!j.callbackUrl) skip = 'the job has no callbackUrl';
    else if (j.status !== wantStatus) skip = `the job is ${j.status}, not ${wantStatus}`;
    else if (w.done || j.notifications.some((n) => n.event === event && n.ok))
      skip = `the ${event} webhook was sent before`;
    else if (w.owner && w.owner !== owner && w.until && Date.parse(w.until) > clock().getTime())
      skip = `the ${event} webhook is being sent by another worker`;
    if (skip) return undefined;
    return withWebhookState(j, event, { owner, until: leaseUntil(0) });
  });
  if (skip) return { outcome: 'skipped', attempts: 0, reason: skip };

  const s = notifierState(claimed);
  const eventId =
    (event === 'job.completed'
      ? s.completedEventId
      : event === 'job.failed'
        ? s.failedEventId
        : event === 'job.cancelled'
          ? s.cancelledEventId
          : s.stalledEventId) ?? owner;
  const occurredAt =
    (event === 'job.completed'
      ? s.completedAt
      : event === 'job.failed'
        ? s.failedAt
        : event === 'job.cancelled'
          ? s.cancelledAt
          : s.stalledAt) ?? clock().toISOString();
  const url = claimed.callbackUrl!;
  let target: URL | undefined;
  try {
    target = new URL(url);
  } catch {
    target = undefined;
  }
  // One CLIENT span for the delivery (all its attempts): for a finished job, the last span of its trace.
  return withSpan(
    `webhook ${event}`,
    {
      'http.request.method': 'POST',
      'server.address': target?.hostname,
      'url.path': target?.pathname,
      'reelbus.job_id': jobId,
      'reelbus.webhook.event': event,
    },
    async (span) => {
      const result = await sendAttempts({
        jobs,
        jobId,
        event,
        owner,
        settings,
        working,
        signal,
        logger,
        clock,
        url,
        body: JSON.stringify(webhookPayload({ job: claimed, event, occurredAt })),
        eventId,
        leaseUntil,
      });
      span.setAttributes({
        'reelbus.webhook.outcome': result.outcome,
        'reelbus.webhook.attempts': result.attempts,
        ...(result.status !== undefined ? { 'http.response.status_code': result.status } : {}),
      });
      if (result.outcome !== 'delivered') failSpan(span, result.reason ?? result.outcome);
      const { status: _status, ...rest } = result;
      return rest;
    },
    { kind: 'client' },
  );
}

async function sendAttempts({
  jobs,
  jobId,
  event,
  owner,
  settings,
  working,
  signal,
  logger,
  clock,
  url,
  body,
  eventId,
  leaseUntil,
}: {
  jobs: Pick<JobStore, 'update'>;
  jobId: string;
  event: WebhookEvent;
  owner: string;
  settings: WebhookSettings;
  working: () => void;
  signal: AbortSignal | undefined;
  logger: Logger | undefined;
  clock: () => Date;
  url: string;
  body: string;
  eventId: string;
  leaseUntil: (waitMs: number) => string;
}): Promise<DeliveryResult & { status?: number }> {
  let last: AttemptResult = { ok: false, retryable: true };
  let attempt = 0;
  try {
    for (attempt = 1; attempt <= settings.attempts; attempt++) {
      working();
      const timestamp = Math.floor(clock().getTime() / 1000);
      last = await postOnce({
        url,
        body,
        timeoutMs: settings.timeoutMs,
        allowPrivate: settings.allowPrivate,
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'reelbus-notifier',
          [TIMESTAMP_HEADER]: String(timestamp),
          [SIGNATURE_HEADER]: signWebhook({ secret: settings.secret, timestamp, body }),
          [EVENT_ID_HEADER]: eventId,
        },
      });
      const final = last.ok || !last.retryable || attempt === settings.attempts;
      const waitMs = settings.backoffMs * 2 ** (attempt - 1);
      const record: NotificationAttempt = {
        at: clock().toISOString(),
        url,
        event,
        attempt,
        ok: last.ok,
        ...(last.status !== undefined ? { status: last.status } : {}),
        ...(last.error !== undefined ? { error: last.error } : {}),
      };
      await jobs.update(jobId, (j) => {
        const next = { ...j, notifications: [...j.notifications, record] };
        if (!final) return withWebhookState(next, event, { owner, until: leaseUntil(waitMs) });
        const done = withWebhookState(next, event, { done: true, ok: last.ok });
        if (!last.ok) {
          const warning = `the ${event} webhook to ${url} failed after ${attempt} attempt${attempt > 1 ? 's' : ''}: ${last.error}`;
          if (!done.warnings.includes(warning)) done.warnings = [...done.warnings, warning];
        }
        return done;
      });
      logger?.[last.ok ? 'info' : 'warn'](
        { url, event, attempt, status: last.status, error: last.error },
        'webhook attempt',
      );
      if (final) break;
      working();
      await abortableDelay(waitMs, signal);
    }
  } catch (err) {
    // Shut down mid-delivery: release the claim so the redelivered event can send at once.
    await jobs
      .update(jobId, (j) =>
        webhookState(j, event).owner === owner ? withWebhookState(j, event, {}) : undefined,
      )
      .catch(() => {});
    throw err;
  }
  const attempts = Math.min(attempt, settings.attempts);
  const status = last.status !== undefined ? { status: last.status } : {};
  return last.ok
    ? { outcome: 'delivered', attempts, ...status }
    : { outcome: 'gave-up', attempts, reason: last.error ?? 'unknown error', ...status };
}

function webhookState(job: Job, event: WebhookEvent): WebhookState {
  return notifierState(job).webhooks?.[event] ?? {};
}

function withWebhookState(job: Job, event: WebhookEvent, w: WebhookState): Job {
  const s = notifierState(job);
  return { ...job, state: { ...job.state, notifier: { ...s, webhooks: { ...s.webhooks, [event]: w } } } };
}

function abortableDelay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason ?? new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
