import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { Readable, Transform } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { PermanentError, TransientError } from '../errors.ts';
import { classifyAddress } from './address.ts';

/*
 * Fetching a URL a job names without becoming a server-side request forgery (SSRF) tool:
 * - https only (http too when `allowPrivate`, which is for tests and private networks);
 * - the host is resolved once (every address), every address must be public, and the connection is
 *   pinned to the checked address: the socket's own lookup returns it, so a second DNS answer (DNS
 *   rebinding) cannot switch the target to 127.0.0.1 between the check and the connect;
 * - redirects are followed by hand (at most `maxRedirects`), each hop checked the same way;
 * - one deadline covers connect, headers and the whole body; `maxBytes` caps the body.
 */

export interface SafeFetchOptions {
  url: string;
  /** Allow http and loopback / private / link-local targets (tests, private networks). Default false. */
  allowPrivate?: boolean;
  /** Deadline for the whole exchange: connect, every redirect hop, headers and the body. */
  timeoutMs: number;
  /** Refuse a body larger than this (Content-Length up front, counted bytes while streaming). */
  maxBytes?: number;
  headers?: Record<string, string>;
  /** Default 3. */
  maxRedirects?: number;
  signal?: AbortSignal;
  /** Resolver (all addresses of a host name); `dns.lookup` by default. Tests pass their own. */
  resolve?: (hostname: string) => Promise<LookupAddress[]>;
}

/** The parts of a fetch Response callers need, with the body as a web stream. */
export interface SafeResponse {
  /** The final URL, after redirects. */
  url: string;
  status: number;
  statusText: string;
  ok: boolean;
  headers: Headers;
  redirected: boolean;
  /** The IP address the final response came from. */
  address: string;
  body: WebReadableStream<Uint8Array>;
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** A URL safe to show in errors and logs: no credentials, no query (it may hold a signature). */
export function redactUrl(url: string | URL): string {
  try {
    const u = typeof url === 'string' ? new URL(url) : url;
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return String(url).slice(0, 200);
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

async function defaultResolve(hostname: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) =>
      err ? reject(err) : resolve(addresses),
    ),
  );
}

/**
 * Checks one URL (the first, or a redirect hop): scheme, credentials, and every resolved address.
 * Returns the address to pin the connection to; throws PermanentError `<url>: refused: <why>`.
 */
export async function checkTarget(opts: {
  target: URL;
  allowPrivate: boolean;
  resolve: (hostname: string) => Promise<LookupAddress[]>;
  shown: string;
}): Promise<LookupAddress> {
  const { target, allowPrivate, resolve, shown } = opts;
  const refuse = (why: string) => new PermanentError(`${shown}: refused: ${why}`);
  if (target.protocol !== 'https:' && !(allowPrivate && target.protocol === 'http:')) {
    throw refuse(`only https URLs are allowed (got ${target.protocol.replace(':', '')})`);
  }
  if (target.username || target.password) throw refuse('URLs with credentials are not allowed');
  const host = target.hostname.replace(/^\[|\]$/g, '');
  const family = isIP(host);
  let addresses: LookupAddress[];
  if (family) {
    addresses = [{ address: host, family }];
  } else {
    try {
      addresses = await resolve(host);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENOTFOUND' || code === 'ENODATA')
        throw new PermanentError(`${shown}: host ${host} was not found (DNS)`, { cause: err });
      throw new TransientError(`${shown}: DNS lookup of ${host} failed (${code ?? 'error'})`, { cause: err });
    }
    if (addresses.length === 0) throw new PermanentError(`${shown}: host ${host} has no address`);
  }
  if (!allowPrivate) {
    for (const a of addresses) {
      const kind = classifyAddress(a.address);
      if (kind !== 'public') {
        const via = family ? '' : ` (${host} resolves to it)`;
        const article = /^[aeiou]/i.test(kind) ? 'an' : 'a';
        throw refuse(`${a.address} is ${article} ${kind} address${via}`);
      }
    }
  }
  return addresses[0]!;
}

/**
 * GETs `url` safely (see the file comment) and resolves with the response once headers arrive; the
 * body streams. Refusals (scheme, private address, too many redirects, too large, unknown host) are
 * PermanentError; network failures and the deadline are TransientError. Both name the URL (without
 * its query) and why. Non-2xx statuses are returned, not thrown.
 */
export async function safeFetch(opts: SafeFetchOptions): Promise<SafeResponse> {
  const {
    url,
    allowPrivate = false,
    timeoutMs,
    maxBytes,
    headers = {},
    maxRedirects = 3,
    signal,
    resolve = defaultResolve,
  } = opts;
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new PermanentError(`refused: "${String(url).slice(0, 200)}" is not a valid URL`);
  }
  const original = target;
  const deadline = AbortSignal.timeout(timeoutMs);
  const abort = signal ? AbortSignal.any([signal, deadline]) : deadline;
  let sendHeaders = { ...headers };

  for (let hop = 0; ; hop++) {
    const shown = redactUrl(target);
    const pinned = await withAbort(abort, () => checkTarget({ target, allowPrivate, resolve, shown }), {
      shown,
      timeoutMs,
      signal,
    });
    const res = await request({ target, pinned, headers: sendHeaders, abort, shown, timeoutMs, signal });
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (REDIRECTS.has(status) && location) {
      res.resume();
      if (hop >= maxRedirects) {
        res.destroy();
        throw new PermanentError(
          `${redactUrl(original)}: refused: more than ${maxRedirects} redirects (last to ${redactUrl(new URL(location, target))})`,
        );
      }
      const next = new URL(location, target);
      // credentials a caller set for one origin are not handed to another
      if (next.origin !== target.origin) {
        sendHeaders = Object.fromEntries(
          Object.entries(sendHeaders).filter(([k]) => !/^(authorization|cookie)$/i.test(k)),
        );
      }
      target = next;
      continue;
    }
    return toSafeResponse({
      res,
      target,
      redirected: hop > 0,
      address: pinned.address,
      maxBytes,
      shown,
      abort,
      timeoutMs,
      signal,
    });
  }
}

async function withAbort<T>(
  abort: AbortSignal,
  fn: () => Promise<T>,
  why: { shown: string; timeoutMs: number; signal: AbortSignal | undefined },
): Promise<T> {
  if (abort.aborted) throw abortReason(why);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(why));
    abort.addEventListener('abort', onAbort, { once: true });
    fn()
      .then(resolve, reject)
      .finally(() => abort.removeEventListener('abort', onAbort));
  });
}

function abortReason(why: { shown: string; timeoutMs: number; signal: AbortSignal | undefined }): Error {
  if (why.signal?.aborted)
    return why.signal.reason instanceof Error ? why.signal.reason : new Error('aborted');
  return new TransientError(`${why.shown}: timed out after ${why.timeoutMs} ms`);
}

function request(opts: {
  target: URL;
  pinned: LookupAddress;
  headers: Record<string, string>;
  abort: AbortSignal;
  shown: string;
  timeoutMs: number;
  signal: AbortSignal | undefined;
}): Promise<IncomingMessage> {
  const { target, pinned, headers, abort, shown, timeoutMs, signal } = opts;
  const host = target.hostname.replace(/^\[|\]$/g, '');
  // The connection's own lookup answers with the checked address: no second DNS query.
  const lookup: LookupFunction = (_hostname, options, callback) => {
    if ((options as { all?: boolean }).all) {
      (callback as (e: null, a: LookupAddress[]) => void)(null, [pinned]);
    } else {
      callback(null, pinned.address, pinned.family);
    }
  };
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    if (abort.aborted) return reject(abortReason({ shown, timeoutMs, signal }));
    const req = send({
      protocol: target.protocol,
      hostname: host,
      port: target.port || undefined,
      path: `${target.pathname}${target.search}`,
      method: 'GET',
      headers: { 'user-agent': 'reelbus', ...headers },
      lookup,
      agent: false,
      ...(target.protocol === 'https:' && !isIP(host) ? { servername: host } : {}),
    });
    const onAbort = () => req.destroy(abortReason({ shown, timeoutMs, signal }));
    abort.addEventListener('abort', onAbort, { once: true });
    req.once('response', (res) => {
      abort.removeEventListener('abort', onAbort);
      resolve(res);
    });
    req.once('error', (err) => {
      abort.removeEventListener('abort', onAbort);
      if (err instanceof PermanentError || err instanceof TransientError || err.name === 'AbortError')
        return reject(err);
      const code = (err as { code?: string }).code;
      reject(new TransientError(`${shown}: request failed (${code ?? err.message})`, { cause: err }));
    });
    req.end();
  });
}

function toSafeResponse(opts: {
  res: IncomingMessage;
  target: URL;
  redirected: boolean;
  address: string;
  maxBytes: number | undefined;
  shown: string;
  abort: AbortSignal;
  timeoutMs: number;
  signal: AbortSignal | undefined;
}): SafeResponse {
  const { res, target, redirected, address, maxBytes, shown, abort, timeoutMs, signal } = opts;
  const status = res.statusCode ?? 0;
  const headers = new Headers();
  for (const [k, v] of Object.entries(res.headers)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
  }
  const tooLarge = () => new PermanentError(`${shown}: refused: the body is larger than ${maxBytes} bytes`);
  let received = 0;
  const limiter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      received += chunk.length;
      if (maxBytes !== undefined && received > maxBytes) return cb(tooLarge());
      cb(null, chunk);
    },
  });
  const onAbort = () => {
    const err = abortReason({ shown, timeoutMs, signal });
    limiter.destroy(err); // first: the socket's own 'aborted' must not overwrite the reason
    res.destroy(err);
  };
  abort.addEventListener('abort', onAbort, { once: true });
  limiter.once('close', () => abort.removeEventListener('abort', onAbort));
  res.once('error', (err) =>
    limiter.destroy(
      err instanceof PermanentError || err instanceof TransientError
        ? err
        : new TransientError(`${shown}: the body failed (${err.message})`, { cause: err }),
    ),
  );
  res.once('aborted', () => {
    if (!limiter.destroyed) limiter.destroy(new TransientError(`${shown}: the body was cut off`));
  });
  const declared = Number(res.headers['content-length'] ?? NaN);
  if (maxBytes !== undefined && Number.isFinite(declared) && declared > maxBytes) {
    res.destroy();
    limiter.destroy(tooLarge());
    throw tooLarge();
  }
  res.pipe(limiter);
  const body = Readable.toWeb(limiter) as unknown as WebReadableStream<Uint8Array>;
  const collect = async (): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(Buffer.from(c));
    return Buffer.concat(chunks);
  };
  return {
    url: target.toString(),
    status,
    statusText: res.statusMessage ?? '',
    ok: status >= 200 && status < 300,
    headers,
    redirected,
    address,
    body,
    text: async () => (await collect()).toString('utf8'),
    arrayBuffer: async () => {
      const b = await collect();
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    },
  };
}
