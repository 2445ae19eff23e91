import { join } from 'node:path';
import {
  Project,
  Timeline,
  problemsOf,
  describeProblems,
  type EventOf,
  type Job,
  type ProjectAsset,
  type ProjectRenderPreset,
} from '@reelbus/contracts';
import {
  TransientError,
  probe,
  runFfmpeg,
  withTempDir,
  type BlobStore,
  type HandlerContext,
  type HandlerOutcome,
  type JobStore,
} from '@reelbus/kit';
import { planAssets, type DirectMedia, type ModelFacts } from './assets.ts';
import { buildNarrationArgs } from './narration.ts';
import { layoutProject, narrationPlacements, projectTimeline, type SceneVisual } from './timeline.ts';

/*
 * A project render on the bus: `project.render.requested` plans the assets, records them on the job,
 * and asks for each missing one with `project.asset.requested` (the ai-generator makes them, several at
 * once); each `project.asset.ready` marks one made in a compare-and-set of the job document, and the
 * update that completes the set claims the render's one `timeline.ready` (like the call's fan-in). The
 * claimant mixes the narration track, builds the Timeline and publishes it for the encoder.
 */

export interface ProjectDeps {
  jobs: Pick<JobStore, 'get' | 'update'>;
  blobs: BlobStore;
  /** A model of the registry, or undefined when it has none by that id. */
  model: (id: string) => ModelFacts | undefined;
  tmpDir: string;
}

/** One asset as the job records it. */
export interface AssetState {
  key: string;
  role: ProjectAsset['role'];
  sceneId?: string;
  media: ProjectAsset['media'];
  ready: boolean;
  /** True when this render made it (false: found made by an earlier render and reused). */
  made?: boolean;
  durationSec?: number;
  error?: string;
}

/** What the compositor keeps in `job.state.project`. */
export interface ProjectJobState {
  projectId: string;
  revision: number;
  preset: ProjectRenderPreset;
  project: Project;
  assets: Record<string, AssetState>;
  direct: Record<string, DirectMedia>;
  /** Who publishes the Timeline (the event that completed the set), once complete. */
  claim?: { by: string; at: string };
}

export function readProjectState(job: Job | undefined): ProjectJobState | undefined {
  const s = job?.state.project;
  return s && typeof s === 'object' ? (s as ProjectJobState) : undefined;
}

/** Inside a compare-and-set: claims the Timeline for `claimant` when every asset is ready and nobody has. */
export function claimIfAllReady(state: ProjectJobState, claimant: string, at: string): void {
  if (state.claim) return;
  if (Object.values(state.assets).every((a) => a.ready)) state.claim = { by: claimant, at };
}

/**
 * Inside a compare-and-set: the asset `assetId` is made (at `key`), and so is every other asset of the
 * render at the same key (asked for once: see requestProjectAssets).
 */
export function markReady(
  state: ProjectJobState,
  made: { assetId: string; key: string; durationSec?: number | undefined; error?: string | undefined },
): void {
  const { assetId, key, durationSec, error } = made;
  const sameKey = state.assets[assetId]!.key;
  for (const [id, a] of Object.entries(state.assets)) {
    if (id !== assetId && (a.ready || a.key !== sameKey)) continue;
    state.assets[id] = {
      ...a,
      key,
      ready: true,
      made: true,
      ...(durationSec !== undefined ? { durationSec } : {}),
      ...(error ? { error } : {}),
    };
  }
}

const counts = (s: ProjectJobState) => {
  const all = Object.values(s.assets);
  return { ready: all.filter((a) => a.ready).length, total: all.length };
};

const progressMessage = (s: ProjectJobState) => {
  const kinds = (role: string[]) => Object.values(s.assets).filter((a) => role.includes(a.role));
  const voice = kinds(['voiceover']);
  const visuals = kinds(['visual', 'overlay', 'logo']);
  const done = (l: AssetState[]) => l.filter((a) => a.ready).length;
  return `voiceovers ${done(voice)} of ${voice.length}, visuals ${done(visuals)} of ${visuals.length}`;
};

/** `job.progress` of the prepare step in the `preparing` phase: "voiceovers k of n, visuals k of n". */
async function preparing(
  ctx: HandlerContext,
  jobId: string,
  s: ProjectJobState,
  status: 'started' | 'running' | 'completed',
): Promise<void> {
  const { ready, total } = counts(s);
  await ctx.publish('job.progress', jobId, {
    step: 'prepare',
    status,
    percent: status === 'completed' || total === 0 ? 100 : Math.round((100 * ready) / total),
    phase: 'preparing',
    message: progressMessage(s),
  });
}

/** project.render.requested → plan, record, ask for what is missing (or go straight to the Timeline). */
export async function requestProjectAssets({
  event,
  ctx,
  deps,
}: {
  event: EventOf<'project.render.requested'>;
  ctx: HandlerContext;
  deps: ProjectDeps;
}): Promise<HandlerOutcome> {
  const { projectId, revision, preset, project } = event.data;
  const plan = planAssets({ projectId, project, preset, model: deps.model });
  if (plan.problems.length) {
    return { outcome: 'fail', step: 'prepare', reason: `project ${projectId}: ${plan.problems.join('; ')}` };
  }
  // Assets made by earlier renders are reused: their keys name what made them.
  const found = await Promise.all(plan.assets.map((a) => deps.blobs.stat(a.key)));
  const state: ProjectJobState = {
    projectId,
    revision,
    preset,
    project,
    direct: plan.direct,
    assets: Object.fromEntries(
      plan.assets.map((a, i) => [
        a.id,
        {
          key: a.key,
          role: a.role,
          ...(a.sceneId ? { sceneId: a.sceneId } : {}),
          media: a.media,
          ready: found[i] !== undefined,
        },
      ]),
    ),
  };
  const at = new Date().toISOString();
  const job = await deps.jobs.update(event.jobId, (j) => {
    if (readProjectState(j)) return undefined; // a redelivery: the first delivery's record stands
    claimIfAllReady(state, event.id, at);
    j.state.project = state;
    return j;
  });
  const recorded = readProjectState(job)!;
  const { ready, total } = counts(recorded);
  await preparing(ctx, event.jobId, recorded, 'started');
  // Scenes that share an asset (the same picture, line or product image) share its key: it is asked
  // for once, and its one `project.asset.ready` marks every asset at that key.
  const asked = new Set<string>();
  for (const a of plan.assets) {
    if (recorded.assets[a.id]?.ready || asked.has(a.key)) continue;
    asked.add(a.key);
    await ctx.publish(
      'project.asset.requested',
      event.jobId,
      { projectId, asset: a, allowPlaceholder: project.output.allowPlaceholders },
      { id: `project.asset.requested:${event.jobId}:${a.id}` },
    );
  }
  ctx.logger.info(
    { projectId, revision, preset, assets: total, reused: ready },
    `project render: ${total - ready} assets to make, ${ready} reused`,
  );
  return publishIfClaimed({ job, claimant: event.id, ctx, deps });
}

/** project.asset.ready → mark it made; the update that completes the set claims the Timeline. */
export async function collectProjectAsset({
  event,
  ctx,
  deps,
}: {
  event: EventOf<'project.asset.ready'>;
  ctx: HandlerContext;
  deps: ProjectDeps;
}): Promise<HandlerOutcome> {
  const { assetId, key, durationSec, error } = event.data;
  const at = new Date().toISOString();
  const job = await deps.jobs.update(event.jobId, (j) => {
    const s = readProjectState(j);
    const a = s?.assets[assetId];
    if (!s || !a || a.ready) return undefined;
    markReady(s, { assetId, key, durationSec, error });
    claimIfAllReady(s, event.id, at);
    return j;
  });
  const s = readProjectState(job);
  if (!s) {
    throw new TransientError(
      `job ${event.jobId} has no project state yet (render request not handled): retrying`,
      {
        step: 'prepare',
      },
    );
  }
  if (!s.assets[assetId])
    return { outcome: 'skip', reason: `job ${event.jobId} asked for no asset "${assetId}"` };
  await preparing(ctx, event.jobId, s, 'running');
  return publishIfClaimed({ job, claimant: event.id, ctx, deps });
}

async function publishIfClaimed({
  job,
  claimant,
  ctx,
  deps,
}: {
  job: Job;
  claimant: string;
  ctx: HandlerContext;
  deps: ProjectDeps;
}): Promise<HandlerOutcome> {
  const s = readProjectState(job);
  if (!s?.claim) return { outcome: 'ok' }; // still waiting for assets
  if (s.claim.by !== claimant)
    return { outcome: 'skip', reason: `the Timeline of job ${job.id} was claimed by ${s.claim.by}` };
  await preparing(ctx, job.id, s, 'completed');
  await ctx.progress('compose', 'started');
  const built = await composeProject({ jobId: job.id, state: s, deps, ctx });
  if ('fail' in built) return { outcome: 'fail', step: 'compose', reason: built.fail };
  await ctx.publish(
    'timeline.ready',
    job.id,
    { kind: 'project', timeline: built.timeline },
    { id: `timeline.ready:${job.id}` },
  );
  await ctx.progress('compose', 'completed', 100);
  return { outcome: 'ok' };
}

/** Seconds of an audio blob (a voiceover found made by an earlier render). */
async function blobDuration(blobs: BlobStore, key: string, dir: string): Promise<number> {
  const file = join(dir, key.replace(/[^A-Za-z0-9.]/g, '_'));
  await blobs.download(key, file);
  return (await probe(file)).durationSec;
}

/** The made assets → the narration track and the Timeline. */
async function composeProject({
  jobId,
  state,
  deps,
  ctx,
}: {
  jobId: string;
  state: ProjectJobState;
  deps: ProjectDeps;
  ctx: HandlerContext;
}): Promise<{ timeline: Timeline } | { fail: string }> {
  const { project, preset, assets, direct } = state;
  return withTempDir(
    'reelbus-project-',
    async (dir) => {
      const visuals: Record<string, SceneVisual> = {};
      const overlays: Record<string, string> = {};
      const voiceovers: Record<string, string> = {};
      const voiceoverSec: Record<string, number> = {};
      for (const scene of project.scenes) {
        const d = direct[`visual:${scene.id}`];
        const a = assets[`visual:${scene.id}`];
        if (d) visuals[scene.id] = { media: d.media, key: d.key };
        else if (a?.error) {
          visuals[scene.id] = { media: 'placeholder', reason: a.error };
          await ctx.warn(
            'prepare',
            `scene "${scene.id}": its visual could not be had, a placeholder is shown: ${a.error}`,
          );
        } else if (a) visuals[scene.id] = { media: a.media === 'video' ? 'video' : 'image', key: a.key };
        const o = direct[`overlay:${scene.id}`] ?? assets[`overlay:${scene.id}`];
        if (o && !('error' in o && o.error)) overlays[scene.id] = o.key;
        else if (o)
          await ctx.warn(
            'prepare',
            `scene "${scene.id}": its overlay could not be had and is left out: ${(o as AssetState).error}`,
          );
        const v = assets[`voiceover:${scene.id}`];
        if (v) {
          voiceovers[scene.id] = v.key;
          voiceoverSec[scene.id] = v.durationSec ?? (await blobDuration(deps.blobs, v.key, dir));
        }
      }
      const music = assets.music && !assets.music.error ? assets.music.key : undefined;
      const logo = direct.logo?.key ?? (assets.logo && !assets.logo.error ? assets.logo.key : undefined);
      const layout = layoutProject({ project, preset, voiceoverSec });
      let narrationKey: string | undefined;
      const placements = narrationPlacements(layout, voiceovers);
      if (placements.length) {
        const inputs = [];
        for (const [i, p] of placements.entries()) {
          const file = join(dir, `voiceover-${i}.wav`);
          await deps.blobs.download(p.key, file);
          inputs.push({ file, startSec: p.startSec });
        }
        const out = join(dir, 'narration.wav');
        await runFfmpeg({
          step: 'compose',
          args: buildNarrationArgs({ inputs, durationSec: layout.durationSec, output: out }),
          signal: ctx.signal,
          logger: ctx.logger,
        });
        narrationKey = `jobs/${jobId}/project/narration.wav`;
        await deps.blobs.putFile(narrationKey, out, { contentType: 'audio/wav' });
      }
      const input = projectTimeline({
        project,
        preset,
        layout,
        assets: {
          visuals,
          voiceoverSec,
          overlays,
          ...(narrationKey ? { narrationKey } : {}),
          ...(music ? { musicKey: music } : {}),
          ...(logo ? { logoKey: logo } : {}),
        },
      });
      const parsed = Timeline.safeParse(input);
      if (!parsed.success)
        return { fail: `the project's Timeline is invalid: ${describeProblems(problemsOf(parsed.error))}` };
      return { timeline: parsed.data };
    },
    { tmpDir: deps.tmpDir },
  );
}
