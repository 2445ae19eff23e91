import { createHmac, timingSafeEqual } from 'node:crypto';

/** HMAC-SHA256 (hex) over `GET\n<path>\n<expires>`. */
export function linkSignature({
  path,
  expires,
  secret,
}: {
  path: string;
  expires: number;
  secret: string;
}): string {
  return createHmac('sha256', secret).update(`GET\n${path}\n${expires}`).digest('hex');
}

export interface SignedLink {
  url: string;
  /** ISO time after which the link is refused. */
  expiresAt: string;
}

/** A URL for `path` on `baseUrl` that works without an API key until `ttlSec` from `now`. */
export function signLink({
  baseUrl,
  path,
  secret,
  ttlSec,
  now = Date.now(),
}: {
  baseUrl: string;
  path: string;
  secret: string;
  ttlSec: number;
  now?: number;
}): SignedLink {
  const expires = Math.floor(now / 1000) + Math.max(1, Math.floor(ttlSec));
  const signature = linkSignature({ path, expires, secret });
  const qs = new URLSearchParams({ expires: String(expires), signature });
  return { url: `${baseUrl}${path}?${qs.toString()}`, expiresAt: new Date(expires * 1000).toISOString() };
}

export type LinkCheck = { ok: true } | { ok: false; reason: 'missing' | 'malformed' | 'expired' | 'invalid' };

/** Checks a signed link's `expires` and `signature` for `path` (constant-time compare, then expiry). */
export function verifyLink({
  path,
  expires,
  signature,
  secret,
  now = Date.now(),
}: {
  path: string;
  expires: string | undefined;
  signature: string | undefined;
  secret: string;
  now?: number;
}): LinkCheck {
  if (expires === undefined && signature === undefined) return { ok: false, reason: 'missing' };
  if (!expires || !signature || !/^\d{1,12}$/.test(expires) || !/^[0-9a-f]{64}$/i.test(signature)) {
    return { ok: false, reason: 'malformed' };
  }
  const exp = Number(expires);
  const expected = Buffer.from(linkSignature({ path, expires: exp, secret }), 'hex');
  const given = Buffer.from(signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, reason: 'invalid' };
  if (exp * 1000 <= now) return { ok: false, reason: 'expired' };
  return { ok: true };
}
