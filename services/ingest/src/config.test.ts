import { ConfigError } from '@reelbus/kit';
import { describe, expect, it } from 'vitest';
import { hashApiKey } from './api-keys.ts';
import { loadIngestConfig } from './config.ts';

const minimal = { API_KEY_HASHES: hashApiKey('k'), LINK_SIGNING_SECRET: 'a-long-enough-secret' };

describe('loadIngestConfig', () => {
  it('fills in defaults around the two required settings', () => {
    const c = loadIngestConfig(minimal);
    expect(c).toMatchObject({
      host: '0.0.0.0',
      port: 8080,
      publicBaseUrl: 'http://localhost:8080',
      twilioAuthToken: undefined,
      videoLinkTtlSec: 86_400,
      uploadMaxBytes: 200 * 1024 * 1024,
      allowPrivateCallbacks: false,
    });
  });

  it('drops a trailing slash from PUBLIC_BASE_URL', () => {
    expect(
      loadIngestConfig({ ...minimal, PUBLIC_BASE_URL: 'https://calls.example.com/' }).publicBaseUrl,
    ).toBe('https://calls.example.com');
  });

  it('names each bad variable, and refuses a key given in clear instead of its hash', () => {
    let err: unknown;
    try {
      loadIngestConfig({
        API_KEY_HASHES: 'my-secret-key',
        INGEST_PORT: 'eighty',
        PUBLIC_BASE_URL: 'calls.example.com',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const text = (err as ConfigError).problems.join('\n');
    for (const name of ['API_KEY_HASHES', 'LINK_SIGNING_SECRET', 'INGEST_PORT', 'PUBLIC_BASE_URL'])
      expect(text).toContain(name);
    expect(text).toContain('sha256:');
  });
});
