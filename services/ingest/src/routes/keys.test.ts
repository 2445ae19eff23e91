import { silentLogger } from '@reelbus/kit';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../app.ts';
import { MemoryBlobStore, MemoryBus, MemoryJobStore } from '../testing/fakes.ts';
import { auth, operatorAuth, testConfig } from '../testing/helpers.ts';

// The studio asks GET /v1/me who it signed in as, and shows operator pages for operator keys.
let app: FastifyInstance;
beforeEach(() => {
  app = buildApp({
    config: testConfig(),
    bus: new MemoryBus(),
    jobs: new MemoryJobStore(),
    blobs: new MemoryBlobStore(),
    logger: silentLogger(),
  });
});
afterEach(() => app.close());

describe('GET /v1/me', () => {
  it('answers the calling key’s name and role, for user and operator keys alike, and nothing else', async () => {
    const user = await app.inject({ method: 'GET', url: '/v1/me', headers: auth });
    expect(user.statusCode).toBe(200);
    expect(user.json()).toEqual({ name: 'tester', role: 'user' });
    const operator = await app.inject({ method: 'GET', url: '/v1/me', headers: operatorAuth });
    expect(operator.json()).toEqual({ name: 'ops', role: 'operator' });
  });

  it('answers 401 without a key or with a wrong one', async () => {
    const none = await app.inject({ method: 'GET', url: '/v1/me' });
    expect(none.statusCode).toBe(401);
    expect(none.json().error.code).toBe('unauthorized');
    const wrong = await app.inject({
      method: 'GET',
      url: '/v1/me',
      headers: { authorization: 'Bearer rb_wrong' },
    });
    expect(wrong.statusCode).toBe(401);
  });

  it('is in the OpenAPI document with its answer', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/v1/openapi.json' })).json();
    const me = doc.paths['/v1/me'].get;
    expect(me.summary).toMatch(/calling API key/);
    const schema = me.responses['200'].content['application/json'].schema;
    const resolved = schema.$ref ? doc.components.schemas[schema.$ref.split('/').pop()] : schema;
    expect(resolved.required.sort()).toEqual(['name', 'role']);
    expect(doc.paths['/v1/jobs/{id}/audio'].get.responses['206']).toBeDefined();
  });
});
