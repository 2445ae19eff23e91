// Project assets from Replicate and fal models, made by the asset step through the same provider
// clients as generations (the real `replicate` and `@fal-ai/client` SDKs), against the local servers
// that speak their protocols: submitted once, polled to the end, the output stored at the asset's
// project-owned key; a redelivery resumes the run from its record instead of paying twice; the
// provider's refusal fails the asset naming the scene; a cancelled render cancels the run.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProjectAsset } from '@reelbus/contracts';
import { FsBlobStore, JobCancelledError, probe } from '@reelbus/kit';
import { makeImage, makeVideo, recordingContext, testEvent } from '@reelbus/kit/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createFalGenerationProvider } from '../generation/fal-provider.ts';
import { createReplicateProvider } from '../generation/replicate-provider.ts';
import { loadModelRegistry } from '../models/registry.ts';
import { startFakeFalServer, type FakeFalServer } from '../testing/fake-fal-server.ts';
import {
  startFakeReplicateServer,
  type FakeReplicateServer,
  type ReplicateBehaviour,
} from '../testing/fake-replicate-server.ts';
import { handleProjectAssetRequested, runRecordKey, type ProjectAssetDeps } from './handle-asset.ts';

const TOKEN = 'r8_fake_token';
const FAL_KEY = 'fal-key:secret';
const registry = loadModelRegistry();
let dir: string;
let image: string;
let video: string;
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aigen-project-asset-'));
  image = await makeImage({ file: join(dir, 'out.png'), width: 320, height: 180 });
  video = await makeVideo({ file: join(dir, 'out.mp4'), seconds: 1 });
});
afterAll(async () => {
  for (const close of closers) await close();
  await rm(dir, { recursive: true, force: true });
});

async function replicate(behaviour: (input: Record<string, unknown>) => ReplicateBehaviour) {
  const s = await startFakeReplicateServer({
    token: TOKEN,
    webhookSecret: `whsec_${Buffer.from('a-secret-for-tests-only').toString('base64')}`,
    outputFile: image,
    behaviour,
  });
  closers.push(() => s.close());
  return s;
}

let n = 0;
function setup(servers: { replicate?: FakeReplicateServer; fal?: FakeFalServer }) {
  const blobs = new FsBlobStore({ root: join(dir, `blobs-${++n}`) });
  const deps: ProjectAssetDeps = {
    registry,
    providers: {
      ...(servers.replicate
        ? { replicate: createReplicateProvider({ token: TOKEN, baseUrl: servers.replicate.url }) }
        : {}),
      ...(servers.fal
        ? { fal: createFalGenerationProvider({ credentials: FAL_KEY, baseUrl: servers.fal.url }) }
        : {}),
    },
    blobs,
    tmpDir: join(dir, 'tmp'),
    fetch: { allowPrivate: false, timeoutMs: 2_000, maxBytes: 1e7 },
    poll: { initialMs: 20, maxMs: 60, timeoutMs: 60_000, maxErrors: 5 },
  };
  return { blobs, deps };
}

const visual = (model: string, params: Record<string, unknown>, media: 'image' | 'video'): ProjectAsset => ({
  id: 'visual:s2',
  role: 'visual',
  sceneId: 's2',
  key: `projects/prj_remote/assets/visual-${n}.${media === 'image' ? 'png' : 'mp4'}`,
  media,
  make: { model, params },
});

const requested = (asset: ProjectAsset) =>
  testEvent('project.asset.requested', 'job_prj_1', {
    projectId: 'prj_remote',
    asset,
    allowPlaceholder: false,
  });

describe('project assets from remote models', () => {
  it('makes a scene visual with a Replicate model: one prediction, polled to its end, stored at the project key', async () => {
    const server = await replicate(() => ({ outcome: 'succeed', endsAtPoll: 2 }));
    const { blobs, deps } = setup({ replicate: server });
    const asset = visual('flux-schnell', { prompt: 'a red lighthouse' }, 'image');
    const ctx = recordingContext();
    expect(await handleProjectAssetRequested({ e: requested(asset), ctx, deps })).toEqual({ outcome: 'ok' });
    expect(server.predictions).toHaveLength(1);
    expect(server.predictions[0]!.body.input).toMatchObject({ prompt: 'a red lighthouse' });
    expect(server.predictions[0]!.body.webhook).toBeUndefined(); // polled: an asset is no generation job
    expect(ctx.published.map((p) => p.type)).toEqual(['project.asset.ready']);
    expect(ctx.published[0]!.data).toMatchObject({ assetId: 'visual:s2', key: asset.key });
    const stored = join(dir, 'stored.png');
    await blobs.download(asset.key, stored);
    expect((await probe(stored)).video).toMatchObject({ width: 320, height: 180 });
    expect(await blobs.stat(runRecordKey(asset.key))).toBeUndefined();
  });

  it('resumes the same prediction after a redelivery instead of submitting another', async () => {
    const server = await replicate(() => ({ outcome: 'succeed', endsAtPoll: 4 }));
    const { blobs, deps } = setup({ replicate: server });
    const asset = visual('flux-schnell', { prompt: 'slow harbour' }, 'image');
    // The first delivery stops mid-run (the service shutting down): the run goes on at Replicate.
    const stop = new AbortController();
    const first = handleProjectAssetRequested({
      e: requested(asset),
      ctx: recordingContext({ signal: stop.signal }),
      deps,
    });
    await vi.waitFor(() => expect(server.predictions[0]?.reads).toBeGreaterThanOrEqual(1), {
      timeout: 30_000,
    });
    stop.abort(new Error('shutting down'));
    await expect(first).rejects.toThrow('shutting down');
    expect(await blobs.stat(runRecordKey(asset.key))).toBeDefined();
    expect(server.predictions[0]!.canceled).toBe(false);

    const ctx = recordingContext({ deliveryCount: 2 });
    expect(await handleProjectAssetRequested({ e: requested(asset), ctx, deps })).toEqual({ outcome: 'ok' });
    expect(server.predictions).toHaveLength(1);
    expect(await blobs.stat(asset.key)).toBeDefined();
    expect(await blobs.stat(runRecordKey(asset.key))).toBeUndefined();
  });

  it("fails the asset with the provider's own message, naming the scene", async () => {
    const server = await replicate(() => ({ outcome: 'fail' }));
    const { blobs, deps } = setup({ replicate: server });
    const asset = visual('flux-schnell', { prompt: 'refused' }, 'image');
    const outcome = await handleProjectAssetRequested({ e: requested(asset), ctx: recordingContext(), deps });
    expect(outcome).toMatchObject({ outcome: 'fail', step: 'prepare' });
    expect((outcome as { reason: string }).reason).toMatch(
      /^scene "s2" visual: replicate black-forest-labs\//,
    );
    expect(await blobs.stat(asset.key)).toBeUndefined();
    expect(await blobs.stat(runRecordKey(asset.key))).toBeUndefined();
  });

  it('cancels the prediction when the render is cancelled', async () => {
    const server = await replicate(() => ({ outcome: 'hang' }));
    const { deps } = setup({ replicate: server });
    const asset = visual('flux-schnell', { prompt: 'never mind' }, 'image');
    const cancel = new AbortController();
    const run = handleProjectAssetRequested({
      e: requested(asset),
      ctx: recordingContext({ signal: cancel.signal }),
      deps,
    });
    await vi.waitFor(() => expect(server.predictions[0]?.reads).toBeGreaterThanOrEqual(1), {
      timeout: 30_000,
    });
    cancel.abort(new JobCancelledError({ jobId: 'job_prj_1' }));
    await expect(run).rejects.toThrow();
    await vi.waitFor(() => expect(server.predictions[0]!.canceled).toBe(true));
  });

  it('makes a scene video with a fal model from a picture in storage (hosted on fal for the model)', async () => {
    const server = await startFakeFalServer({ key: FAL_KEY, videoFile: video });
    closers.push(() => server.close());
    const { blobs, deps } = setup({ fal: server });
    await blobs.putFile('uploads/first-frame.png', image);
    const asset = visual(
      'kling-1.6-i2v',
      { prompt: 'waves roll in', image: 'uploads/first-frame.png' },
      'video',
    );
    const ctx = recordingContext();
    expect(await handleProjectAssetRequested({ e: requested(asset), ctx, deps })).toEqual({ outcome: 'ok' });
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.model).toBe('fal-ai/kling-video/v1.6/standard/image-to-video');
    expect(server.requests[0]!.input).toMatchObject({
      prompt: 'waves roll in',
      image_url: expect.stringMatching(new RegExp(`^${server.url}/files/`)),
    });
    expect(server.requests[0]!.webhookUrl).toBeUndefined();
    expect((ctx.published[0]!.data as { durationSec?: number }).durationSec).toBeCloseTo(1, 1);
    const stored = join(dir, 'stored.mp4');
    await blobs.download(asset.key, stored);
    expect((await probe(stored)).video).toBeDefined();
  });
});
