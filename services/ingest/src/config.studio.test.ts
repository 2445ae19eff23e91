import { ConfigError } from '@reelbus/kit';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashApiKey } from './api-keys.ts';
import { DEFAULT_STUDIO_DIR, loadIngestConfig } from './config.ts';

const minimal = { API_KEY_HASHES: hashApiKey('k'), LINK_SIGNING_SECRET: 'a-long-enough-secret' };

describe('studio and trace settings', () => {
  it('serves the studio from its build in the repository, and links traces to a local Jaeger, by default', () => {
    const c = loadIngestConfig(minimal);
    expect(c.studio).toEqual({ dir: DEFAULT_STUDIO_DIR, mediaOrigins: [] });
    expect(existsSync(join(DEFAULT_STUDIO_DIR, '..', 'package.json'))).toBe(true);
    expect(c.jaegerUrl).toBe('http://localhost:16686');
  });

  it('turns the studio off, moves it, adds media origins, and drops the trace link with JAEGER_URL=off', () => {
    expect(loadIngestConfig({ ...minimal, STUDIO_ENABLED: 'false' }).studio).toBeUndefined();
    const c = loadIngestConfig({
      ...minimal,
      STUDIO_DIR: '/srv/studio',
      STUDIO_MEDIA_ORIGINS: 'https://cdn.example.com/, https://media.example.com',
      JAEGER_URL: 'off',
    });
    expect(c.studio).toEqual({
      dir: '/srv/studio',
      mediaOrigins: ['https://cdn.example.com', 'https://media.example.com'],
    });
    expect(c.jaegerUrl).toBeUndefined();
    expect(loadIngestConfig({ ...minimal, JAEGER_URL: 'https://jaeger.example.com/' }).jaegerUrl).toBe(
      'https://jaeger.example.com',
    );
  });

  it('names a media origin with a path, and a JAEGER_URL that is not a URL', () => {
    let err: unknown;
    try {
      loadIngestConfig({
        ...minimal,
        STUDIO_MEDIA_ORIGINS: 'https://cdn.example.com/videos',
        JAEGER_URL: 'jaeger',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const text = (err as ConfigError).problems.join('\n');
    expect(text).toMatch(/STUDIO_MEDIA_ORIGINS.*origins like https:\/\/cdn\.example\.com/);
    expect(text).toMatch(/JAEGER_URL/);
  });
});
