// A project render's asset steps on the real kit Bus and a real nats-server, registered as the two
// services' main.ts do: the compositor's plan and fan-in, the ai-generator's asset step with the local
// provider (espeak-ng, drawn images, sox music) wrapped to count its runs. Real ffmpeg, real files.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Project,
  newJob,
  type EventOf,
  type EventType,
  type ProjectInput,
  type Timeline,
} from '@reelbus/contracts';
import { Bus, FsBlobStore, KvJobStore, runFfmpeg, type Consumer } from '@reelbus/kit';
import { randomNamespace, startNatsServer, type NatsServerHandle } from '@reelbus/kit/testing';
import {
  buildLoudnessMeasureArgs,
  createLocalGenerationProvider,
  handleProjectAssetRequested,
  type DirectProvider,
} from '@reelbus/ai-generator';
import { loadModelRegistry } from '@reelbus/ai-generator/models';
import { collectProjectAsset, readProjectState, requestProjectAssets, type ProjectDeps } from './handle.ts';

let dir: string;
let server: NatsServerHandle;
let bus: Bus;
let jobs: KvJobStore;
let blobs: FsBlobStore;
let consumer: Consumer;
const runs: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelbus-project-bus-'));
  server = await startNatsServer();
  bus = await Bus.connect({ servers: server.url, namespace: randomNamespace(), name: 'project-bus-test' });
  await bus.ensureStreams();
  jobs = await KvJobStore.open({ nc: bus.nc, bucket: bus.names.jobsBucket });
  blobs = new FsBlobStore({ root: join(dir, 'blobs') });
  const registry = loadModelRegistry();
  const local = createLocalGenerationProvider();
  const counting: DirectProvider = {
    kind: 'direct',
    name: 'local',
    run: (req) => {
      runs.push(`${req.model.id} ${JSON.stringify(req.params.text ?? req.params.prompt ?? req.params.mood)}`);
      return local.run(req);
    },
  };
  const deps: ProjectDeps = {
    jobs,
    blobs,
    tmpDir: dir,
    model: (id) =>
      registry.has(id)
        ? { type: registry.get(id).type, params: Object.keys(registry.get(id).params.properties ?? {}) }
        : undefined,
  };
  consumer = await bus.consume({
    service: 'project-test',
    concurrency: 3,
    handlers: {
      'project.render.requested': {
        step: 'prepare',
        handle: (event, ctx) => requestProjectAssets({ event, ctx, deps }),
      },
      'project.asset.ready': {
        step: 'prepare',
        handle: (event, ctx) => collectProjectAsset({ event, ctx, deps }),
      },
      'project.asset.requested': {
        step: 'prepare',
        handle: (e, ctx) =>
          handleProjectAssetRequested({
            e,
            ctx,
            deps: {
              registry,
              providers: { local: counting },
              blobs,
              tmpDir: dir,
              fetch: { allowPrivate: false, timeoutMs: 2000, maxBytes: 1e7 },
            },
          }),
      },
    },
  });
});

afterAll(async () => {
  await consumer?.stop();
  await jobs?.close();
  await bus?.close();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The first event of `types` for `jobId`, or a rejection naming what was awaited after `ms`. */
function nextEvent<T extends EventType>(jobId: string, types: T[], ms = 90_000): Promise<EventOf<T>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${types.join('/')} for ${jobId} in ${ms} ms`)), ms);
    const w = bus.watchJob(jobId, (e) => {
      if ((types as string[]).includes(e.type)) {
        clearTimeout(timer);
        void w.stop();
        resolve(e as unknown as EventOf<T>);
      }
    });
  });
}

const spec = (over: Partial<ProjectInput> = {}): Project =>
  Project.parse({
    title: 'Bus test',
    output: { shortSide: 144, fps: 15 },
    scenes: [
      {
        id: 'a',
        narration: 'First scene.',
        visual: { model: 'local-image', params: { prompt: 'a red door' } },
      },
      {
        id: 'b',
        narration: 'Second scene.',
        visual: { model: 'local-image', params: { prompt: 'a blue sea' } },
      },
      {
        id: 'c',
        narration: 'Third scene.',
        visual: { model: 'local-image', params: { prompt: 'a green hill' } },
      },
    ],
    music: { source: { mood: 'calm' } },
    ...over,
  });

let n = 0;
async function render(project: Project, projectId = 'prj_bus') {
  const jobId = `project-bus-${process.pid}-${++n}`;
  await jobs.create(
    newJob({ id: jobId, kind: 'project', origin: { type: 'project', id: projectId, revision: n } }),
  );
  const done = nextEvent(jobId, ['timeline.ready', 'job.failed']);
  await bus.publish('project.render.requested', jobId, {
    projectId,
    revision: n,
    preset: 'preview',
    project,
  });
  return { jobId, event: await done };
}

async function lufs(key: string): Promise<number> {
  const lines: string[] = [];
  const file = join(dir, key.replace(/\//g, '_'));
  await blobs.download(key, file);
  await runFfmpeg({
    step: 'test',
    args: buildLoudnessMeasureArgs(file, -16),
    onStderrLine: (l) => lines.push(l),
  });
  const start = lines.map((l) => l.trim()).lastIndexOf('{');
  return Number(
    JSON.parse(
      lines
        .slice(start)
        .join('\n')
        .replace(/}[^}]*$/, '}'),
    ).input_i,
  );
}

describe('project assets on the bus', () => {
  it('makes every asset in parallel steps, then publishes the Timeline; editing scene b re-voices scene b only', async () => {
    const first = await render(spec());
    expect(first.event.type).toBe('timeline.ready');
    const tl = (first.event as EventOf<'timeline.ready'>).data;
    expect(tl.kind).toBe('project');
    const timeline: Timeline = tl.timeline;
    expect(timeline.tracks[0]!.clips.map((c) => c.type)).toEqual(['image', 'image', 'image']);
    expect(timeline.audio.map((a) => a.name)).toEqual(['narration', 'music']);
    expect(await blobs.stat(timeline.audio[0]!.source.key)).toBeDefined();
    expect(runs.filter((r) => r.startsWith('local-speech'))).toHaveLength(3);
    expect(runs.filter((r) => r.startsWith('local-image'))).toHaveLength(3);
    expect(runs.filter((r) => r.startsWith('local-music'))).toHaveLength(1);
    // Assets belong to the project, not the job; voiceovers and music sit at the narration loudness.
    const state = readProjectState(await jobs.get(first.jobId))!;
    expect(Object.values(state.assets).every((a) => a.key.startsWith('projects/prj_bus/assets/'))).toBe(true);
    expect(Object.values(state.assets).every((a) => a.made)).toBe(true);
    expect(Math.abs((await lufs(state.assets['music']!.key)) + 16)).toBeLessThan(1);
    expect(Math.abs((await lufs(state.assets['voiceover:b']!.key)) + 16)).toBeLessThan(1.5);
    // Scene lengths come from the voiceovers (+ a pause); the narration is as long as the video.
    const [a] = timeline.tracks[0]!.clips;
    expect(a!.duration).toBeCloseTo(state.assets['voiceover:a']!.durationSec! + 0.6, 0);

    const before = runs.length;
    const edited = spec();
    edited.scenes[1]!.narration = 'A different second scene.';
    const second = await render(edited);
    expect(second.event.type).toBe('timeline.ready');
    expect(runs.slice(before)).toEqual(['local-speech "A different second scene."']);
    const again = readProjectState(await jobs.get(second.jobId))!;
    expect(
      Object.entries(again.assets)
        .filter(([, s]) => s.made)
        .map(([id]) => id),
    ).toEqual(['voiceover:b']);
  }, 240_000);

  it('makes an asset that several scenes share once and gives it to each of them', async () => {
    const before = runs.length;
    const shared = Project.parse({
      title: 'Shared assets',
      output: { shortSide: 144, fps: 15 },
      scenes: ['x', 'y', 'z'].map((id) => ({
        id,
        narration: 'The same line.',
        visual: { model: 'local-image', params: { prompt: 'one shared picture' } },
        overlay: { image: { model: 'local-image', params: { prompt: 'a product' } } },
      })),
    });
    const r = await render(shared, 'prj_shared');
    expect(r.event.type).toBe('timeline.ready');
    expect(runs.slice(before).sort()).toEqual([
      'local-image "a product"',
      'local-image "one shared picture"',
      'local-speech "The same line."',
    ]);
    const state = readProjectState(await jobs.get(r.jobId))!;
    const voiceovers = ['x', 'y', 'z'].map((id) => state.assets[`voiceover:${id}`]!);
    expect(new Set(voiceovers.map((v) => v.key)).size).toBe(1);
    expect(voiceovers.every((v) => v.ready && v.durationSec! > 0)).toBe(true);
    const clips = (r.event as EventOf<'timeline.ready'>).data.timeline.tracks[0]!.clips;
    expect(clips.map((c) => c.type)).toEqual(['image', 'image', 'image']);
  }, 120_000);

  it('fails the render naming the scene whose visual cannot be had, or draws a placeholder with a warning when allowed', async () => {
    const bad = spec({ music: { enabled: false } });
    bad.scenes[2]!.visual = { url: 'https://127.0.0.1/missing.png' };
    const failed = await render(bad, 'prj_bad');
    expect(failed.event.type).toBe('job.failed');
    const f = (failed.event as EventOf<'job.failed'>).data;
    expect(f.step).toBe('prepare');
    expect(f.reason).toMatch(/scene "c" visual could not be made: .*refused/);

    const allowed = Project.parse({ ...bad, output: { ...bad.output, allowPlaceholders: true } });
    const jobId = `project-bus-${process.pid}-${n + 1}`;
    const warned = nextEvent(jobId, ['job.warning']);
    const ok = await render(allowed, 'prj_bad');
    expect(ok.jobId).toBe(jobId);
    expect(ok.event.type).toBe('timeline.ready');
    expect((await warned).data.message).toMatch(
      /scene "c": its visual could not be had, a placeholder is shown/,
    );
    const clip = (ok.event as EventOf<'timeline.ready'>).data.timeline.tracks[0]!.clips[2]!;
    expect(clip.type).toBe('color');
  }, 120_000);
});
