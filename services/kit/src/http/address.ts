import { isIP } from 'node:net';

/** Why an address is not a public unicast one; `public` when it is. */
export type AddressClass =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'unique-local'
  | 'shared (CGNAT)'
  | 'multicast'
  | 'reserved'
  | 'documentation'
  | 'benchmarking'
  | 'not an IP address';

type Rule = readonly [network: string, prefix: number, kind: AddressClass];

// RFC 6890 special-purpose ranges. Anything here is refused when private targets are not allowed.
const V4_RULES: readonly Rule[] = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'shared (CGNAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, 'reserved'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'], // includes 255.255.255.255 (broadcast)
];

const V6_RULES: readonly Rule[] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['100::', 64, 'reserved'], // discard-only
  ['2001:db8::', 32, 'documentation'],
  ['2001:2::', 48, 'benchmarking'],
  ['fc00::', 7, 'unique-local'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'reserved'], // deprecated site-local
  ['ff00::', 8, 'multicast'],
];

/** An IPv4 address as a 32-bit unsigned number. */
function v4ToInt(address: string): number {
  return address.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

/** An IPv6 address (any textual form, zone id allowed, trailing dotted quad allowed) as 8 hextets. */
export function parseIPv6(address: string): number[] | undefined {
  let text = address.replace(/^\[|\]$/g, '').split('%')[0]!;
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad) {
    if (isIP(quad[1]!) !== 4) return undefined;
    const n = v4ToInt(quad[1]!);
    text = `${text.slice(0, -quad[1]!.length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  const out = groups.map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? Number.parseInt(g, 16) : NaN));
  return out.length === 8 && out.every((n) => Number.isInteger(n)) ? out : undefined;
}

function inV4(n: number, network: string, prefix: number): boolean {
  if (prefix === 0) return true;
  const mask = prefix === 32 ? 0xffffffff : (~0 << (32 - prefix)) >>> 0;
  return (n & mask) >>> 0 === (v4ToInt(network) & mask) >>> 0;
}

function inV6(h: number[], network: string, prefix: number): boolean {
  const net = parseIPv6(network)!;
  for (let bit = 0; bit < prefix; bit += 16) {
    const i = bit / 16;
    const bits = Math.min(16, prefix - bit);
    const mask = (0xffff << (16 - bits)) & 0xffff;
    if ((h[i]! & mask) !== (net[i]! & mask)) return false;
  }
  return true;
}

function classifyV4(address: string): AddressClass {
  const n = v4ToInt(address);
  return V4_RULES.find(([net, prefix]) => inV4(n, net, prefix))?.[2] ?? 'public';
}

/** The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4), if any. */
function embeddedV4(h: number[]): string | undefined {
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  const zero = (from: number, to: number) => h.slice(from, to).every((x) => x === 0);
  if (zero(0, 5) && h[5] === 0xffff) return v4(h[6]!, h[7]!); // ::ffff:a.b.c.d (IPv4-mapped)
  if (zero(0, 4) && h[4] === 0xffff && h[5] === 0) return v4(h[6]!, h[7]!); // ::ffff:0:a.b.c.d (translated)
  if (zero(0, 6) && (h[6]! !== 0 || h[7]! > 1)) return v4(h[6]!, h[7]!); // ::a.b.c.d (deprecated compatible)
  if (h[0] === 0x64 && h[1] === 0xff9b && zero(2, 6)) return v4(h[6]!, h[7]!); // 64:ff9b::/96 NAT64
  if (h[0] === 0x2002) return v4(h[1]!, h[2]!); // 6to4
  return undefined;
}

/**
 * Classifies an IP address (v4 or v6, any textual form) for outbound requests: `public` for a
 * globally routable unicast address, else why not (loopback, private, link-local, unique-local,
 * CGNAT, multicast, unspecified, reserved…). IPv6 forms that embed an IPv4 address (IPv4-mapped
 * `::ffff:10.0.0.1` / `::ffff:a00:1`, NAT64, 6to4) take the class of the embedded address.
 */
export function classifyAddress(address: string): AddressClass {
  const bare = address.replace(/^\[|\]$/g, '');
  const family = isIP(bare.split('%')[0]!);
  if (family === 4) return classifyV4(bare);
  if (family !== 6) return 'not an IP address';
  const h = parseIPv6(bare);
  if (!h) return 'not an IP address';
  const v4 = embeddedV4(h);
  if (v4 !== undefined) return classifyV4(v4);
  return V6_RULES.find(([net, prefix]) => inV6(h, net, prefix))?.[2] ?? 'public';
}

/** True when `address` is a literal IP that is not a public unicast address. */
export function isNonPublicAddress(address: string): boolean {
  const c = classifyAddress(address);
  return c !== 'public' && c !== 'not an IP address';
}
