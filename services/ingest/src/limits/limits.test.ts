import { Metrics, silentLogger } from '@reelbus/kit';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { hashApiKey } from '../api-keys.ts';
import { buildApp } from '../app.ts';
import type { IngestConfig } from '../config.ts';
import { MemoryBlobStore, MemoryBus, MemoryJobStore } from '../testing/fakes.ts';
import {
  API_KEY,
  auth,
  makeStereoWav,
  multipartBody,
  operatorAuth,
  testConfig,
  twilioCallback,
  twilioRequest,
} from '../testing/helpers.ts';
import { ActiveJobs, planReservation } from './active-jobs.ts';
import { MemoryCasMap, type CasMap } from './cas-map.ts';
import { LIMITED_METRIC, casRateLimitStore, windowOf } from './request-limit.ts';

describe('planReservation', () => {
  it.each([
    { active: [], jobId: 'a', limit: 1, plan: 'add' },
    { active: ['a'], jobId: 'a', limit: 1, plan: 'have' },
    { active: ['a'], jobId: 'b', limit: 1, plan: 'full' },
    { active: ['a', 'b'], jobId: 'c', limit: 3, plan: 'add' },
    { active: ['a', 'b', 'c'], jobId: 'b', limit: 2, plan: 'have' },
  ] as const)('$active + $jobId under $limit → $plan', ({ active, jobId, limit, plan }) => {
    expect(planReservation({ active, jobId, limit })).toBe(plan);
  });
});

describe('windowOf', () => {
  it('puts a time in its fixed minute and says how long is left of it', () => {
    expect(windowOf(120_000)).toEqual({ index: 2, ttlMs: 60_000 });
    expect(windowOf(179_999)).toEqual({ index: 2, ttlMs: 1 });
    expect(windowOf(180_000)).toEqual({ index: 3, ttlMs: 60_000 });
  });
});

describe('ActiveJobs', () => {
  const active = new Set<string>();
  const counter = (map: CasMap = new MemoryCasMap()) => new ActiveJobs(map, async (id) => active.has(id));

  it('takes one slot per job up to the limit, and frees the slots of finished jobs', async () => {
    active.clear();
    const jobs = counter();
    for (const id of ['j1', 'j2']) {
      active.add(id);
      expect(await jobs.reserve({ keyName: 'ci', jobId: id, limit: 2 })).toEqual({ ok: true });
    }
    expect(await jobs.reserve({ keyName: 'ci', jobId: 'j3', limit: 2 })).toEqual({
      ok: false,
      active: 2,
      limit: 2,
    });
    // Another key has its own count; the same job asking again keeps its slot.
    expect(await jobs.reserve({ keyName: 'ops', jobId: 'j3', limit: 2 })).toEqual({ ok: true });
    expect(await jobs.reserve({ keyName: 'ci', jobId: 'j2', limit: 2 })).toEqual({ ok: true });
    active.delete('j1'); // finished
    expect(await jobs.reserve({ keyName: 'ci', jobId: 'j3', limit: 2 })).toEqual({ ok: true });
    expect(await jobs.count('ci')).toBe(1); // j3 is not "active" in this fake yet
    await jobs.release({ keyName: 'ci', jobId: 'j3' });
    active.add('j4');
    expect(await jobs.reserve({ keyName: 'ci', jobId: 'j4', limit: 2 })).toEqual({ ok: true });
  });

  it('never hands out more slots than the limit to concurrent requests', async () => {
    active.clear();
    const jobs = counter();
    const ids = Array.from({ length: 12 }, (_, i) => `c${i}`);
    for (const id of ids) active.add(id);
    const results = await Promise.all(ids.map((jobId) => jobs.reserve({ keyName: 'ci', jobId, limit: 3 })));
    expect(results.filter((r) => r.ok)).toHaveLength(3);
  });
});

describe('the request counter shared through a CasMap', () => {
  it('counts one key across two stores (two replicas) within a minute, then starts again', async () => {
    let now = 60_000 * 1000 + 5_000;
    const map = new MemoryCasMap();
    const Store = casRateLimitStore(map, () => now);
    const a = new Store({} as never);
    const b = new Store({} as never);
    const incr = (s: typeof a, key: string) =>
      new Promise<{ current: number; ttl: number }>((resolve, reject) =>
        s.incr(key, (err, res) => (err ? reject(err) : resolve(res!)), 60_000, 10),
      );
    expect(await incr(a, 'key:ci')).toEqual({ current: 1, ttl: 55_000 });
    expect(await incr(b, 'key:ci')).toEqual({ current: 2, ttl: 55_000 });
    expect(await incr(b, 'key:ops')).toEqual({ current: 1, ttl: 55_000 });
    now += 55_000; // the next minute
    expect(await incr(a, 'key:ci')).toEqual({ current: 1, ttl: 60_000 });
  });
});

describe('limits on the API', () => {
  let app: FastifyInstance | undefined;
  let other: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    await other?.close();
    app = other = undefined;
  });

  const make = (
    over: Partial<IngestConfig> = {},
    shared: { counts?: MemoryCasMap; jobs?: MemoryJobStore; metrics?: Metrics } = {},
  ) => {
    const jobs = shared.jobs ?? new MemoryJobStore();
    const bus = new MemoryBus();
    const blobs = new MemoryBlobStore();
    const metrics = shared.metrics ?? new Metrics();
    const built = buildApp({
      config: testConfig(over),
      bus,
      jobs,
      blobs,
      logger: silentLogger(),
      metrics,
      limitStores: { activeJobs: new MemoryCasMap(), requestCounts: shared.counts ?? new MemoryCasMap() },
    });
    return { app: built, jobs, bus, blobs, metrics };
  };
  const limits = (l: Partial<IngestConfig['limits']>) => ({
    limits: { requestsPerMinute: 3000, scope: 'replica' as const, maxActiveJobs: 100, ...l },
  });

  it('answers 429 with Retry-After past a key’s requests per minute, counts it, and leaves other keys alone', async () => {
    const t = make(limits({ requestsPerMinute: 3 }));
    app = t.app;
    for (let i = 0; i < 3; i++)
      expect((await app.inject({ method: 'GET', url: '/v1/jobs', headers: auth })).statusCode).toBe(200);
    const limited = await app.inject({ method: 'GET', url: '/v1/jobs', headers: auth });
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe('rate_limited');
    expect(limited.json().error.message).toContain(
      'the API key "tester" made more than 3 requests in a minute',
    );
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(t.metrics.value(LIMITED_METRIC, { key: 'tester', limit: 'requests_per_minute' })).toBe(1);
    // The operator key has its own count.
    expect((await app.inject({ method: 'GET', url: '/v1/jobs', headers: operatorAuth })).statusCode).toBe(
      200,
    );
  });

  it('lets a key’s own requestsPerMinute override the default (0 = no limit), and exempts the Twilio webhook', async () => {
    const t = make({
      ...limits({ requestsPerMinute: 1 }),
      apiKeys: [
        { name: 'tester', role: 'user', hash: hashApiKey(API_KEY), requestsPerMinute: 0 },
        { name: 'slow', role: 'user', hash: hashApiKey('slow-key'), requestsPerMinute: 2 },
      ],
    });
    app = t.app;
    for (let i = 0; i < 5; i++)
      expect((await app.inject({ method: 'GET', url: '/v1/jobs', headers: auth })).statusCode).toBe(200);
    const slow = { authorization: 'Bearer slow-key' };
    const codes = [];
    for (let i = 0; i < 3; i++)
      codes.push((await app.inject({ method: 'GET', url: '/v1/jobs', headers: slow })).statusCode);
    expect(codes).toEqual([200, 200, 429]);
    for (let i = 0; i < 3; i++) {
      expect((await app.inject(twilioRequest({ params: twilioCallback() }))).statusCode).toBe(200);
    }
  });

  it('counts per replica by default, and across replicas with RATE_LIMIT_SCOPE=cluster', async () => {
    const counts = new MemoryCasMap();
    const a = make(limits({ requestsPerMinute: 2, scope: 'replica' }), { counts });
    const b = make(limits({ requestsPerMinute: 2, scope: 'replica' }), { counts });
    app = a.app;
    other = b.app;
    const hit = (x: FastifyInstance) =>
      x.inject({ method: 'GET', url: '/v1/jobs', headers: auth }).then((r) => r.statusCode);
    expect([await hit(app), await hit(other), await hit(app), await hit(other)]).toEqual([
      200, 200, 200, 200,
    ]);
    await app.close();
    await other.close();

    const shared = new MemoryCasMap();
    app = make(limits({ requestsPerMinute: 2, scope: 'cluster' }), { counts: shared }).app;
    other = make(limits({ requestsPerMinute: 2, scope: 'cluster' }), { counts: shared }).app;
    expect([await hit(app), await hit(other), await hit(app)]).toEqual([200, 200, 429]);
  });

  it('refuses a new job past the key’s unfinished jobs with 429 too_many_active_jobs, and takes it once one has finished', async () => {
    const t = make(limits({ maxActiveJobs: 1 }));
    app = t.app;
    const upload = async () => {
      const body = await multipartBody([
        { name: 'recording', filename: 'call.wav', type: 'audio/wav', bytes: makeStereoWav() },
      ]);
      return app!.inject({
        method: 'POST',
        url: '/v1/recordings',
        headers: { ...auth, ...body.headers },
        payload: body.payload,
      });
    };
    const first = await upload();
    expect(first.statusCode).toBe(202);
    const second = await upload();
    expect(second.statusCode).toBe(429);
    expect(second.headers['retry-after']).toBe('30');
    expect(second.json().error).toMatchObject({ code: 'too_many_active_jobs' });
    expect(second.json().error.message).toContain('the API key "tester" has 1 unfinished jobs');
    expect(await t.jobs.list()).toHaveLength(1);
    expect(t.bus.ofType('recording.received')).toHaveLength(1);
    expect([...t.blobs.blobs.keys()].every((k) => k.startsWith(`jobs/${first.json().jobId}/`))).toBe(true);
    expect(t.metrics.value(LIMITED_METRIC, { key: 'tester', limit: 'active_jobs' })).toBe(1);
    // Another key is not held back by this one's jobs.
    const ops = await multipartBody([
      { name: 'recording', filename: 'call.wav', type: 'audio/wav', bytes: makeStereoWav() },
    ]);
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/v1/recordings',
          headers: { ...operatorAuth, ...ops.headers },
          payload: ops.payload,
        })
      ).statusCode,
    ).toBe(202);

    await t.jobs.update(first.json().jobId, (j) => ({ ...j, status: 'completed' }));
    expect((await upload()).statusCode).toBe(202);
  });

  it('answers a retried story (same storyId) at the limit with its job, not a 429', async () => {
    const t = make(limits({ maxActiveJobs: 1 }));
    app = t.app;
    await t.blobs.put('in/story.wav', makeStereoWav());
    const post = (storyId: string) =>
      app!.inject({
        method: 'POST',
        url: '/v1/stories',
        headers: auth,
        payload: { storyId, audio: 'in/story.wav' },
      });
    expect((await post('one')).statusCode).toBe(202);
    const retry = await post('one');
    expect(retry.statusCode).toBe(202);
    expect(retry.json()).toMatchObject({ jobId: 'story_one', created: false });
    expect((await post('two')).statusCode).toBe(429);
  });
});

describe('roles', () => {
  it('lets only operator keys call operator routes, and shows each key’s limits and unfinished jobs', async () => {
    const jobs = new MemoryJobStore();
    const app = buildApp({
      config: testConfig(),
      bus: new MemoryBus(),
      jobs,
      blobs: new MemoryBlobStore(),
      logger: silentLogger(),
    });
    try {
      const body = await multipartBody([
        { name: 'recording', filename: 'call.wav', type: 'audio/wav', bytes: makeStereoWav() },
      ]);
      const up = await app.inject({
        method: 'POST',
        url: '/v1/recordings',
        headers: { ...auth, ...body.headers },
        payload: body.payload,
      });
      expect(up.statusCode).toBe(202);

      const refused = await app.inject({ method: 'GET', url: '/v1/keys', headers: auth });
      expect(refused.statusCode).toBe(403);
      expect(refused.json().error).toEqual({
        code: 'forbidden',
        message: 'GET /v1/keys needs an operator key; the key "tester" has the role "user"',
      });
      const res = await app.inject({ method: 'GET', url: '/v1/keys', headers: operatorAuth });
      expect(res.statusCode).toBe(200);
      expect(res.json().keys).toEqual([
        { name: 'another', role: 'user', requestsPerMinute: 3000, maxActiveJobs: 100, activeJobs: 0 },
        { name: 'tester', role: 'user', requestsPerMinute: 3000, maxActiveJobs: 100, activeJobs: 1 },
        { name: 'ops', role: 'operator', requestsPerMinute: 3000, maxActiveJobs: 100, activeJobs: 0 },
      ]);
      expect(JSON.stringify(res.json())).not.toContain('sha256');
    } finally {
      await app.close();
    }
  });

  it('records which key submitted a job; a Twilio job has no key', async () => {
    const jobs = new MemoryJobStore();
    const blobs = new MemoryBlobStore();
    const app = buildApp({ config: testConfig(), bus: new MemoryBus(), jobs, blobs, logger: silentLogger() });
    try {
      await blobs.put('in/story.wav', makeStereoWav());
      const story = await app.inject({
        method: 'POST',
        url: '/v1/stories',
        headers: operatorAuth,
        payload: { audio: 'in/story.wav' },
      });
      expect((await jobs.get(story.json().jobId))?.submittedBy).toEqual({ name: 'ops', role: 'operator' });
      const body = await multipartBody([
        { name: 'recording', filename: 'call.wav', type: 'audio/wav', bytes: makeStereoWav() },
      ]);
      const up = await app.inject({
        method: 'POST',
        url: '/v1/recordings',
        headers: { ...auth, ...body.headers },
        payload: body.payload,
      });
      expect((await jobs.get(up.json().jobId))?.submittedBy).toEqual({ name: 'tester', role: 'user' });
      const tw = await app.inject(twilioRequest({ params: twilioCallback() }));
      expect((await jobs.get(tw.json().jobId))?.submittedBy).toBeUndefined();
    } finally {
      await app.close();
    }
  });
});
