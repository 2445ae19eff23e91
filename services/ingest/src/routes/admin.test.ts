import {
  ProjectDocument,
  Reel,
  finishTake,
  newJob,
  type EventOf,
  type EventType,
  type Job,
  type ProjectDocumentInput,
} from '@reelbus/contracts';
import {
  Bus,
  buildEnvelope,
  DeletedJobs,
  FsBlobStore,
  KvDocumentStore,
  KvJobStore,
  listDeadLetters,
  silentLogger,
  type DocumentStore,
} from '@reelbus/kit';
import { randomNamespace, startNatsServer, type NatsServerHandle } from '@reelbus/kit/testing';
import type { FastifyInstance } from 'fastify';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app.ts';
import { busJobOperations, cancelDecision, deleteDecision, mayOperate } from '../jobs/operations.ts';
import { auth, makeStereoWav, multipartBody, operatorAuth, testConfig } from '../testing/helpers.ts';

// Cancel and delete on the real parts: a nats-server, the kit Bus (cancelled-jobs bucket, dead-letter
// stream), the deleted-jobs tombstones, the JetStream KV job store and the filesystem blob store.
let server: NatsServerHandle;
let bus: Bus;
let jobs: KvJobStore;
let blobs: FsBlobStore;
let deleted: DeletedJobs;
let reels: DocumentStore<Reel, Reel>;
let projects: DocumentStore<ProjectDocument, ProjectDocumentInput>;
let blobDir: string;
let app: FastifyInstance;

beforeAll(async () => {
  server = await startNatsServer();
  bus = await Bus.connect({ servers: server.url, namespace: randomNamespace(), name: 'ingest-admin-test' });
  await bus.ensureStreams();
  jobs = await KvJobStore.open({ nc: bus.nc, bucket: bus.names.jobsBucket });
  deleted = await DeletedJobs.open({ nc: bus.nc, bucket: bus.names.deletedBucket });
  reels = await KvDocumentStore.open({
    nc: bus.nc,
    bucket: bus.names.documentBucket('reels'),
    collection: 'reels',
    schema: Reel,
  });
  projects = await KvDocumentStore.open({
    nc: bus.nc,
    bucket: bus.names.documentBucket('projects'),
    collection: 'projects',
    schema: ProjectDocument,
  });
  blobDir = await mkdtemp(join(tmpdir(), 'reelbus-admin-'));
  blobs = new FsBlobStore({ root: blobDir });
  app = buildApp({
    config: testConfig(),
    bus,
    jobs,
    blobs,
    logger: silentLogger(),
    operations: busJobOperations({ bus, deleted }),
    reels,
    projects,
  });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await reels?.close();
  await projects?.close();
  await jobs?.close();
  await bus?.close();
  await server?.stop();
  if (blobDir) await rm(blobDir, { recursive: true, force: true });
});

async function addJob(id: string, over: Partial<Job> = {}): Promise<Job> {
  const job = {
    ...newJob({ id, kind: 'render' }),
    submittedBy: { name: 'tester', role: 'user' as const },
    ...over,
  };
  await jobs.create(job);
  return job;
}

/** Events of `type` for `jobId` stored in the events stream. */
async function storedEvents(type: EventType, jobId: string): Promise<EventOf<EventType>[]> {
  const subject = bus.names.eventSubject(type);
  const info = await bus.jsm.streams.info(bus.names.eventsStream);
  const out: EventOf<EventType>[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await bus.jsm.streams.getMessage(bus.names.eventsStream, { seq }).catch(() => null);
    if (m && m.subject === subject) {
      const e = m.json<EventOf<EventType>>();
      if (e.jobId === jobId) out.push(e);
    }
  }
  return out;
}

/** Puts a dead letter of `jobId` in the dead-letter stream, as the consume loop does. */
async function deadLetter(jobId: string): Promise<void> {
  const envelope = buildEnvelope({
    type: 'job.warning',
    jobId,
    data: { step: 'encode', message: 'x' },
  });
  await bus.js.publish(bus.names.deadLetterSubject('encoder', 'job.warning'), JSON.stringify(envelope));
}

describe('who may cancel or delete (pure)', () => {
  it.each([
    ['an operator, any job', { name: 'ops', role: 'operator' }, { name: 'tester', role: 'user' }, true],
    ['the key that submitted it', { name: 'tester', role: 'user' }, { name: 'tester', role: 'user' }, true],
    ['another user key', { name: 'another', role: 'user' }, { name: 'tester', role: 'user' }, false],
    ['a user key, a job nobody submitted (Twilio)', { name: 'tester', role: 'user' }, undefined, false],
  ] as const)('%s', (_n, principal, submittedBy, may) => {
    expect(mayOperate({ ...(submittedBy ? { submittedBy } : {}) }, principal)).toBe(may);
  });

  it.each([
    ['queued', 'cancel'],
    ['running', 'cancel'],
    ['stalled', 'cancel'],
    ['cancelled', 'already'],
    ['completed', 'refuse'],
    ['failed', 'refuse'],
  ] as const)('cancel of a %s job: %s', (status, action) => {
    expect(cancelDecision({ id: 'j', status }).action).toBe(action);
  });

  it.each([
    ['completed', false, { action: 'delete', cancelFirst: false }],
    ['cancelled', false, { action: 'delete', cancelFirst: false }],
    ['running', true, { action: 'delete', cancelFirst: true }],
  ] as const)('delete of a %s job (cancel=%s)', (status, cancel, expected) => {
    expect(deleteDecision({ id: 'j', status }, { cancel })).toEqual(expected);
  });

  it('refuses to delete a running job without ?cancel=true, saying what to do', () => {
    expect(deleteDecision({ id: 'j', status: 'running' }, { cancel: false })).toEqual({
      action: 'refuse',
      reason: 'job j is running: cancel it first, or delete it with ?cancel=true (which cancels it)',
    });
  });
});

describe('POST /v1/jobs/:id/cancel', () => {
  it('cancels a running job for the key that submitted it: job.cancelled published, services told', async () => {
    await addJob('job_cancel1', { status: 'running', testMode: true });
    const res = await app.inject({
      method: 'POST',
      url: '/v1/jobs/job_cancel1/cancel',
      headers: auth,
      payload: { reason: 'wrong recording' },
    });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({
      jobId: 'job_cancel1',
      status: 'cancelling',
      alreadyCancelled: false,
      cancel: { by: 'tester', reason: 'wrong recording' },
    });
    const events = await storedEvents('job.cancelled', 'job_cancel1');
    expect(events).toEqual([
      expect.objectContaining({
        id: 'job.cancelled:job_cancel1',
        testMode: true,
        data: { by: 'tester', reason: 'wrong recording' },
      }),
    ]);
    // What every consuming service watches.
    expect((await bus.cancelledJobs()).get('job_cancel1')).toMatchObject({ by: 'tester' });

    const again = await app.inject({
      method: 'POST',
      url: '/v1/jobs/job_cancel1/cancel',
      headers: operatorAuth,
    });
    expect(again.statusCode).toBe(202);
    expect(again.json()).toMatchObject({
      alreadyCancelled: true,
      cancel: { by: 'tester', reason: 'wrong recording' },
    });
  });

  it('refuses another user key (403), an ended job (409), an unknown job (404) and a bad reason (400)', async () => {
    await addJob('job_cancel2', { status: 'running' });
    await addJob('job_cancel3', { status: 'completed' });
    const other = await app.inject({
      method: 'POST',
      url: '/v1/jobs/job_cancel2/cancel',
      headers: { authorization: 'Bearer another-key' },
    });
    expect(other.statusCode).toBe(403);
    expect(other.json().error.message).toBe(
      'only an operator key or the key that submitted job job_cancel2 may cancel it',
    );
    const ended = await app.inject({ method: 'POST', url: '/v1/jobs/job_cancel3/cancel', headers: auth });
    expect(ended.statusCode).toBe(409);
    expect(ended.json().error).toMatchObject({
      code: 'job_ended',
      message: expect.stringMatching(/already ended \(completed\)/),
    });
    const unknown = await app.inject({
      method: 'POST',
      url: '/v1/jobs/job_nope/cancel',
      headers: operatorAuth,
    });
    expect(unknown.statusCode).toBe(404);
    const bad = await app.inject({
      method: 'POST',
      url: '/v1/jobs/job_cancel2/cancel',
      headers: auth,
      payload: { reason: '' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('reason');
    expect(await storedEvents('job.cancelled', 'job_cancel2')).toEqual([]);
  });
});

describe('DELETE /v1/jobs/:id', () => {
  it('erases an ended job: its blobs, document and dead letters, and nothing of other jobs', async () => {
    await addJob('job_del1', { status: 'completed' });
    await addJob('job_del10', { status: 'completed' });
    await blobs.put('jobs/job_del1/input/recording.wav', 'a'.repeat(100));
    await blobs.put('jobs/job_del1/final.mp4', 'b'.repeat(250));
    await blobs.put('jobs/job_del10/final.mp4', 'c'.repeat(10));
    await blobs.put('projects/p1/voice/s1.mp3', 'd'.repeat(10));
    await deadLetter('job_del1');
    await deadLetter('job_del10');

    const res = await app.inject({ method: 'DELETE', url: '/v1/jobs/job_del1', headers: auth });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      jobId: 'job_del1',
      deleted: true,
      cancelled: false,
      blobsRemoved: 2,
      bytesFreed: 350,
      deadLettersRemoved: 1,
    });
    expect(await jobs.get('job_del1')).toBeUndefined();
    expect(await blobs.list('jobs/job_del1/')).toEqual([]);
    expect(await blobs.stat('jobs/job_del10/final.mp4')).toBeDefined();
    expect(await blobs.stat('projects/p1/voice/s1.mp3')).toBeDefined();
    const letters = await listDeadLetters(bus, { limit: 100 });
    expect(letters.map((d) => d.jobId)).toEqual(['job_del10']);
    expect(await deleted.get('job_del1')).toMatchObject({ by: 'tester' });

    const gone = await app.inject({ method: 'GET', url: '/v1/jobs/job_del1', headers: auth });
    expect(gone.statusCode).toBe(404);
  });

  it('refuses a running job without ?cancel=true; with it, cancels the job first', async () => {
    await addJob('job_del2', { status: 'running' });
    await blobs.put('jobs/job_del2/chunks/chunk-0000.mp4', 'e'.repeat(5));
    const refused = await app.inject({ method: 'DELETE', url: '/v1/jobs/job_del2', headers: auth });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error).toMatchObject({ code: 'job_running' });
    expect(await jobs.get('job_del2')).toBeDefined();

    const bad = await app.inject({ method: 'DELETE', url: '/v1/jobs/job_del2?cancel=yes', headers: auth });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('cancel');

    const res = await app.inject({
      method: 'DELETE',
      url: '/v1/jobs/job_del2?cancel=true',
      headers: operatorAuth,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ cancelled: true, blobsRemoved: 1 });
    expect(await storedEvents('job.cancelled', 'job_del2')).toEqual([
      expect.objectContaining({ data: { by: 'ops', reason: 'the job was deleted' } }),
    ]);
    expect(await jobs.get('job_del2')).toBeUndefined();
  });

  it('refuses another user key', async () => {
    await addJob('job_del3', { status: 'completed' });
    const res = await app.inject({
      method: 'DELETE',
      url: '/v1/jobs/job_del3',
      headers: { authorization: 'Bearer another-key' },
    });
    expect(res.statusCode).toBe(403);
    expect(await jobs.get('job_del3')).toBeDefined();
  });
});

describe('test mode on submit routes (issue 15 §4)', () => {
  it('a recording with testMode=true: the job says so, recording.received carries it, the local provider is used', async () => {
    const body = await multipartBody([
      { name: 'testMode', value: 'true' },
      { name: 'recording', filename: 'call.wav', type: 'audio/wav', bytes: makeStereoWav() },
    ]);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/recordings',
      headers: { ...auth, ...body.headers },
      payload: body.payload,
    });
    expect(res.statusCode).toBe(202);
    const { jobId } = res.json() as { jobId: string };
    expect(await jobs.get(jobId)).toMatchObject({ testMode: true, kind: 'call' });
    const [event] = await storedEvents('recording.received', jobId);
    expect(event).toMatchObject({ testMode: true, data: { provider: 'local' } });
  });

  it('a recording that names its provider keeps it in test mode; without testMode nothing is marked', async () => {
    const named = await multipartBody([
      { name: 'testMode', value: 'true' },
      { name: 'provider', value: 'fal' },
      { name: 'recording', filename: 'call.wav', type: 'audio/wav', bytes: makeStereoWav() },
    ]);
    const r1 = await app.inject({
      method: 'POST',
      url: '/v1/recordings',
      headers: { ...auth, ...named.headers },
      payload: named.payload,
    });
    const [e1] = await storedEvents('recording.received', (r1.json() as { jobId: string }).jobId);
    expect(e1).toMatchObject({ testMode: true, data: { provider: 'fal' } });

    const plain = await multipartBody([
      { name: 'recording', filename: 'call.wav', type: 'audio/wav', bytes: makeStereoWav() },
    ]);
    const r2 = await app.inject({
      method: 'POST',
      url: '/v1/recordings',
      headers: { ...auth, ...plain.headers },
      payload: plain.payload,
    });
    const id2 = (r2.json() as { jobId: string }).jobId;
    expect((await jobs.get(id2))!.testMode).toBe(false);
    const [e2] = await storedEvents('recording.received', id2);
    expect(e2!.testMode).toBeUndefined();
    expect((e2!.data as { provider?: string }).provider).toBeUndefined();
  });

  it('a generation with testMode: true is marked; a bad testMode is a 400 naming the field', async () => {
    const ok = await app.inject({
      method: 'POST',
      url: '/v1/generations',
      headers: auth,
      payload: { model: 'local-image', params: { prompt: 'a fox' }, testMode: true },
    });
    expect(ok.statusCode).toBe(202);
    const { jobId } = ok.json() as { jobId: string };
    expect(await jobs.get(jobId)).toMatchObject({ testMode: true });
    expect((await storedEvents('generation.requested', jobId))[0]).toMatchObject({ testMode: true });

    const bad = await app.inject({
      method: 'POST',
      url: '/v1/generations',
      headers: auth,
      payload: { model: 'local-image', params: {}, testMode: 'yes' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('testMode');
  });

  it('a merge with testMode: true is marked (the flag is not part of merge.requested data)', async () => {
    await blobs.put('media/a.mp4', 'x');
    await blobs.put('media/b.mp4', 'y');
    const res = await app.inject({
      method: 'POST',
      url: '/v1/merges',
      headers: auth,
      payload: { clips: ['media/a.mp4', 'media/b.mp4'], testMode: true },
    });
    expect(res.statusCode).toBe(202);
    const { jobId } = res.json() as { jobId: string };
    expect(await jobs.get(jobId)).toMatchObject({ testMode: true, kind: 'merge' });
    const [event] = await storedEvents('merge.requested', jobId);
    expect(event).toMatchObject({ testMode: true });
    expect(event!.data).not.toHaveProperty('testMode');
  });
  /** A reel of two local-video sections, created with `extra` in the body. */
  const postReel = (extra: Record<string, unknown>) =>
    app.inject({
      method: 'POST',
      url: '/v1/reels',
      headers: auth,
      payload: {
        title: 'Test reel',
        sections: [
          { model: 'local-video', params: { prompt: 'dusk', duration: 1 } },
          { model: 'local-video', params: { prompt: 'night', duration: 1 } },
        ],
        ...extra,
      },
    });

  it('a reel with testMode: true: every take is a test generation, and so is a regenerated one asked as such; a bad testMode is a 400 naming the field', async () => {
    const res = await postReel({ testMode: true });
    expect(res.statusCode).toBe(201);
    const takeJobs = (res.json() as { sections: Array<{ takes: Array<{ jobId: string }> }> }).sections.map(
      (s) => s.takes[0]!.jobId,
    );
    expect(takeJobs).toHaveLength(2);
    for (const jobId of takeJobs) {
      expect(await jobs.get(jobId)).toMatchObject({ testMode: true, kind: 'generation' });
      const [event] = await storedEvents('generation.requested', jobId);
      // the section's model is kept, as for POST /v1/generations
      expect(event).toMatchObject({ testMode: true, data: { model: 'local-video' } });
    }

    const regenerated = await app.inject({
      method: 'POST',
      url: `/v1/reels/${(res.json() as { id: string }).id}/sections/s1/regenerate`,
      headers: auth,
      payload: { testMode: true },
    });
    expect(regenerated.statusCode).toBe(202);
    const takeJob = (regenerated.json() as { jobId: string }).jobId;
    expect(await jobs.get(takeJob)).toMatchObject({ testMode: true });
    expect((await storedEvents('generation.requested', takeJob))[0]).toMatchObject({ testMode: true });

    const bad = await postReel({ testMode: 'yes' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('testMode');
  });

  it('a reel compile with testMode: true is marked (body optional); a bad testMode is a 400 naming the field', async () => {
    const reel = (await postReel({})).json() as { id: string; sections: Array<{ id: string }> };
    for (const { id: sectionId } of reel.sections) {
      await reels.update(reel.id, (r) => {
        const take = r.sections.find((s) => s.id === sectionId)!.takes[0]!;
        return finishTake(r, {
          sectionId,
          takeId: take.id,
          jobId: take.jobId,
          at: new Date().toISOString(),
          result: {
            status: 'completed',
            output: {
              key: `jobs/${take.jobId}/generate/video.mp4`,
              durationSec: 1,
              sizeBytes: 10,
              width: 2,
              height: 2,
            },
          },
        });
      });
      const approved = await app.inject({
        method: 'POST',
        url: `/v1/reels/${reel.id}/sections/${sectionId}/takes/t1/approve`,
        headers: auth,
      });
      expect(approved.statusCode).toBe(200);
    }
    const compile = (payload?: object) =>
      app.inject({
        method: 'POST',
        url: `/v1/reels/${reel.id}/compile`,
        headers: auth,
        ...(payload ? { payload } : {}),
      });

    const bad = await compile({ testMode: 1 });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('testMode');

    const res = await compile({ testMode: true });
    expect(res.statusCode).toBe(202);
    const { jobId } = res.json() as { jobId: string };
    expect(await jobs.get(jobId)).toMatchObject({ testMode: true, kind: 'reel' });
    expect((await storedEvents('merge.requested', jobId))[0]).toMatchObject({ testMode: true });
  });

  it.each(['preview', 'render'])(
    'a project %s with testMode: true is marked; without a body it is not; a bad testMode is a 400 naming the field',
    async (path) => {
      const created = await app.inject({
        method: 'POST',
        url: '/v1/projects',
        headers: auth,
        payload: {
          title: 'Test project',
          scenes: [
            { id: 'a', narration: 'Hello.', visual: { model: 'local-image', params: { prompt: 'a' } } },
          ],
        },
      });
      expect(created.statusCode).toBe(201);
      const url = `/v1/projects/${(created.json() as { projectId: string }).projectId}/${path}`;

      const res = await app.inject({ method: 'POST', url, headers: auth, payload: { testMode: true } });
      expect(res.statusCode).toBe(202);
      const { jobId } = res.json() as { jobId: string };
      expect(await jobs.get(jobId)).toMatchObject({ testMode: true, kind: 'project' });
      expect((await storedEvents('project.render.requested', jobId))[0]).toMatchObject({ testMode: true });

      const plain = await app.inject({ method: 'POST', url, headers: auth });
      expect(plain.statusCode).toBe(202);
      const plainId = (plain.json() as { jobId: string }).jobId;
      expect((await jobs.get(plainId))!.testMode).toBe(false);
      expect((await storedEvents('project.render.requested', plainId))[0]!.testMode).toBeUndefined();

      const bad = await app.inject({ method: 'POST', url, headers: auth, payload: { testMode: 'true' } });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.field).toBe('testMode');
    },
  );
});
