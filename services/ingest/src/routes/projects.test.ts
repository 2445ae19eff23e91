import { ProjectDocument, type EventOf } from '@reelbus/contracts';
import { Bus, FsBlobStore, KvDocumentStore, KvJobStore, silentLogger } from '@reelbus/kit';
import { randomNamespace, startNatsServer, type NatsServerHandle } from '@reelbus/kit/testing';
import type { FastifyInstance } from 'fastify';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app.ts';
import { auth, testConfig } from '../testing/helpers.ts';

// The project routes on the real parts: a nats-server, the kit Bus, the KV job store and the KV document
// store. "Restarting ingest" closes the app, its document store and its NATS connection, and opens new
// ones: nothing of a project lives in the process.
let server: NatsServerHandle;
let namespace: string;
let blobDir: string;
let ingest: Awaited<ReturnType<typeof startIngest>>;

async function startIngest() {
  const bus = await Bus.connect({ servers: server.url, namespace, name: 'ingest-projects-test' });
  await bus.ensureStreams();
  const jobs = await KvJobStore.open({ nc: bus.nc, bucket: bus.names.jobsBucket });
  const projects = await KvDocumentStore.open({
    nc: bus.nc,
    bucket: bus.names.documentBucket('projects'),
    collection: 'projects',
    schema: ProjectDocument,
  });
  const app = buildApp({
    config: testConfig(),
    bus,
    jobs,
    blobs: new FsBlobStore({ root: blobDir }),
    logger: silentLogger(),
    projects,
  });
  await app.ready();
  return {
    app,
    bus,
    jobs,
    async stop() {
      await app.close();
      await projects.close();
      await jobs.close();
      await bus.close();
    },
  };
}

beforeAll(async () => {
  server = await startNatsServer();
  namespace = randomNamespace();
  blobDir = await mkdtemp(join(tmpdir(), 'reelbus-projects-'));
  ingest = await startIngest();
});
afterAll(async () => {
  await ingest?.stop();
  await server?.stop();
  if (blobDir) await rm(blobDir, { recursive: true, force: true });
});

const app = (): FastifyInstance => ingest.app;

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
async function call(method: Method, url: string, payload?: unknown, headers: Record<string, string> = {}) {
  const res = await app().inject({
    method,
    url,
    headers: { ...auth, ...headers },
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });
  return { status: res.statusCode, body: res.body ? res.json() : undefined, headers: res.headers };
}

const scene = (id: string, narration = `Scene ${id}.`) => ({
  id,
  narration,
  visual: { model: 'local-image', params: { prompt: `picture ${id}` } },
});

async function newProject(ids = ['s1', 's2', 's3']) {
  const res = await call('POST', '/v1/projects', {
    title: 'Launch video',
    scenes: ids.map((id) => scene(id)),
  });
  expect(res.status).toBe(201);
  return res.body.projectId as string;
}

const get = async (id: string) => (await call('GET', `/v1/projects/${id}`)).body;
const sceneIds = async (id: string) =>
  (await get(id)).project.scenes.map((s: { id: string }) => s.id) as string[];

describe('scene project documents', () => {
  it('creates a project at revision 1 with defaults filled and scene ids generated when absent', async () => {
    const res = await call('POST', '/v1/projects', {
      title: 'Six scenes',
      scenes: [{ narration: 'Hello.', visual: { key: 'uploads/a.png' } }, scene('two')],
    });
    expect(res.status).toBe(201);
    expect(res.body.revision).toBe(1);
    expect(res.headers.etag).toBe('"1"');
    expect(res.headers.location).toBe(`/v1/projects/${res.body.projectId}`);
    const view = await get(res.body.projectId);
    expect(view.revision).toBe(1);
    expect(view.project.scenes[0].id).toMatch(/^s_/);
    expect(view.project.scenes[1]).toMatchObject({ id: 'two', voiceTake: 0 });
    expect(view.project.voice).toEqual({ model: 'local-speech' });
    expect(view.project.output).toEqual({
      aspect: '16:9',
      shortSide: 1080,
      fps: 30,
      allowPlaceholders: false,
    });
    expect(view.history).toEqual({ undo: [], redo: [] });
  });

  it('names every bad field of a new project at once and stores nothing', async () => {
    const before = (await call('GET', '/v1/projects?limit=1000')).body.items.length;
    const res = await call('POST', '/v1/projects', {
      title: '',
      scenes: [
        { ...scene('a'), overlay: { image: { key: 'p.png' }, scale: 0.95, animation: 'spin' } },
        { ...scene('a'), visual: { url: 'ftp://x/y.png' } },
      ],
      music: { volume: 2 },
    });
    expect(res.status).toBe(400);
    const fields = res.body.error.issues.map((i: { field: string }) => i.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        'title',
        'scenes[0].overlay.scale',
        'scenes[0].overlay.animation',
        'scenes[1].visual.url',
        'music.volume',
      ]),
    );
    // Repeated scene ids are found by the document's own check (the store refuses the write).
    const dup = await call('POST', '/v1/projects', { title: 't', scenes: [scene('a'), scene('a')] });
    expect(dup.status).toBe(400);
    expect(dup.body.error.issues).toEqual([{ field: 'scenes[1].id', message: 'repeats the scene id "a"' }]);
    expect((await call('GET', '/v1/projects?limit=1000')).body.items.length).toBe(before);
  });

  it('checks model ids and params against the registry when they are written, naming the field path', async () => {
    const before = (await call('GET', '/v1/projects?limit=1000')).body.items.length;
    const res = await call('POST', '/v1/projects', {
      title: 'Models',
      voice: { model: 'local-speech', voice: 'Not A Voice' },
      music: { source: { prompt: 'calm piano', model: 'local-image' } },
      scenes: [
        scene('a'),
        scene('b'),
        {
          ...scene('c'),
          visual: { model: 'x', params: {} },
          overlay: { image: { model: 'local-video', params: { prompt: 'p' } } },
        },
        { ...scene('d'), visual: { model: 'local-image', params: { prompt: 'p', width: 63 } } },
      ],
    });
    expect(res.status).toBe(400);
    const byField = Object.fromEntries(
      res.body.error.issues.map((i: { field: string; message: string }) => [i.field, i.message]),
    );
    expect(byField['scenes[2].visual.model']).toMatch(
      /^unknown model "x"; known: local-image, .*local-video/,
    );
    expect(byField['scenes[2].overlay.image.model']).toBe('"local-video" makes video, not image');
    expect(byField['scenes[3].visual.params.width']).toBeDefined();
    expect(byField['voice.voice']).toBeDefined();
    expect(byField['music.source.model']).toBe('"local-image" makes image, not audio');
    expect(res.body.error.message).toContain('scenes[2].visual.model: unknown model "x"; known: ');
    expect((await call('GET', '/v1/projects?limit=1000')).body.items.length).toBe(before);

    // Edits are checked the same way, by the path in their body; nothing changes.
    const id = await newProject(['a', 'b']);
    const edits = [
      ['PATCH', `/v1/projects/${id}/scenes/a`, { visual: { model: 'nope', params: {} } }, 'visual.model'],
      [
        'PATCH',
        `/v1/projects/${id}/scenes/a`,
        { overlay: { image: { model: 'local-music', params: {} } } },
        'overlay.image.model',
      ],
      [
        'POST',
        `/v1/projects/${id}/scenes`,
        { scene: { ...scene('c'), visual: { model: 'local-image', params: { size: 3 } } } },
        'scene.visual.params',
      ],
      ['PATCH', `/v1/projects/${id}`, { voice: { model: 'local-image' } }, 'voice.model'],
      ['POST', `/v1/projects/${id}/voiceover`, { voice: { model: 'gone' } }, 'voice.model'],
      ['PATCH', `/v1/projects/${id}/music`, { source: { prompt: 'p', model: 'nope' } }, 'source.model'],
    ] as const;
    for (const [method, url, body, field] of edits) {
      const r = await call(method, url, body);
      expect(r.status, `${method} ${url} ${JSON.stringify(r.body)}`).toBe(400);
      expect(r.body.error.field, JSON.stringify(r.body)).toMatch(
        new RegExp(`^${field.replace(/[.[\]]/g, '\\$&')}`),
      );
    }
    expect((await get(id)).revision).toBe(1);
    // A registry model of the right type with good params is taken.
    const ok = await call('PATCH', `/v1/projects/${id}/scenes/a`, {
      visual: { model: 'local-video', params: { prompt: 'waves', duration: 3 } },
    });
    expect(ok.status).toBe(200);
  });

  it('deletes a project with the assets it owns, leaving other projects and jobs alone', async () => {
    const blobs = new FsBlobStore({ root: blobDir });
    const id = await newProject(['a']);
    const other = await newProject(['b']);
    const own = [`projects/${id}/assets/voiceover-1.wav`, `projects/${id}/assets/visual-2.png`];
    for (const key of own) await blobs.put(key, 'x');
    await blobs.put(`projects/${other}/assets/voiceover-3.wav`, 'y');
    await blobs.put('jobs/job_1/final.mp4', 'z');

    // A stale If-Match changes nothing: the document and its assets stay.
    const stale = await call('DELETE', `/v1/projects/${id}`, undefined, { 'if-match': '"7"' });
    expect(stale.status).toBe(409);
    expect(await blobs.stat(own[0]!)).toBeDefined();

    expect((await call('DELETE', `/v1/projects/${id}`, undefined, { 'if-match': '"1"' })).status).toBe(204);
    expect((await call('GET', `/v1/projects/${id}`)).status).toBe(404);
    for (const key of own) expect(await blobs.stat(key), key).toBeUndefined();
    expect(await blobs.stat(`projects/${other}/assets/voiceover-3.wav`)).toBeDefined();
    expect(await blobs.stat('jobs/job_1/final.mp4')).toBeDefined();

    // A leftover written after the delete (a render that was still running) goes with a repeated DELETE.
    await blobs.put(`projects/${id}/assets/music-4.m4a`, 'late');
    const again = await call('DELETE', `/v1/projects/${id}`);
    expect(again.status).toBe(404);
    expect(await blobs.stat(`projects/${id}/assets/music-4.m4a`)).toBeUndefined();
  });

  it('edits a scene into a new revision and answers 404 naming an unknown scene without changing anything', async () => {
    const id = await newProject();
    const ok = await call('PATCH', `/v1/projects/${id}/scenes/s2`, {
      narration: 'A new line.',
      overlay: { image: { key: 'products/bottle.png' }, position: { x: 'left' }, scale: 0.4 },
      transition: { type: 'fade', duration: 0.5 },
    });
    expect(ok).toMatchObject({ status: 200, body: { projectId: id, revision: 2, changed: true } });
    const s2 = (await get(id)).project.scenes[1];
    expect(s2).toMatchObject({
      narration: 'A new line.',
      overlay: {
        image: { key: 'products/bottle.png' },
        enabled: true,
        position: { x: 'left', y: 'bottom' },
        scale: 0.4,
        animation: 'fade',
      },
      transition: { type: 'fade', duration: 0.5 },
    });
    // A partial overlay change merges into the existing overlay.
    await call('PATCH', `/v1/projects/${id}/scenes/s2`, {
      overlay: { enabled: false, position: { y: 'top' } },
    });
    expect((await get(id)).project.scenes[1].overlay).toMatchObject({
      enabled: false,
      position: { x: 'left', y: 'top' },
      scale: 0.4,
    });

    const missing = await call('PATCH', `/v1/projects/${id}/scenes/nope`, { narration: 'x' });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('scene_not_found');
    expect(missing.body.error.message).toContain('"nope"');
    const badField = await call('PATCH', `/v1/projects/${id}/scenes/s1`, {
      duration: -1,
      overlay: { scale: 0.9 },
    });
    expect(badField.status).toBe(400);
    expect(badField.body.error.issues.map((i: { field: string }) => i.field).sort()).toEqual([
      'duration',
      'overlay.scale',
    ]);
    // s1 has no overlay yet: enabling one without an image names overlay.image.
    const noImage = await call('PATCH', `/v1/projects/${id}/scenes/s1`, { overlay: { scale: 0.3 } });
    expect(noImage.status).toBe(400);
    expect(noImage.body.error.field).toBe('overlay.image');
    expect((await get(id)).revision).toBe(3);
    expect((await call('GET', `/v1/projects/prj_nothere`)).status).toBe(404);
    expect((await call('PATCH', `/v1/projects/prj_nothere/scenes/s1`, { narration: 'x' })).status).toBe(404);
  });

  it('reorders scenes only by a permutation, naming the missing, unknown and repeated ids', async () => {
    const id = await newProject(['a', 'b', 'c', 'd']);
    const bad = await call('PUT', `/v1/projects/${id}/scene-order`, { sceneIds: ['b', 'x', 'b', 'a', 'y'] });
    expect(bad.status).toBe(400);
    const messages = bad.body.error.issues.map((i: { message: string }) => i.message);
    expect(messages).toEqual([
      expect.stringContaining('misses "c", "d"'),
      expect.stringContaining('names unknown scenes "x", "y"'),
      expect.stringContaining('repeats "b"'),
    ]);
    expect(bad.body.error.issues.every((i: { field: string }) => i.field === 'sceneIds')).toBe(true);
    expect(await sceneIds(id)).toEqual(['a', 'b', 'c', 'd']);
    expect((await get(id)).revision).toBe(1);

    const ok = await call('PUT', `/v1/projects/${id}/scene-order`, { sceneIds: ['d', 'b', 'a', 'c'] });
    expect(ok.body).toMatchObject({ revision: 2, changed: true });
    expect(await sceneIds(id)).toEqual(['d', 'b', 'a', 'c']);
    // The same order again changes nothing: no new revision.
    const same = await call('PUT', `/v1/projects/${id}/scene-order`, { sceneIds: ['d', 'b', 'a', 'c'] });
    expect(same.body).toMatchObject({ revision: 2, changed: false });
  });

  it('adds a scene at an index, deletes one, and refuses to delete the only scene', async () => {
    const id = await newProject(['a', 'b']);
    const add = await call('POST', `/v1/projects/${id}/scenes`, { scene: scene('m'), index: 1 });
    expect(add).toMatchObject({ status: 201, body: { sceneId: 'm', revision: 2 } });
    expect(await sceneIds(id)).toEqual(['a', 'm', 'b']);
    const gen = await call('POST', `/v1/projects/${id}/scenes`, {
      scene: { narration: 'end', visual: { key: 'x.png' } },
    });
    expect(gen.body.sceneId).toMatch(/^s_/);
    expect((await sceneIds(id)).at(-1)).toBe(gen.body.sceneId);
    const dupe = await call('POST', `/v1/projects/${id}/scenes`, { scene: scene('a') });
    expect(dupe.status).toBe(400);
    expect(dupe.body.error.field).toBe('scene.id');
    const far = await call('POST', `/v1/projects/${id}/scenes`, { scene: scene('z'), index: 9 });
    expect(far.status).toBe(400);
    expect(far.body.error.field).toBe('index');

    expect((await call('DELETE', `/v1/projects/${id}/scenes/m`)).body).toMatchObject({ revision: 4 });
    expect((await call('DELETE', `/v1/projects/${id}/scenes/m`)).status).toBe(404);
    const solo = await newProject(['only']);
    const last = await call('DELETE', `/v1/projects/${solo}/scenes/only`);
    expect(last.status).toBe(409);
    expect(last.body.error.code).toBe('last_scene');
  });

  it('answers a stale If-Match with 409 and the current revision, changing nothing', async () => {
    const id = await newProject();
    await call('PATCH', `/v1/projects/${id}`, { title: 'Tab one' }, { 'if-match': '"1"' });
    // The second tab still holds revision 1.
    const stale = await call(
      'PATCH',
      `/v1/projects/${id}/scenes/s1`,
      { narration: 'Tab two' },
      { 'if-match': '"1"' },
    );
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatchObject({ code: 'revision_conflict', currentRevision: 2 });
    expect(stale.headers.etag).toBe('"2"');
    for (const [method, url, body] of [
      ['PUT', `/v1/projects/${id}/scene-order`, { sceneIds: ['s3', 's2', 's1'] }],
      ['POST', `/v1/projects/${id}/undo`, undefined],
      ['PATCH', `/v1/projects/${id}/music`, { volume: 0.5 }],
      ['POST', `/v1/projects/${id}/preview`, undefined],
    ] as const) {
      const res = await call(method, url, body, { 'if-match': '1' });
      expect(res.status, `${method} ${url}`).toBe(409);
      expect(res.body.error.currentRevision).toBe(2);
    }
    const view = await get(id);
    expect(view).toMatchObject({ revision: 2, project: { title: 'Tab one' } });
    expect(view.project.scenes[0].narration).toBe('Scene s1.');
    const fresh = await call(
      'PATCH',
      `/v1/projects/${id}/scenes/s1`,
      { narration: 'Tab two' },
      { 'if-match': 'W/"2"' },
    );
    expect(fresh.body.revision).toBe(3);
    const junk = await call('PATCH', `/v1/projects/${id}`, { title: 'x' }, { 'if-match': 'yesterday' });
    expect(junk.status).toBe(400);
    expect(junk.body.error.field).toBe('If-Match');
  });

  it('walks undo and redo chains, each a new revision, and drops the redo branch on a new edit', async () => {
    const id = await newProject(['a', 'b', 'c']);
    await call('PATCH', `/v1/projects/${id}/scenes/a`, { narration: 'one' }); // r2
    await call('PUT', `/v1/projects/${id}/scene-order`, { sceneIds: ['c', 'b', 'a'] }); // r3
    await call('PATCH', `/v1/projects/${id}/music`, { volume: 0.4 }); // r4
    expect((await get(id)).history.undo).toEqual([
      'change narration of scene a',
      'reorder scenes',
      'change music volume',
    ]);

    const u1 = await call('POST', `/v1/projects/${id}/undo`);
    expect(u1.body).toMatchObject({ revision: 5, label: 'change music volume', canUndo: 2, canRedo: 1 });
    expect((await get(id)).project.music).toBeUndefined();
    const u2 = await call('POST', `/v1/projects/${id}/undo`);
    expect(u2.body).toMatchObject({ revision: 6, label: 'reorder scenes' });
    expect(await sceneIds(id)).toEqual(['a', 'b', 'c']);
    expect((await get(id)).project.scenes[0].narration).toBe('one');

    const r1 = await call('POST', `/v1/projects/${id}/redo`);
    expect(r1.body).toMatchObject({ revision: 7, label: 'reorder scenes', canUndo: 2, canRedo: 1 });
    expect(await sceneIds(id)).toEqual(['c', 'b', 'a']);

    // A new edit after an undo drops what could be redone.
    await call('PATCH', `/v1/projects/${id}/scenes/b`, { duration: 4 }); // r8
    const none = await call('POST', `/v1/projects/${id}/redo`);
    expect(none.status).toBe(409);
    expect(none.body.error.code).toBe('nothing_to_redo');

    for (let i = 0; i < 3; i++) expect((await call('POST', `/v1/projects/${id}/undo`)).status).toBe(200);
    const view = await get(id);
    expect(view.revision).toBe(11);
    expect(view.project.scenes.map((s: { id: string; narration: string }) => [s.id, s.narration])).toEqual([
      ['a', 'Scene a.'],
      ['b', 'Scene b.'],
      ['c', 'Scene c.'],
    ]);
    expect(view.project.scenes[1].duration).toBeUndefined();
    const empty = await call('POST', `/v1/projects/${id}/undo`);
    expect(empty.status).toBe(409);
    expect(empty.body.error.code).toBe('nothing_to_undo');
  });

  it('undoes an edit made before ingest restarted (the history lives in the store, not the process)', async () => {
    const id = await newProject(['a', 'b']);
    await call('PATCH', `/v1/projects/${id}/scenes/b`, { narration: 'before the restart' });
    await ingest.stop();
    ingest = await startIngest();
    const undo = await call('POST', `/v1/projects/${id}/undo`);
    expect(undo.body).toMatchObject({ revision: 3, label: 'change narration of scene b' });
    expect((await get(id)).project.scenes[1].narration).toBe('Scene b.');
    expect((await call('POST', `/v1/projects/${id}/redo`)).body.revision).toBe(4);
    expect((await get(id)).project.scenes[1].narration).toBe('before the restart');
  });

  it('re-voices named scenes as new takes and changes and regenerates the music', async () => {
    const id = await newProject(['a', 'b', 'c']);
    const v = await call('POST', `/v1/projects/${id}/voiceover`, {
      sceneIds: ['b'],
      voice: { voice: 'en-gb' },
    });
    expect(v.body).toMatchObject({ revision: 2, changed: true });
    const p = (await get(id)).project;
    expect(p.scenes.map((s: { voiceTake: number }) => s.voiceTake)).toEqual([0, 1, 0]);
    expect(p.voice).toEqual({ model: 'local-speech', voice: 'en-gb' });
    const all = await call('POST', `/v1/projects/${id}/voiceover`);
    expect(all.status).toBe(200);
    expect((await get(id)).project.scenes.map((s: { voiceTake: number }) => s.voiceTake)).toEqual([1, 2, 1]);
    const unknown = await call('POST', `/v1/projects/${id}/voiceover`, { sceneIds: ['a', 'zz', 'yy'] });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toContain('"zz", "yy"');

    const noMusic = await call('POST', `/v1/projects/${id}/music/regenerate`);
    expect(noMusic.status).toBe(409);
    const m = await call('PATCH', `/v1/projects/${id}/music`, { source: { mood: 'upbeat' }, volume: 0.3 });
    expect(m.status).toBe(200);
    expect((await get(id)).project.music).toEqual({
      enabled: true,
      source: { mood: 'upbeat' },
      volume: 0.3,
      duck: true,
      take: 0,
    });
    await call('POST', `/v1/projects/${id}/music/regenerate`);
    expect((await get(id)).project.music.take).toBe(1);
    const bad = await call('PATCH', `/v1/projects/${id}/music`, { volume: 1.5, source: { mood: 'sad' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues.map((i: { field: string }) => i.field).sort()).toEqual([
      'source.mood',
      'volume',
    ]);
  });

  it('queues a preview as a project job linked to the revision, with the revision content on the bus', async () => {
    const id = await newProject(['a', 'b']);
    await call('PATCH', `/v1/projects/${id}/scenes/a`, { narration: 'Rendered words.' });
    const res = await call('POST', `/v1/projects/${id}/preview`, undefined, { 'if-match': '2' });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ projectId: id, revision: 2, preset: 'preview' });
    const job = await ingest.jobs.get(res.body.jobId);
    expect(job).toMatchObject({
      kind: 'project',
      status: 'queued',
      origin: { type: 'project', id, revision: 2 },
      input: { projectId: id, revision: 2, preset: 'preview' },
      submittedBy: { name: 'tester' },
    });
    const subject = ingest.bus.names.eventSubject('project.render.requested');
    const m = await ingest.bus.jsm.streams.getMessage(ingest.bus.names.eventsStream, {
      last_by_subj: subject,
    });
    const event = m!.json<EventOf<'project.render.requested'>>();
    expect(event).toMatchObject({
      jobId: res.body.jobId,
      data: { projectId: id, revision: 2, preset: 'preview' },
    });
    expect(event.data.project.scenes[0]?.narration).toBe('Rendered words.');
    // A later edit does not change what that job renders; a final render is its own job.
    await call('PATCH', `/v1/projects/${id}/scenes/a`, { narration: 'Later words.' });
    const final = await call('POST', `/v1/projects/${id}/render`);
    expect(final.body).toMatchObject({ revision: 3, preset: 'final' });
    expect(final.body.jobId).not.toBe(res.body.jobId);
  });
});
