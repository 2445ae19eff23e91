import { Principal } from '@reelbus/contracts';
import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * Named API keys with a role. Only the SHA-256 hash of a key is configured (`API_KEYS`), never the
 * key; a request's key is hashed and compared with every configured hash in constant time.
 */

export const ROLES = ['user', 'operator'] as const;
export type Role = (typeof ROLES)[number];

const SHA256_HASH = /^sha256:[0-9a-f]{64}$/i;
const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** One configured key: who it is, what it may do, and (optionally) its own limits. */
export const ApiKeyConfig = z.strictObject({
  name: z
    .string()
    .regex(KEY_NAME, 'must be 1-100 letters, digits, ".", "_" or "-" (starting with a letter or digit)'),
  role: z.enum(ROLES, { error: `must be ${ROLES.join(' or ')}` }),
  hash: z
    .string()
    .regex(SHA256_HASH, 'must be "sha256:<64 hex digits>" (the hash of the key, never the key itself)')
    .transform((h) => h.toLowerCase()),
  /** Overrides RATE_LIMIT_REQUESTS_PER_MINUTE for this key (0 = no limit). */
  requestsPerMinute: z.number().int().min(0).optional(),
  /** Overrides MAX_ACTIVE_JOBS_PER_KEY for this key (0 = no limit). */
  maxActiveJobs: z.number().int().min(0).optional(),
});
export type ApiKeyConfig = z.output<typeof ApiKeyConfig>;

/** The stored form of an API key: `sha256:<hex>`. Keys themselves are never stored. */
export function hashApiKey(key: string): string {
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

/** The name a key from the older `API_KEY_HASHES` list gets: `key-` and the first 8 hex digits of its hash. */
export const legacyKeyName = (hash: string) =>
  `key-${hash
    .replace(/^sha256:/i, '')
    .slice(0, 8)
    .toLowerCase()}`;

/**
 * Reads `API_KEYS`: either a comma list of `name:role:sha256:<hex>` entries, or a JSON array of
 * `{ name, role, hash, requestsPerMinute?, maxActiveJobs? }`. Returns the keys, or the problems
 * (one line per bad entry, naming it by position and name; never echoing anything but hashes).
 */
export function parseApiKeys(text: string): { keys: ApiKeyConfig[]; problems: string[] } {
  const trimmed = text.trim();
  let entries: Array<{ label: string; value: unknown }>;
  if (trimmed.startsWith('[')) {
    let list: unknown;
    try {
      list = JSON.parse(trimmed);
    } catch (err) {
      return { keys: [], problems: [`is not valid JSON (${(err as Error).message})`] };
    }
    if (!Array.isArray(list)) return { keys: [], problems: ['must be a JSON array of keys'] };
    entries = list.map((value, i) => ({ label: `[${i}]`, value }));
  } else {
    entries = trimmed
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((entry, i) => {
        const [name = '', role = '', ...hash] = entry.split(':');
        return { label: `entry ${i + 1}`, value: { name, role, hash: hash.join(':') } };
      });
  }
  const keys: ApiKeyConfig[] = [];
  const problems: string[] = [];
  for (const { label, value } of entries) {
    const parsed = ApiKeyConfig.safeParse(value);
    if (!parsed.success) {
      const name = (value as { name?: unknown } | null)?.name;
      const who = typeof name === 'string' && name ? `${label} ("${name}")` : label;
      for (const issue of parsed.error.issues) {
        problems.push(`${who} ${issue.path.join('.') || 'entry'}: ${issue.message}`);
      }
      if (!trimmed.startsWith('[') && parsed.error.issues.some((i) => i.path[0] === 'hash')) {
        problems.push(`${who}: write each key as name:role:sha256:<hex>, e.g. ci:user:sha256:9f86d0…`);
      }
      continue;
    }
    keys.push(parsed.data);
  }
  return { keys, problems };
}

/** Problems with a whole key list: duplicate names or hashes (one key, two names, would be ambiguous). */
export function checkKeyList(keys: ApiKeyConfig[]): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  const hashes = new Map<string, string>();
  for (const k of keys) {
    if (names.has(k.name)) problems.push(`two keys are named "${k.name}"; names must be unique`);
    names.add(k.name);
    const other = hashes.get(k.hash);
    if (other !== undefined) problems.push(`keys "${other}" and "${k.name}" have the same hash`);
    hashes.set(k.hash, k.name);
  }
  return problems;
}

interface KeyEntry {
  config: ApiKeyConfig;
  digest: Buffer;
}

/** The configured keys, ready for lookups. */
export class KeyRing {
  readonly #entries: KeyEntry[];

  constructor(keys: ApiKeyConfig[]) {
    this.#entries = keys.map((config) => ({
      config,
      digest: Buffer.from(config.hash.replace(/^sha256:/i, ''), 'hex'),
    }));
  }

  /** Every configured key (names, roles, limits; hashes included). */
  get keys(): ApiKeyConfig[] {
    return this.#entries.map((e) => e.config);
  }

  /**
   * The key `key` hashes to, or undefined. Every digest is compared (timing-safe), so the time taken
   * does not reveal which, or how much of one, matched.
   */
  find(key: string | undefined): ApiKeyConfig | undefined {
    if (!key) return undefined;
    const digest = createHash('sha256').update(key, 'utf8').digest();
    let found: ApiKeyConfig | undefined;
    for (const e of this.#entries) {
      if (e.digest.length === digest.length && timingSafeEqual(e.digest, digest)) found = e.config;
    }
    return found;
  }
}

/** Who made a request, as a job records it (`submittedBy`). */
export const principalOf = (key: ApiKeyConfig): Principal =>
  Principal.parse({ name: key.name, role: key.role });

/** The key from an `Authorization: Bearer <key>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}
