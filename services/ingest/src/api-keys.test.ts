import { ConfigError } from '@reelbus/kit';
import { describe, expect, it } from 'vitest';
import { KeyRing, bearerToken, hashApiKey, legacyKeyName, parseApiKeys } from './api-keys.ts';
import { loadIngestConfig } from './config.ts';

const h1 = hashApiKey('first-key');
const h2 = hashApiKey('second-key');
const secret = { LINK_SIGNING_SECRET: 'a-long-enough-secret' };

describe('API_KEYS', () => {
  it('reads name:role:sha256:<hex> entries', () => {
    expect(
      parseApiKeys(`ci:user:${h1}, ops:operator:${h2.toUpperCase().replace('SHA256', 'sha256')}`),
    ).toEqual({
      keys: [
        { name: 'ci', role: 'user', hash: h1 },
        { name: 'ops', role: 'operator', hash: h2 },
      ],
      problems: [],
    });
  });

  it('reads a JSON list with per-key limits', () => {
    const text = JSON.stringify([
      { name: 'batch', role: 'user', hash: h1, requestsPerMinute: 60, maxActiveJobs: 2 },
      { name: 'ops', role: 'operator', hash: h2 },
    ]);
    expect(parseApiKeys(text).keys).toEqual([
      { name: 'batch', role: 'user', hash: h1, requestsPerMinute: 60, maxActiveJobs: 2 },
      { name: 'ops', role: 'operator', hash: h2 },
    ]);
  });

  it('names each bad entry and what is wrong with it, never echoing a key given in clear', () => {
    const { keys, problems } = parseApiKeys(`ci:admin:${h1},ops:operator:my-secret-key,:user:${h2}`);
    expect(keys).toEqual([]);
    expect(problems).toEqual([
      'entry 1 ("ci") role: must be user or operator',
      'entry 2 ("ops") hash: must be "sha256:<64 hex digits>" (the hash of the key, never the key itself)',
      'entry 2 ("ops"): write each key as name:role:sha256:<hex>, e.g. ci:user:sha256:9f86d0…',
      'entry 3 name: must be 1-100 letters, digits, ".", "_" or "-" (starting with a letter or digit)',
    ]);
    expect(parseApiKeys('[{"name":"x"').problems[0]).toMatch(/^is not valid JSON/);
    expect(
      parseApiKeys(JSON.stringify([{ name: 'x', role: 'user', hash: h1, colour: 'red' }])).problems,
    ).toEqual(['[0] ("x") entry: Unrecognized key: "colour"']);
  });
});

describe('the ingest key settings', () => {
  it('keeps API_KEY_HASHES working: each hash is a user key named key-<first 8 hex digits>', () => {
    const c = loadIngestConfig({ ...secret, API_KEY_HASHES: `${h1},${h2}` });
    expect(c.apiKeys).toEqual([
      { name: legacyKeyName(h1), role: 'user', hash: h1 },
      { name: legacyKeyName(h2), role: 'user', hash: h2 },
    ]);
    expect(legacyKeyName(h1)).toBe(`key-${h1.slice(7, 15)}`);
  });

  it('takes named keys and older hashes together', () => {
    const c = loadIngestConfig({ ...secret, API_KEYS: `ops:operator:${h1}`, API_KEY_HASHES: h2 });
    expect(c.apiKeys.map((k) => `${k.name}:${k.role}`)).toEqual([
      'ops:operator',
      `${legacyKeyName(h2)}:user`,
    ]);
  });

  it('fills in generous limits, counted per replica unless RATE_LIMIT_SCOPE=cluster', () => {
    expect(loadIngestConfig({ ...secret, API_KEYS: `ci:user:${h1}` }).limits).toEqual({
      requestsPerMinute: 3000,
      scope: 'replica',
      maxActiveJobs: 100,
    });
    expect(
      loadIngestConfig({
        ...secret,
        API_KEYS: `ci:user:${h1}`,
        RATE_LIMIT_REQUESTS_PER_MINUTE: '0',
        RATE_LIMIT_SCOPE: 'cluster',
        MAX_ACTIVE_JOBS_PER_KEY: '5',
      }).limits,
    ).toEqual({ requestsPerMinute: 0, scope: 'cluster', maxActiveJobs: 5 });
  });

  it('refuses to start without keys, with duplicate names or hashes, or with a bad scope, naming the variable', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadIngestConfig({ ...secret, ...env });
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).problems;
      }
      return [];
    };
    expect(problems({})).toEqual([expect.stringMatching(/^API_KEYS: is required: name each API key/)]);
    expect(problems({ API_KEYS: `ci:user:${h1},ci:operator:${h2}` })).toEqual([
      expect.stringContaining('API_KEYS: two keys are named "ci"; names must be unique'),
    ]);
    expect(problems({ API_KEYS: `a:user:${h1},b:operator:${h1}` })).toEqual([
      expect.stringContaining('API_KEYS: keys "a" and "b" have the same hash'),
    ]);
    expect(problems({ API_KEYS: `ci:user:${h1}`, RATE_LIMIT_SCOPE: 'global' })).toEqual([
      expect.stringContaining('RATE_LIMIT_SCOPE: must be one of replica, cluster'),
    ]);
    expect(problems({ API_KEYS: ' , ' })).toEqual([expect.stringContaining('API_KEYS: lists no key')]);
  });
});

describe('KeyRing', () => {
  const ring = new KeyRing([
    { name: 'ci', role: 'user', hash: h1 },
    { name: 'ops', role: 'operator', hash: h2 },
  ]);

  it('finds the key a request carries, and nothing for another key or a hash', () => {
    expect(ring.find('first-key')?.name).toBe('ci');
    expect(ring.find('second-key')).toMatchObject({ name: 'ops', role: 'operator' });
    expect(ring.find('third-key')).toBeUndefined();
    expect(ring.find(undefined)).toBeUndefined();
    expect(ring.find(h1)).toBeUndefined();
  });

  it('reads the key only from a Bearer header', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer   abc ')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
  });
});
