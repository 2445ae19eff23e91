import { BlockList, isIP } from 'node:net';
import { badRequest } from './errors.ts';

// Where a callback must not point unless ALLOW_PRIVATE_CALLBACKS: loopback, private, link-local,
// carrier-grade NAT and unspecified ranges (server-side request forgery into the local network).
const privateRanges = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
] as const) {
  privateRanges.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
] as const) {
  privateRanges.addSubnet(net, bits, 'ipv6');
}

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
  const family = isIP(host);
  if (family === 4) return privateRanges.check(host, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
    if (mapped?.[1]) return privateRanges.check(mapped[1], 'ipv4');
    return privateRanges.check(host, 'ipv6');
  }
  return false;
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
