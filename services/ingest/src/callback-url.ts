import { isNonPublicAddress } from '@reelbus/kit';
import { badRequest } from './errors.ts';

/** True for `localhost`-style names and IP literals in private, loopback or link-local ranges. */
export function isPrivateHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host.endsWith('.local') ||
    host.endsWith('.internal')
  )
    return true;
  // IP literals: the kit's classifier (loopback, private, link-local, CGNAT, multicast, embedded IPv4…).
  return isNonPublicAddress(host);
}

/**
 * Checks a user-given callback URL: absolute http(s), and not a private/loopback host unless allowed.
 * Throws a 400 naming `field`. (Names resolving to private addresses are the notifier's to refuse at send time.)
 */
export function checkCallbackUrl({
  value,
  allowPrivate,
  field = 'callbackUrl',
}: {
  value: unknown;
  allowPrivate: boolean;
  field?: string;
}): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw badRequest(field, 'must be a string URL');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw badRequest(field, `must be an absolute http(s) URL (got "${value.slice(0, 200)}")`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw badRequest(field, `must be an http(s) URL (got protocol "${url.protocol}")`);
  }
  if (url.username || url.password) throw badRequest(field, 'must not contain credentials');
  if (!allowPrivate && isPrivateHost(url.hostname)) {
    throw badRequest(
      field,
      `host "${url.hostname}" is private or loopback; use a public host (or set ALLOW_PRIVATE_CALLBACKS=true for local development)`,
    );
  }
  return url.toString();
}
