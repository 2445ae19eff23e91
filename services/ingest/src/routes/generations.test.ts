import { generateKeyPairSync, createHash, sign, type KeyPairKeyObjectResult } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signWebhookToken } from '@reelbus/ai-generator/models';
import { silentLogger } from '@reelbus/kit';
import type { FastifyInstance } from 'fastify';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../app.ts';
import type { IngestConfig } from '../config.ts';
import { MemoryBlobStore, MemoryBus, MemoryJobStore } from '../testing/fakes.ts';
import { auth, testConfig } from '../testing/helpers.ts';
import { FalKeys, verifyFalWebhook } from './provider-webhooks.ts';

const GEN_SECRET = 'generation-webhook-secret-0123';
const WHSEC = `whsec_${Buffer.from('replicate-signing-secret-bytes!!').toString('base64')}`;
const fal = generateKeyPairSync('ed25519');
const falX = fal.publicKey.export({ format: 'jwk' }).x!;

let app: FastifyInstance;
let bus: MemoryBus;
let jobs: MemoryJobStore;

function start(over: Partial<IngestConfig> = {}) {
  bus = new MemoryBus();
  jobs = new MemoryJobStore();
  app = buildApp({
    config: testConfig({
      generationWebhookSecret: GEN_SECRET,
      replicateWebhookSecret: WHSEC,
      falJwksUrl: undefined,
      falPublicKeys: [falX],
      ...over,
    }),
    bus,
    jobs,
    blobs: new MemoryBlobStore(),
    logger: silentLogger(),
  });
  return app;
}
afterEach(async () => {
  await app?.close();
});

const generate = (payload: unknown) =>
  app.inject({
    method: 'POST',
    url: '/v1/generations',
    headers: auth,
    payload: payload as Record<string, unknown>,
  });

async function newGeneration(): Promise<string> {
  const res = await generate({ model: 'flux-schnell', params: { prompt: 'a red fox' } });
  expect(res.statusCode).toBe(202);
  return res.json().jobId as string;
}

const prediction = (id: string) => ({
  id,
  status: 'succeeded',
  output: ['https://replicate.delivery/abc/out-0.png'],
  error: null,
  metrics: { predict_time: 1.25 },
  completed_at: '2026-11-22T10:00:00.000Z',
});

function replicateWebhook(opts: {
  jobId: string;
  body: unknown;
  id?: string;
  at?: Date;
  secret?: string;
  token?: string;
}) {
  const {
    jobId,
    body,
    id = `msg_${Math.random().toString(36).slice(2)}`,
    at = new Date(),
    secret = WHSEC,
  } = opts;
  const payload = JSON.stringify(body);
  const signature = new Webhook(secret).sign(id, at, payload);
  const token = opts.token ?? signWebhookToken({ secret: GEN_SECRET, provider: 'replicate', jobId });
  return {
    method: 'POST' as const,
    url: `/v1/webhooks/replicate?job=${jobId}&token=${token}`,
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': signature,
    },
    payload,
  };
}

function falWebhook(opts: {
  jobId: string;
  requestId: string;
  body: unknown;
  at?: Date;
  key?: typeof fal.privateKey;
}) {
  const { jobId, requestId, body, at = new Date(), key = fal.privateKey } = opts;
  const payload = JSON.stringify(body);
  const ts = String(Math.floor(at.getTime() / 1000));
  const message = `${requestId}\nuser-1\n${ts}\n${createHash('sha256').update(payload).digest('hex')}`;
  const signature = sign(null, Buffer.from(message), key).toString('hex');
  return {
    method: 'POST' as const,
    url: `/v1/webhooks/fal?job=${jobId}&token=${signWebhookToken({ secret: GEN_SECRET, provider: 'fal', jobId })}`,
    headers: {
      'content-type': 'application/json',
      'x-fal-webhook-request-id': requestId,
      'x-fal-webhook-user-id': 'user-1',
      'x-fal-webhook-timestamp': ts,
      'x-fal-webhook-signature': signature,
    },
    payload,
  };
}

describe('GET /v1/models', () => {
  it('lists the registry with prices and param schemas, filtered by type', async () => {
    start();
    const all = await app.inject({ method: 'GET', url: '/v1/models', headers: auth });
    expect(all.statusCode).toBe(200);
    const ids = (all.json().models as { id: string }[]).map((m) => m.id);
    expect(ids).toEqual(
      expect.arrayContaining(['local-image', 'flux-schnell', 'local-speech', 'fal-ai/infinitalk']),
    );
    const speech = await app.inject({ method: 'GET', url: '/v1/models?type=speech', headers: auth });
    const models = speech.json().models as {
      type: string;
      pricing: { unit: string };
      params: { properties: object };
    }[];
    expect(models.every((m) => m.type === 'speech')).toBe(true);
    expect(models[0]).toMatchObject({
      pricing: { unit: '1k_characters' },
      params: { properties: { text: {} } },
    });
    const bad = await app.inject({ method: 'GET', url: '/v1/models?type=hologram', headers: auth });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('type');
  });

  it('shows one model, ids with a slash included', async () => {
    start();
    const res = await app.inject({ method: 'GET', url: '/v1/models/fal-ai/infinitalk', headers: auth });
    expect(res.json()).toMatchObject({
      id: 'fal-ai/infinitalk',
      type: 'avatar',
      limits: { maxInputSec: 28.8, fps: 25 },
    });
  });
});

describe('POST /v1/generations', () => {
  it('makes a generation job with defaults filled in and publishes generation.requested once', async () => {
    start();
    const res = await generate({ model: 'local-music', params: { mood: 'upbeat', duration: 12 } });
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body).toMatchObject({ model: 'local-music', estimatedCostUsd: 0, estimatedTimeSec: 3 });
    expect(body.statusUrl).toMatch(/\/v1\/jobs\/job_/);
    const job = await jobs.get(body.jobId);
    expect(job).toMatchObject({
      kind: 'generation',
      status: 'queued',
      steps: { ingest: { status: 'completed' } },
    });
    expect(bus.events).toHaveLength(1);
    expect(bus.events[0]).toMatchObject({
      type: 'generation.requested',
      id: `generation.requested:${body.jobId}`,
      data: { model: 'local-music', params: { mood: 'upbeat', tempo: 96, duration: 12 } },
    });
  });

  it('estimates the cost from the model pricing (per 1000 characters)', async () => {
    start();
    const text = 'x'.repeat(2500);
    const res = await generate({ model: 'elevenlabs-multilingual-v2', params: { text } });
    expect(res.json().estimatedCostUsd).toBeCloseTo(0.75, 6);
    expect((await jobs.get(res.json().jobId))?.cost).toMatchObject({
      backend: 'elevenlabs',
      estimateUsd: 0.75,
    });
  });

  it('answers 400 naming every bad param, and publishes nothing', async () => {
    start();
    const res = await generate({ model: 'local-image', params: { prompt: '', width: 7, colour: 'red' } });
    expect(res.statusCode).toBe(400);
    const { error } = res.json();
    expect(error.field).toBe('params.colour');
    expect(error.message).toMatch(/params\.colour: is not a param of local-image/);
    expect(error.message).toMatch(/params\.prompt: must NOT have fewer than 1 characters/);
    expect(error.message).toMatch(/params\.width: must be >= 64/);
    expect(bus.events).toHaveLength(0);
  });

  it('answers 400 for an unknown model, listing the known ones', async () => {
    start();
    const res = await generate({ model: 'dall-e-9', params: {} });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ field: 'model' });
    expect(res.json().error.message).toMatch(/unknown model "dall-e-9".*local-image/);
  });

  it('refuses a private callbackUrl and unknown body fields', async () => {
    start();
    const a = await generate({
      model: 'local-image',
      params: { prompt: 'x' },
      callbackUrl: 'http://127.0.0.1/hook',
    });
    expect(a.statusCode).toBe(400);
    expect(a.json().error.field).toBe('callbackUrl');
    const b = await generate({ model: 'local-image', params: { prompt: 'x' }, modle: 'typo' });
    expect(b.statusCode).toBe(400);
  });

  it('answers 503 and keeps no job when the bus cannot take the event', async () => {
    start();
    bus.publish = async () => {
      throw new Error('nats down');
    };
    const res = await generate({ model: 'local-image', params: { prompt: 'x' } });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('2');
    expect(await jobs.list()).toHaveLength(0);
  });
});

describe('POST /v1/webhooks/replicate (Standard Webhooks)', () => {
  it('publishes generation.callback for a valid webhook, once: a replay is 409', async () => {
    start();
    const jobId = await newGeneration();
    const hook = replicateWebhook({ jobId, body: prediction('pred-1'), id: 'msg_1' });
    const ok = await app.inject(hook);
    expect(ok.statusCode).toBe(200);
    const callbacks = bus.events.filter((e) => e.type === 'generation.callback');
    expect(callbacks).toHaveLength(1);
    expect(callbacks[0]).toMatchObject({
      jobId,
      data: {
        provider: 'replicate',
        requestId: 'pred-1',
        status: 'succeeded',
        computeSec: 1.25,
        webhookId: 'msg_1',
        output: ['https://replicate.delivery/abc/out-0.png'],
      },
    });
    const replay = await app.inject(hook);
    expect(replay.statusCode).toBe(409);
    expect(replay.json().error.code).toBe('webhook_replayed');
    expect(bus.events.filter((e) => e.type === 'generation.callback')).toHaveLength(1);
  });

  it('refuses a forged signature, a stale timestamp and another job’s URL with 401, publishing nothing', async () => {
    start();
    const jobId = await newGeneration();
    const other = await newGeneration();
    const forged = replicateWebhook({
      jobId,
      body: prediction('pred-2'),
      secret: `whsec_${Buffer.from('not-the-right-secret-at-all!!!!').toString('base64')}`,
    });
    expect((await app.inject(forged)).statusCode).toBe(401);
    const stale = replicateWebhook({
      jobId,
      body: prediction('pred-2'),
      at: new Date(Date.now() - 6 * 60_000),
    });
    const staleRes = await app.inject(stale);
    expect(staleRes.statusCode).toBe(401);
    expect(staleRes.json().error.message).toMatch(/stale/);
    // a valid signature, but the URL of another job: the signed job id does not match
    const wrongJob = replicateWebhook({
      jobId,
      body: prediction('pred-2'),
      token: signWebhookToken({ secret: GEN_SECRET, provider: 'replicate', jobId: other }),
    });
    expect((await app.inject(wrongJob)).statusCode).toBe(401);
    const tampered = replicateWebhook({ jobId, body: prediction('pred-2') });
    tampered.payload = tampered.payload.replace('out-0.png', 'evil.png');
    expect((await app.inject(tampered)).statusCode).toBe(401);
    expect(bus.events.filter((e) => e.type === 'generation.callback')).toHaveLength(0);
  });

  it('acknowledges a non-terminal prediction without publishing', async () => {
    start();
    const jobId = await newGeneration();
    const res = await app.inject(
      replicateWebhook({ jobId, body: { ...prediction('p'), status: 'processing' } }),
    );
    expect(res.statusCode).toBe(200);
    expect(bus.events.filter((e) => e.type === 'generation.callback')).toHaveLength(0);
  });

  it('answers 503 without REPLICATE_WEBHOOK_SECRET', async () => {
    start({ replicateWebhookSecret: undefined });
    const jobId = await newGeneration();
    expect((await app.inject(replicateWebhook({ jobId, body: prediction('p') }))).statusCode).toBe(503);
  });
});

describe('POST /v1/webhooks/fal (ED25519)', () => {
  const okBody = (requestId: string) => ({
    request_id: requestId,
    gateway_request_id: requestId,
    status: 'OK',
    payload: { images: [{ url: 'https://v3.fal.media/files/x.png' }] },
  });

  it('publishes a valid webhook once; a replay is 409', async () => {
    start();
    const jobId = await newGeneration();
    const hook = falWebhook({ jobId, requestId: 'req-1', body: okBody('req-1') });
    expect((await app.inject(hook)).statusCode).toBe(200);
    expect((await app.inject(hook)).statusCode).toBe(409);
    const callbacks = bus.events.filter((e) => e.type === 'generation.callback');
    expect(callbacks).toHaveLength(1);
    expect(callbacks[0]?.data).toMatchObject({ provider: 'fal', requestId: 'req-1', status: 'succeeded' });
  });

  it('turns a fal ERROR into a failed callback with fal’s message', async () => {
    start();
    const jobId = await newGeneration();
    const body = {
      request_id: 'req-9',
      status: 'ERROR',
      error: 'Invalid status code: 422',
      payload: { detail: [{ loc: ['body', 'prompt'], msg: 'field required' }] },
    };
    expect((await app.inject(falWebhook({ jobId, requestId: 'req-9', body }))).statusCode).toBe(200);
    expect(bus.events.at(-1)?.data).toMatchObject({
      status: 'failed',
      error: 'Invalid status code: 422: body.prompt: field required',
    });
  });

  it('refuses another key, a stale timestamp and a body for another request with 401', async () => {
    start();
    const jobId = await newGeneration();
    const stranger = generateKeyPairSync('ed25519').privateKey;
    expect(
      (await app.inject(falWebhook({ jobId, requestId: 'r', body: okBody('r'), key: stranger }))).statusCode,
    ).toBe(401);
    const stale = falWebhook({
      jobId,
      requestId: 'r',
      body: okBody('r'),
      at: new Date(Date.now() - 10 * 60_000),
    });
    expect((await app.inject(stale)).statusCode).toBe(401);
    expect((await app.inject(falWebhook({ jobId, requestId: 'r', body: okBody('other') }))).statusCode).toBe(
      401,
    );
    expect(bus.events.filter((e) => e.type === 'generation.callback')).toHaveLength(0);
  });
});

/** A local JWKS endpoint as fal publishes it (`{ keys: [{ kty: 'OKP', crv: 'Ed25519', x, … }] }`), counting its requests. */
async function startJwksServer(initial: KeyPairKeyObjectResult[]) {
  let served = initial;
  let requests = 0;
  let down = false;
  const server = createServer((req, res) => {
    requests += 1;
    if (down) return void res.writeHead(503).end();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        keys: served.map((k, i) => ({
          ...k.publicKey.export({ format: 'jwk' }),
          kid: `key-${i}`,
          use: 'sig',
          alg: 'EdDSA',
        })),
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`,
    requests: () => requests,
    serve: (keys: typeof served) => void (served = keys),
    fail: (on: boolean) => void (down = on),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe("fal's JWKS: fetched, cached, re-fetched when a key rotates", () => {
  const okBody = (requestId: string) => ({
    request_id: requestId,
    status: 'OK',
    payload: { images: [{ url: 'https://v3.fal.media/files/x.png' }] },
  });

  it('fetches the keys on the first webhook, uses the cache for the next, and re-fetches once for a rotated key', async () => {
    const jwks = await startJwksServer([fal]);
    try {
      start({ falJwksUrl: jwks.url, falPublicKeys: [] });
      const jobId = await newGeneration();
      expect(jwks.requests()).toBe(0);
      expect((await app.inject(falWebhook({ jobId, requestId: 'a', body: okBody('a') }))).statusCode).toBe(
        200,
      );
      expect(jwks.requests()).toBe(1);
      expect((await app.inject(falWebhook({ jobId, requestId: 'b', body: okBody('b') }))).statusCode).toBe(
        200,
      );
      expect(jwks.requests()).toBe(1);

      // fal rotates: the new key signs; the cached keys do not know it, so one re-fetch, then it verifies.
      const rotated = generateKeyPairSync('ed25519');
      jwks.serve([rotated]);
      const hook = falWebhook({ jobId, requestId: 'c', body: okBody('c'), key: rotated.privateKey });
      expect((await app.inject(hook)).statusCode).toBe(200);
      expect(jwks.requests()).toBe(2);
      // The refreshed cache holds the new key: no further fetch.
      const next = falWebhook({ jobId, requestId: 'd', body: okBody('d'), key: rotated.privateKey });
      expect((await app.inject(next)).statusCode).toBe(200);
      expect(jwks.requests()).toBe(2);
      expect(
        bus.events
          .filter((e) => e.type === 'generation.callback')
          .map((e) => (e.data as { requestId: string }).requestId),
      ).toEqual(['a', 'b', 'c', 'd']);
    } finally {
      await jwks.close();
    }
  });

  it('refuses a key fal never published after one re-fetch (401)', async () => {
    const jwks = await startJwksServer([fal]);
    try {
      start({ falJwksUrl: jwks.url, falPublicKeys: [] });
      const jobId = await newGeneration();
      const stranger = generateKeyPairSync('ed25519').privateKey;
      const hook = falWebhook({ jobId, requestId: 'r', body: okBody('r'), key: stranger });
      expect((await app.inject(hook)).statusCode).toBe(401);
      expect(jwks.requests()).toBe(2); // the first fetch, then the one re-fetch
      expect(bus.events.filter((e) => e.type === 'generation.callback')).toHaveLength(0);
    } finally {
      await jwks.close();
    }
  });

  it('answers 503 when the JWKS cannot be fetched and no key is configured', async () => {
    const jwks = await startJwksServer([fal]);
    try {
      jwks.fail(true);
      start({ falJwksUrl: jwks.url, falPublicKeys: [] });
      const jobId = await newGeneration();
      const res = await app.inject(falWebhook({ jobId, requestId: 'r', body: okBody('r') }));
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ error: { code: 'not_configured' } });
    } finally {
      await jwks.close();
    }
  });
});

describe('FalKeys', () => {
  it('re-fetches after its time to live and keeps the keys it had when a fetch fails', async () => {
    const jwks = await startJwksServer([fal]);
    try {
      const logged: string[] = [];
      const keys = new FalKeys({
        jwksUrl: jwks.url,
        configured: [],
        ttlMs: 0,
        minRefreshMs: 0,
        log: (m) => logged.push(m),
      });
      expect(await keys.keys()).toHaveLength(1);
      // ttlMs 0: every call after the first millisecond is stale; a refresh forces it regardless.
      await keys.keys({ refresh: true });
      expect(jwks.requests()).toBe(2);
      jwks.fail(true);
      const kept = await keys.keys({ refresh: true });
      expect(jwks.requests()).toBe(3);
      expect(kept.map((k) => k.export({ format: 'jwk' }).x)).toEqual([falX]);
      expect(logged).toEqual([expect.stringContaining("cannot fetch fal's JWKS")]);
    } finally {
      await jwks.close();
    }
  });
});

describe('FalKeys forced re-fetches', () => {
  it('re-fetches for an unknown key at most once a minute, however many forged webhooks come', async () => {
    const jwks = await startJwksServer([fal]);
    try {
      const keys = new FalKeys({ jwksUrl: jwks.url, configured: [] });
      await keys.keys();
      expect(jwks.requests()).toBe(1);
      for (let i = 0; i < 5; i++) await keys.keys({ refresh: true });
      expect(jwks.requests()).toBe(2);
    } finally {
      await jwks.close();
    }
  });
});

describe('verifyFalWebhook', () => {
  it('names what is missing, stale or forged', () => {
    const keys = [fal.publicKey];
    expect(verifyFalWebhook({ headers: {}, body: '{}', keys })).toMatchObject({
      ok: false,
      reason: 'missing',
    });
    const h = falWebhook({ jobId: 'j', requestId: 'r', body: {} }).headers;
    expect(verifyFalWebhook({ headers: h, body: '{}', keys })).toEqual({ ok: true });
    expect(verifyFalWebhook({ headers: h, body: '{"a":1}', keys })).toMatchObject({
      ok: false,
      reason: 'forged',
    });
    expect(
      verifyFalWebhook({ headers: h, body: '{}', keys, now: new Date(Date.now() + 301_000) }),
    ).toMatchObject({
      ok: false,
      reason: 'stale',
    });
  });
});
