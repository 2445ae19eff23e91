// The reel routes on a real document store (NATS JetStream KV on a real nats-server: compare-and-set as in
// production), with the in-memory bus and job store of the other route tests.
import { Reel, finishTake, type EventOf } from '@reelbus/contracts';
import { KvDocumentStore, silentLogger, type DocumentStore } from '@reelbus/kit';
import { randomNamespace, startNatsServer, type NatsServerHandle } from '@reelbus/kit/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { names } from '@reelbus/contracts';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../app.ts';
import { verifyLink } from '../links.ts';
import { MemoryBlobStore, MemoryBus, MemoryJobStore } from '../testing/fakes.ts';
import { API_KEY, auth, openSse, testConfig } from '../testing/helpers.ts';

const OTHER_KEY = 'another-key';
/** The names testConfig gives the keys (API_KEYS). */
const keyName = (key: string) => (key === API_KEY ? 'tester' : 'another');
const other = { authorization: `Bearer ${OTHER_KEY}` };

let nats: NatsServerHandle;
let nc: NatsConnection;
let reels: DocumentStore<Reel, Reel>;
let app: FastifyInstance;
let bus: MemoryBus;
let jobs: MemoryJobStore;

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  reels = await KvDocumentStore.open({
    nc,
    bucket: names(randomNamespace()).documentBucket('reels'),
    collection: 'reels',
    schema: Reel,
  });
});
afterAll(async () => {
  await reels?.close();
  await nc?.close();
  await nats?.stop();
});
afterEach(async () => {
  await app?.close();
});

function start() {
  bus = new MemoryBus();
  jobs = new MemoryJobStore();
  app = buildApp({
    config: testConfig(),
    bus,
    jobs,
    blobs: new MemoryBlobStore(),
    logger: silentLogger(),
    reels,
    sseHeartbeatMs: 1000,
  });
  return app;
}

const spec = {
  title: 'The lighthouse',
  sections: [
    { title: 'Dusk', model: 'local-video', params: { prompt: 'a lighthouse at dusk', duration: 2 } },
    { model: 'local-video', params: { prompt: 'waves on rocks', duration: 1.5 } },
    { title: 'Night', model: 'local-video', params: { prompt: 'the lamp turning', duration: 2.5 } },
  ],
};

async function create(body: unknown = spec) {
  const res = await app.inject({ method: 'POST', url: '/v1/reels', headers: auth, payload: body as object });
  return res;
}

/** What the notifier does when a take's generation completes: the take becomes ready with its video. */
async function takeReady(reelId: string, sectionId: string, takeId: string, durationSec = 2) {
  await reels.update(reelId, (r) => {
    const take = r.sections.find((s) => s.id === sectionId)!.takes.find((t) => t.id === takeId)!;
    return finishTake(r, {
      sectionId,
      takeId,
      jobId: take.jobId,
      at: new Date().toISOString(),
      result: {
        status: 'completed',
        output: {
          key: `jobs/${take.jobId}/generate/video.mp4`,
          durationSec,
          sizeBytes: 5000,
          width: 320,
          height: 180,
        },
      },
    });
  });
}

const approve = (id: string, s: string, t: string, headers: Record<string, string> = auth) =>
  app.inject({ method: 'POST', url: `/v1/reels/${id}/sections/${s}/takes/${t}/approve`, headers });

describe('POST /v1/reels', () => {
  it('creates the reel with one pending take per section, each a generation job with the reel as its origin', async () => {
    start();
    const res = await create();
    expect(res.statusCode).toBe(201);
    expect(res.headers.etag).toBe('"1"');
    const reel = res.json();
    expect(res.headers.location).toBe(`https://calls.example.test/v1/reels/${reel.id}`);
    expect(reel).toMatchObject({
      id: expect.stringMatching(/^reel_/),
      revision: 1,
      title: 'The lighthouse',
      createdBy: { name: keyName(API_KEY), role: 'user' },
      links: { self: `https://calls.example.test/v1/reels/${reel.id}` },
    });
    expect(reel.sections.map((s: { id: string; takes: unknown[] }) => [s.id, s.takes.length])).toEqual([
      ['s1', 1],
      ['s2', 1],
      ['s3', 1],
    ]);
    const take = reel.sections[0].takes[0];
    // defaults filled in from the model's schema
    expect(take).toMatchObject({
      id: 't1',
      status: 'pending',
      params: { prompt: 'a lighthouse at dusk', width: 1280, height: 720 },
    });
    expect(take.links).toEqual({ job: `https://calls.example.test/v1/jobs/${take.jobId}` });

    const requested = bus.ofType('generation.requested');
    expect(requested).toHaveLength(3);
    expect(requested[1]!.data).toMatchObject({
      model: 'local-video',
      params: { prompt: 'waves on rocks', duration: 1.5 },
      origin: { type: 'reel', id: reel.id, sectionId: 's2', takeId: 't1' },
    });
    const job = await jobs.get(take.jobId);
    expect(job).toMatchObject({
      kind: 'generation',
      status: 'queued',
      origin: { type: 'reel', id: reel.id, sectionId: 's1', takeId: 't1' },
      submittedBy: { name: keyName(API_KEY) },
      cost: { backend: 'local', estimateUsd: 0 },
    });
    expect(bus.ofType('reel.updated').map((e) => e.data)).toEqual([
      expect.objectContaining({ reelId: reel.id, revision: 1, change: 'created' }),
    ]);
    expect(bus.ofType('reel.updated')[0]!.jobId).toBe(reel.id);
  });

  it('names every bad section at once: a model that makes no video, an unknown model, bad params, a bad callback', async () => {
    start();
    const res = await create({
      title: 'x',
      sections: [
        { model: 'local-image', params: { prompt: 'p' } },
        { model: 'no-such-model', params: {} },
        { model: 'local-video', params: { prompt: 'p', duration: 99 } },
      ],
      callbackUrl: 'ftp://example.com/hook',
    });
    expect(res.statusCode).toBe(400);
    const { error } = res.json();
    expect(error.code).toBe('invalid_input');
    expect(error.issues.map((i: { field: string }) => i.field)).toEqual([
      'sections[0].model',
      'sections[1].model',
      'sections[2].params.duration',
      'callbackUrl',
    ]);
    expect(error.issues[0].message).toMatch(
      /"local-image" makes image; a reel section needs a video or avatar model/,
    );
    expect(error.message).toMatch(/sections\[2\]\.params\.duration: must be <= 30/);
    expect(bus.events).toHaveLength(0);
    expect(await jobs.list()).toHaveLength(0);
  });

  it('needs a title and at least 2 sections, and refuses unknown fields', async () => {
    start();
    const res = await create({ sections: [spec.sections[0]], extra: 1 });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: 'title' }),
        expect.objectContaining({
          field: 'sections',
          message: 'a reel joins its sections into one video: give at least 2',
        }),
      ]),
    );
  });
});

describe('when the bus refuses a job', () => {
  it('creates the reel anyway, with the takes that could not be queued failed and saying why', async () => {
    start();
    const publish = bus.publish.bind(bus);
    let calls = 0;
    vi.spyOn(bus, 'publish').mockImplementation(async (type, jobId, data, opts) => {
      if (type === 'generation.requested' && ++calls === 2) throw new Error('no responders');
      return publish(type, jobId, data, opts);
    });
    const res = await create();
    expect(res.statusCode).toBe(201);
    const takes = res
      .json()
      .sections.map((s: { takes: Array<{ status: string; error?: string }> }) => s.takes[0]);
    expect(takes.map((t: { status: string }) => t.status)).toEqual(['pending', 'failed', 'failed']);
    expect(takes[1].error).toMatch(
      /^not generated: cannot queue the job right now .*; regenerate the section$/,
    );
    expect(bus.ofType('generation.requested')).toHaveLength(1);
    // the failed takes' jobs were removed by the one job-creating path; the queued one stays
    expect(await jobs.list()).toHaveLength(1);
  });

  it('a regenerate that cannot be queued leaves no take behind and answers 503', async () => {
    start();
    const reel = (await create()).json();
    vi.spyOn(bus, 'publish').mockRejectedValueOnce(new Error('no responders'));
    const res = await app.inject({
      method: 'POST',
      url: `/v1/reels/${reel.id}/sections/s1/regenerate`,
      headers: auth,
    });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('2');
    expect((await reels.get(reel.id))!.doc.sections[0]!.takes.map((t) => t.id)).toEqual(['t1']);
  });

  it('a compile that cannot be queued is recorded as failed (and another can start), and answers 503', async () => {
    start();
    const reel = (await create()).json();
    for (const s of ['s1', 's2', 's3']) {
      await takeReady(reel.id, s, 't1');
      await approve(reel.id, s, 't1');
    }
    vi.spyOn(bus, 'publish').mockRejectedValueOnce(new Error('no responders'));
    const res = await app.inject({ method: 'POST', url: `/v1/reels/${reel.id}/compile`, headers: auth });
    expect(res.statusCode).toBe(503);
    expect((await reels.get(reel.id))!.doc.compile).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/^the compile could not be queued .*; compile again$/),
    });
    const again = await app.inject({ method: 'POST', url: `/v1/reels/${reel.id}/compile`, headers: auth });
    expect(again.statusCode).toBe(202);
  });
});

describe('review: approve, reject, regenerate', () => {
  it('approves a ready take (who and when), refuses a pending one, and announces the change', async () => {
    start();
    const reel = (await create()).json();
    const pending = await approve(reel.id, 's1', 't1');
    expect(pending.statusCode).toBe(409);
    expect(pending.json().error.message).toMatch(/take t1 of section s1 \("Dusk"\) is still generating/);

    await takeReady(reel.id, 's1', 't1');
    const res = await approve(reel.id, 's1', 't1', other);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.sections[0]).toMatchObject({ approvedTakeId: 't1' });
    expect(body.sections[0].takes[0]).toMatchObject({
      status: 'approved',
      approvedBy: { name: keyName(OTHER_KEY) },
      approvedAt: expect.any(String),
    });
    expect(res.headers.etag).toBe(`"${body.revision}"`);
    expect(bus.ofType('reel.updated').at(-1)!.data).toMatchObject({
      change: 'take.approved',
      sectionId: 's1',
      takeId: 't1',
      takeStatus: 'approved',
      revision: body.revision,
      by: keyName(OTHER_KEY),
    });
    // a signed preview link the <video> tag can use without the key
    const link = new URL(body.sections[0].takes[0].links.video);
    expect(link.pathname).toBe(`/v1/jobs/${body.sections[0].takes[0].jobId}/video.mp4`);
    expect(
      verifyLink({
        path: link.pathname,
        expires: link.searchParams.get('expires') ?? undefined,
        signature: link.searchParams.get('signature') ?? undefined,
        secret: testConfig().linkSigningSecret,
      }),
    ).toEqual({ ok: true });
  });

  it('two reviewers approving different takes of one section at once: one wins, the other gets 409', async () => {
    start();
    const reel = (await create()).json();
    await takeReady(reel.id, 's2', 't1');
    const regen = await app.inject({
      method: 'POST',
      url: `/v1/reels/${reel.id}/sections/s2/regenerate`,
      headers: auth,
      payload: {},
    });
    expect(regen.statusCode).toBe(202);
    await takeReady(reel.id, 's2', 't2');
    const [a, b] = await Promise.all([
      approve(reel.id, 's2', 't1', auth),
      approve(reel.id, 's2', 't2', other),
    ]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([200, 409]);
    const loser = a.statusCode === 409 ? a : b;
    expect(loser.json().error).toMatchObject({ code: 'conflict' });
    expect(loser.json().error.message).toMatch(
      /section s2 already has an approved take, t[12] \(approved by (tester|another) at /,
    );
    const stored = await reels.get(reel.id);
    expect(stored!.doc.sections[1]!.takes.filter((t) => t.status === 'approved')).toHaveLength(1);
  });

  it('with If-Match, a change made on a stale revision is refused with the current one', async () => {
    start();
    const reel = (await create()).json();
    await takeReady(reel.id, 's1', 't1');
    const stale = await app.inject({
      method: 'POST',
      url: `/v1/reels/${reel.id}/sections/s1/takes/t1/approve`,
      headers: { ...auth, 'if-match': '"1"' },
    });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().error).toMatchObject({ code: 'revision_conflict' });
    expect(stale.headers.etag).toBe('"2"');
    const fresh = await app.inject({
      method: 'POST',
      url: `/v1/reels/${reel.id}/sections/s1/takes/t1/approve`,
      headers: { ...auth, 'if-match': '"2"' },
    });
    expect(fresh.statusCode).toBe(200);
    const bad = await app.inject({
      method: 'POST',
      url: `/v1/reels/${reel.id}/sections/s1/takes/t1/reject`,
      headers: { ...auth, 'if-match': 'yesterday' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('If-Match');
  });

  it('rejects with a reason, and regenerates a section with changed params as a new take, keeping the earlier ones', async () => {
    start();
    const reel = (await create()).json();
    await takeReady(reel.id, 's3', 't1');
    const rejected = await app.inject({
      method: 'POST',
      url: `/v1/reels/${reel.id}/sections/s3/takes/t1/reject`,
      headers: auth,
      payload: { reason: 'too dark' },
    });
    expect(rejected.statusCode).toBe(200);
    expect(rejected.json().sections[2].takes[0]).toMatchObject({
      status: 'rejected',
      rejectReason: 'too dark',
      rejectedBy: { name: keyName(API_KEY) },
    });

    const regen = await app.inject({
      method: 'POST',
      url: `/v1/reels/${reel.id}/sections/s3/regenerate`,
      headers: auth,
      payload: { params: { prompt: 'the lamp turning, brighter' } },
    });
    expect(regen.statusCode).toBe(202);
    const accepted = regen.json();
    expect(accepted).toMatchObject({
      reelId: reel.id,
      sectionId: 's3',
      takeId: 't2',
      jobId: expect.stringMatching(/^job_/),
    });
    const req = bus.ofType('generation.requested').find((e) => e.jobId === accepted.jobId)!;
    expect(req.data).toMatchObject({
      params: { prompt: 'the lamp turning, brighter', duration: 2.5 },
      origin: { type: 'reel', id: reel.id, sectionId: 's3', takeId: 't2' },
    });
    const now = (await app.inject({ method: 'GET', url: `/v1/reels/${reel.id}`, headers: auth })).json();
    expect(now.sections[2].takes.map((t: { id: string; status: string }) => [t.id, t.status])).toEqual([
      ['t1', 'rejected'],
      ['t2', 'pending'],
    ]);

    const badParams = await app.inject({
      method: 'POST',
      url: `/v1/reels/${reel.id}/sections/s3/regenerate`,
      headers: auth,
      payload: { params: { duration: -1, colour: 'red' } },
    });
    expect(badParams.statusCode).toBe(400);
    expect(
      badParams
        .json()
        .error.issues.map((i: { field: string }) => i.field)
        .sort(),
    ).toEqual(['params.colour', 'params.duration']);
    const unknown = await app.inject({
      method: 'POST',
      url: `/v1/reels/${reel.id}/sections/s9/regenerate`,
      headers: auth,
      payload: {},
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.message).toBe('the reel has no section "s9" (it has s1, s2, s3)');
  });
});

describe('compile', () => {
  it('is refused with 409 naming every section without an approved take', async () => {
    start();
    const reel = (await create()).json();
    await takeReady(reel.id, 's1', 't1');
    expect((await approve(reel.id, 's1', 't1')).statusCode).toBe(200);
    await takeReady(reel.id, 's3', 't1');
    const res = await app.inject({ method: 'POST', url: `/v1/reels/${reel.id}/compile`, headers: auth });
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toMatchObject({
      code: 'not_approved',
      issues: [
        { field: 'sections.s2', message: 'section s2 has no approved take (1 pending)' },
        { field: 'sections.s3', message: 'section s3 ("Night") has no approved take (1 ready)' },
      ],
    });
    expect(bus.ofType('merge.requested')).toHaveLength(0);
  });

  it('merges the approved takes in section order (after a PATCH of the order), one compile at a time', async () => {
    start();
    const reel = (await create()).json();
    for (const s of ['s1', 's2', 's3']) {
      await takeReady(reel.id, s, 't1');
      expect((await approve(reel.id, s, 't1')).statusCode).toBe(200);
    }
    const badOrder = await app.inject({
      method: 'PATCH',
      url: `/v1/reels/${reel.id}`,
      headers: auth,
      payload: { sectionOrder: ['s3', 's1'] },
    });
    expect(badOrder.statusCode).toBe(400);
    expect(badOrder.json().error.issues).toEqual([
      { field: 'sectionOrder', message: 'must list every section; missing s2' },
    ]);
    const patched = await app.inject({
      method: 'PATCH',
      url: `/v1/reels/${reel.id}`,
      headers: auth,
      payload: { sectionOrder: ['s3', 's1', 's2'] },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json().sections.map((s: { id: string }) => s.id)).toEqual(['s3', 's1', 's2']);

    const res = await app.inject({ method: 'POST', url: `/v1/reels/${reel.id}/compile`, headers: auth });
    expect(res.statusCode).toBe(202);
    const accepted = res.json();
    expect(accepted).toMatchObject({ reelId: reel.id, videoCount: 3, jobId: expect.stringMatching(/^job_/) });
    const stored = (await reels.get(reel.id))!.doc;
    const keyOf = (sid: string) =>
      `jobs/${stored.sections.find((s) => s.id === sid)!.takes[0]!.jobId}/generate/video.mp4`;
    const [merge] = bus.ofType('merge.requested') as EventOf<'merge.requested'>[];
    expect(merge!.jobId).toBe(accepted.jobId);
    expect(merge!.data.clips).toEqual([{ key: keyOf('s3') }, { key: keyOf('s1') }, { key: keyOf('s2') }]);
    expect(await jobs.get(accepted.jobId)).toMatchObject({
      kind: 'reel',
      origin: { type: 'reel', id: reel.id, revision: accepted.revision - 1 },
      submittedBy: { name: keyName(API_KEY) },
    });
    expect(stored.compile).toMatchObject({
      jobId: accepted.jobId,
      status: 'running',
      takes: [
        { sectionId: 's3', takeId: 't1' },
        { sectionId: 's1', takeId: 't1' },
        { sectionId: 's2', takeId: 't1' },
      ],
    });
    const again = await app.inject({ method: 'POST', url: `/v1/reels/${reel.id}/compile`, headers: auth });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.message).toBe(
      `the reel is being compiled (job ${accepted.jobId}); wait for it to finish`,
    );
  });
});

describe('GET /v1/reels/:id/events', () => {
  it('streams the reel, then every change as takes finish and are reviewed', async () => {
    start();
    await app.listen({ host: '127.0.0.1', port: 0 });
    const reel = (await create()).json();
    const { port } = app.server.address() as { port: number };
    const sse = await openSse({ url: `http://127.0.0.1:${port}/v1/reels/${reel.id}/events`, headers: auth });
    expect(sse.status).toBe(200);
    const first = await sse.next();
    expect(first.event).toBe('reel');
    expect((first.data as { id: string }).id).toBe(reel.id);
    await takeReady(reel.id, 's1', 't1');
    // the notifier announces a finished take like this (ingest's own changes announce themselves)
    await bus.publish(
      'reel.updated',
      reel.id,
      {
        reelId: reel.id,
        revision: 2,
        change: 'take.ready',
        sectionId: 's1',
        takeId: 't1',
        takeStatus: 'ready',
      },
      { id: `reel.updated:${reel.id}:2` },
    );
    expect(await sse.next()).toMatchObject({
      event: 'reel.updated',
      data: { data: { change: 'take.ready', revision: 2 } },
    });
    await approve(reel.id, 's1', 't1');
    expect(await sse.next()).toMatchObject({
      event: 'reel.updated',
      data: { data: { change: 'take.approved', revision: 3 } },
    });
    sse.close();
  });

  it('lists reels newest first, a page at a time', async () => {
    start();
    const a = (await create()).json();
    const b = (await create()).json();
    const page1 = (await app.inject({ method: 'GET', url: '/v1/reels?limit=1', headers: auth })).json();
    expect(page1.reels).toHaveLength(1);
    expect(page1.reels[0]).toMatchObject({
      id: b.id,
      title: 'The lighthouse',
      sections: [{ id: 's1', takes: 1 }, { id: 's2' }, { id: 's3' }],
    });
    const page2 = (
      await app.inject({
        method: 'GET',
        url: `/v1/reels?limit=1&cursor=${encodeURIComponent(page1.nextCursor)}`,
        headers: auth,
      })
    ).json();
    expect(page2.reels[0].id).toBe(a.id);
    const bad = await app.inject({ method: 'GET', url: '/v1/reels?limit=0', headers: auth });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('limit');
  });

  it('answers 404 for an unknown reel', async () => {
    start();
    const res = await app.inject({ method: 'GET', url: '/v1/reels/reel_nope', headers: auth });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.message).toBe('reel "reel_nope" does not exist');
  });
});

describe('the reel routes in the OpenAPI document', () => {
  it('lists every reel route with its body, its 409s and the event stream', async () => {
    start();
    const doc = (await app.inject({ method: 'GET', url: '/v1/openapi.json' })).json();
    const ops = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .filter(([p]) => p.startsWith('/v1/reels'))
      .flatMap(([p, byMethod]) => Object.keys(byMethod).map((m) => `${m.toUpperCase()} ${p}`))
      .sort();
    expect(ops).toEqual(
      [
        'POST /v1/reels',
        'GET /v1/reels',
        'GET /v1/reels/{id}',
        'PATCH /v1/reels/{id}',
        'GET /v1/reels/{id}/events',
        'POST /v1/reels/{id}/compile',
        'POST /v1/reels/{id}/sections/{sid}/regenerate',
        'POST /v1/reels/{id}/sections/{sid}/takes/{tid}/approve',
        'POST /v1/reels/{id}/sections/{sid}/takes/{tid}/reject',
      ].sort(),
    );
    const create = doc.paths['/v1/reels'].post;
    expect(create.requestBody.content['application/json'].schema.required).toEqual(['title', 'sections']);
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['201', '4XX', '503']));
    // the 409s are error bodies (4XX) whose meaning each route's description spells out
    const compile = doc.paths['/v1/reels/{id}/compile'].post;
    expect(Object.keys(compile.responses)).toEqual(expect.arrayContaining(['202', '4XX']));
    expect(compile.description).toMatch(/409 `not_approved` with one issue per section/);
    const approve = doc.paths['/v1/reels/{id}/sections/{sid}/takes/{tid}/approve'].post;
    expect(approve.description).toMatch(/one gets 409/);
    expect(Object.keys(doc.paths['/v1/reels/{id}/events'].get.responses['200'].content)).toEqual([
      'text/event-stream',
    ]);
  });
});
