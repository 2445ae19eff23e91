// generation.requested handled against local servers speaking Replicate's and fal's HTTP protocols, through
// the real `replicate` and `@fal-ai/client` clients: submit retries on 429, 5xx and timeouts with backoff; a
// provider's refusal failing the job with its own message; a cancelled job cancelling the run at the
// provider; fal with a webhook URL, file hosting and its model error. The job store is an in-memory
// compare-and-set double (the KV and MongoDB stores have their own contract suite). Replicate and fal
// themselves run the same handler when REPLICATE_API_TOKEN / FAL_KEY are set (skipped otherwise).
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newJob, type Job } from '@reelbus/contracts';
import { FsBlobStore, JobCancelledError, JobNotFoundError, metrics, TransientError } from '@reelbus/kit';
import { makeImage, makeSpeech, makeVideo, recordingContext, testEvent } from '@reelbus/kit/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadModelRegistry } from '../models/registry.ts';
import { startFakeElevenLabsServer } from '../testing/fake-elevenlabs-server.ts';
import { startFakeFalServer, type FakeFalServer } from '../testing/fake-fal-server.ts';
import { createElevenLabsProvider } from './elevenlabs-provider.ts';
import { startFakeReplicateServer, type FakeReplicateServer } from '../testing/fake-replicate-server.ts';
import { createFalGenerationProvider } from './fal-provider.ts';
import {
  GENERATION_METRIC,
  handleGenerationCallback,
  handleGenerationRequested,
  type GenerationDeps,
} from './handle-generation.ts';
import { createReplicateProvider } from './replicate-provider.ts';
import { isProviderError } from './types.ts';

const TOKEN = 'r8_fake_token';
const FAL_KEY = 'fal-key:secret';
const registry = loadModelRegistry();
let dir: string;
let image: string;
let video: string;
let speech: string;
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aigen-handle-generation-'));
  image = await makeImage({ file: join(dir, 'fixture.png'), width: 320, height: 240 });
  video = await makeVideo({ file: join(dir, 'fixture.mp4'), seconds: 1 });
  speech = await makeSpeech({ text: 'Hello there, nice to meet you.', file: join(dir, 'fixture.wav') });
});
afterAll(async () => {
  for (const close of closers) await close();
  await rm(dir, { recursive: true, force: true });
});

/** Jobs in memory, each update a compare-and-set on a copy (as the stores do). */
function memoryJobs(jobs: Job[]) {
  const docs = new Map(jobs.map((j) => [j.id, structuredClone(j)]));
  return {
    docs,
    async get(id: string) {
      const j = docs.get(id);
      return j && structuredClone(j);
    },
    async update(id: string, mutate: (j: Job) => Job | undefined) {
      const cur = docs.get(id);
      if (!cur) throw new JobNotFoundError(id);
      const next = mutate(structuredClone(cur));
      if (next) docs.set(id, structuredClone(next));
      return structuredClone(next ?? cur);
    },
  };
}

let n = 0;
async function setup(opts: {
  model: string;
  params: Record<string, unknown>;
  replicate?: FakeReplicateServer;
  fal?: FakeFalServer;
  requestTimeoutMs?: number;
  webhooks?: boolean;
}) {
  const jobId = `job_gen_${++n}`;
  const jobs = memoryJobs([
    newJob({ id: jobId, kind: 'generation', input: { model: opts.model, params: opts.params } }),
  ]);
  const blobs = new FsBlobStore({ root: join(dir, `blobs-${n}`) });
  const deps: GenerationDeps = {
    registry,
    providers: {
      ...(opts.replicate
        ? {
            replicate: createReplicateProvider({
              token: TOKEN,
              baseUrl: opts.replicate.url,
              ...(opts.requestTimeoutMs ? { requestTimeoutMs: opts.requestTimeoutMs } : {}),
            }),
          }
        : {}),
      ...(opts.fal
        ? { fal: createFalGenerationProvider({ credentials: FAL_KEY, baseUrl: opts.fal.url }) }
        : {}),
    },
    blobs,
    jobs,
    webhooks: opts.webhooks ? { baseUrl: 'https://reelbus.example.com', secret: 'x'.repeat(32) } : undefined,
    poll: { initialMs: 20, maxMs: 60, timeoutMs: 60_000, maxErrors: 5 },
    retries: 3,
    retryBaseMs: 10,
    tmpDir: join(dir, 'tmp'),
    instance: 'test',
  };
  const event = testEvent('generation.requested', jobId, { model: opts.model, params: opts.params });
  return { jobId, jobs, blobs, deps, event };
}

async function replicateServer(opts: Partial<Parameters<typeof startFakeReplicateServer>[0]> = {}) {
  const s = await startFakeReplicateServer({
    token: TOKEN,
    webhookSecret: `whsec_${Buffer.from('a-secret-for-tests-only').toString('base64')}`,
    outputFile: image,
    ...opts,
  });
  closers.push(() => s.close());
  return s;
}

/** The generation metrics of flux-schnell on Replicate (the process-wide registry: compare before/after). */
function flux() {
  const l = { model: 'flux-schnell', provider: 'replicate' };
  return {
    started: metrics.value(GENERATION_METRIC.started, l),
    completed: metrics.value(GENERATION_METRIC.completed, l),
    failed: metrics.value(GENERATION_METRIC.failed, l),
    timed: metrics.value(GENERATION_METRIC.seconds, l),
    costUsd: metrics.value(GENERATION_METRIC.cost, l),
  };
}
const delta = (a: ReturnType<typeof flux>, b: ReturnType<typeof flux>) =>
  Object.fromEntries(
    Object.entries(b).map(([k, v]) => [k, Math.round((v - a[k as keyof typeof a]) * 1e6) / 1e6]),
  );

describe('submitting to a provider: retries and refusals (Replicate)', () => {
  it('retries a create answered 503, then 500, with backoff, and completes with one prediction', async () => {
    const server = await replicateServer({
      createFailures: (i) =>
        i <= 2 ? { status: i === 1 ? 503 : 500, detail: 'try again later' } : undefined,
    });
    const { event, deps, jobs, jobId } = await setup({
      model: 'flux-schnell',
      params: { prompt: 'a red fox' },
      replicate: server,
    });
    const ctx = recordingContext();
    const before = flux();
    const started = Date.now();
    expect(await handleGenerationRequested({ e: event, ctx, deps })).toEqual({ outcome: 'ok' });
    expect(server.createAttempts).toEqual([503, 500, 201]);
    // per model and provider: one started, one completed, its time, its cost ($0.003 a run)
    expect(delta(before, flux())).toEqual({ started: 1, completed: 1, failed: 0, timed: 1, costUsd: 0.003 });
    expect(server.predictions).toHaveLength(1);
    // backoff: 10 ms, then 20 ms before the third attempt
    expect(Date.now() - started).toBeGreaterThanOrEqual(30);
    expect(ctx.published.filter((p) => p.type === 'job.completed')).toHaveLength(1);
    expect((await jobs.get(jobId))?.state.generation).toMatchObject({
      requestId: server.predictions[0]!.id,
      done: true,
    });
  });

  it('retries a create that times out, and one answered 429', async () => {
    const server = await replicateServer({
      createFailures: (i) =>
        i === 1
          ? { status: 500, detail: 'slow', delayMs: 1500 }
          : i === 2
            ? { status: 429, detail: 'Request was throttled.', retryAfterSec: 0 }
            : undefined,
    });
    const { event, deps } = await setup({
      model: 'flux-schnell',
      params: { prompt: 'a slow start' },
      replicate: server,
      requestTimeoutMs: 300,
    });
    expect(await handleGenerationRequested({ e: event, ctx: recordingContext(), deps })).toEqual({
      outcome: 'ok',
    });
    expect(server.createAttempts).toEqual([500, 429, 201]);
  });

  it('gives up after the configured retries with a retryable error (the message goes back for redelivery)', async () => {
    const server = await replicateServer({
      createFailures: () => ({ status: 502, detail: 'bad gateway' }),
    });
    const { event, deps } = await setup({
      model: 'flux-schnell',
      params: { prompt: 'never' },
      replicate: server,
    });
    const err = await handleGenerationRequested({ e: event, ctx: recordingContext(), deps }).catch(
      (e: unknown) => e,
    );
    expect(isProviderError(err) && err.retryable).toBe(true);
    expect((err as Error).message).toMatch(
      /replicate create prediction for black-forest-labs\/flux-schnell: HTTP 502: bad gateway/,
    );
    expect(server.createAttempts).toEqual([502, 502, 502, 502]); // the first try and 3 retries
  });

  it("fails the job at once with the provider's own message when it refuses the input (422)", async () => {
    const server = await replicateServer({
      behaviour: () => ({
        outcome: 'succeed',
        rejectCreate: {
          status: 422,
          detail: 'input.aspect_ratio: aspect_ratio must be one of the following: "1:1"',
        },
      }),
    });
    const { event, deps, jobs, jobId } = await setup({
      model: 'flux-schnell',
      params: { prompt: 'refused', aspectRatio: '21:9' },
      replicate: server,
    });
    const ctx = recordingContext();
    const before = flux();
    expect(await handleGenerationRequested({ e: event, ctx, deps })).toEqual({
      outcome: 'fail',
      step: 'generate',
      reason:
        'replicate create prediction for black-forest-labs/flux-schnell: HTTP 422: input.aspect_ratio: aspect_ratio must be one of the following: "1:1"',
    });
    expect(server.createAttempts).toEqual([422]);
    expect(delta(before, flux())).toEqual({ started: 1, completed: 0, failed: 1, timed: 0, costUsd: 0 });
    expect(ctx.published.filter((p) => p.type === 'job.completed')).toHaveLength(0);
    expect((await jobs.get(jobId))?.state.generation).toBeUndefined();
  });
});

describe('a verified webhook (generation.callback) finishes the run', () => {
  it('completes the job once from the webhook while polls still say processing, and times the webhook', async () => {
    const server = await replicateServer({
      behaviour: () => ({ outcome: 'succeed', endsAtPoll: 1, pollsSeeEnd: false }),
    });
    const { event, deps, jobs, jobId } = await setup({
      model: 'flux-schnell',
      params: { prompt: 'by webhook' },
      replicate: server,
      webhooks: true,
    });
    const ctx = recordingContext();
    const run = handleGenerationRequested({ e: event, ctx, deps });
    await vi.waitFor(
      async () =>
        expect((await jobs.get(jobId))?.state.generation).toMatchObject({ requestId: expect.any(String) }),
      { timeout: 30_000 },
    );
    const p = server.predictions[0]!;
    expect(p.body.webhook).toMatch(new RegExp(`/v1/webhooks/replicate\\?job=${jobId}&token=`));
    expect(p.body.webhook_events_filter).toEqual(['completed']);
    const latencyBefore = metrics.value(GENERATION_METRIC.webhookLatency, { provider: 'replicate' });
    const completedAt = new Date(Date.now() - 1500).toISOString();
    const callback = (requestId: string) =>
      testEvent('generation.callback', jobId, {
        provider: 'replicate',
        requestId,
        status: 'succeeded',
        output: [`${server.url.replace(/\/v1$/, '')}/delivery/${p.id}/output.png`],
        computeSec: 2.5,
        completedAt,
        receivedAt: new Date().toISOString(),
        webhookId: `msg_${requestId}`,
      });
    // a webhook for another run of this job is ignored
    expect(await handleGenerationCallback({ e: callback('someone-else'), ctx, deps })).toMatchObject({
      outcome: 'skip',
    });
    expect(await handleGenerationCallback({ e: callback(p.id), ctx, deps })).toEqual({ outcome: 'ok' });
    // the polling loop sees the job done and ends without a second completion
    expect(await run).toEqual({ outcome: 'ok' });
    expect(p.status).not.toBe('canceled');
    expect(ctx.published.filter((m) => m.type === 'job.completed')).toHaveLength(1);
    const done = ctx.published.find((m) => m.type === 'job.completed')!.data as {
      outputs: Record<string, { key: string }>;
    };
    expect(done.outputs.image).toMatchObject({ key: `jobs/${jobId}/generate/image.png` });
    // a redelivered webhook finds the run done
    expect(await handleGenerationCallback({ e: callback(p.id), ctx, deps })).toMatchObject({
      outcome: 'skip',
    });
    expect(ctx.published.filter((m) => m.type === 'job.completed')).toHaveLength(1);
    // latency observed for the webhook that finished the run (ignored and redelivered ones are not timed)
    const observed = metrics.value(GENERATION_METRIC.webhookLatency, { provider: 'replicate' });
    expect(observed - latencyBefore).toBe(1);
  });
});

describe('a cancelled job cancels the run at the provider', () => {
  it('when the job document says it was cancelled (the next poll sees it)', async () => {
    const server = await replicateServer({ behaviour: () => ({ outcome: 'hang' }) });
    const { event, deps, jobs, jobId } = await setup({
      model: 'flux-schnell',
      params: { prompt: 'stop me' },
      replicate: server,
    });
    const run = handleGenerationRequested({ e: event, ctx: recordingContext(), deps });
    await vi.waitFor(() => expect(server.predictions[0]?.reads).toBeGreaterThanOrEqual(1), {
      timeout: 10_000,
    });
    await jobs.update(jobId, (j) => ({
      ...j,
      cancel: { requestedAt: new Date().toISOString(), by: 'tester' },
    }));
    expect(await run).toMatchObject({ outcome: 'skip', reason: expect.stringMatching(/was cancelled/) });
    expect(server.predictions[0]).toMatchObject({ canceled: true, status: 'canceled' });
  });

  it("when the kit aborts the handler's signal with a JobCancelledError (at once, between polls)", async () => {
    const server = await replicateServer({ behaviour: () => ({ outcome: 'hang' }) });
    const { event, deps } = await setup({
      model: 'flux-schnell',
      params: { prompt: 'stop me too' },
      replicate: server,
    });
    deps.poll = { ...deps.poll, initialMs: 60_000, maxMs: 60_000 }; // no poll comes before the cancel
    const controller = new AbortController();
    const run = handleGenerationRequested({
      e: event,
      ctx: recordingContext({ signal: controller.signal }),
      deps,
    });
    await vi.waitFor(() => expect(server.predictions).toHaveLength(1), { timeout: 30_000 });
    const reason = new JobCancelledError({ jobId: event.jobId, by: 'tester', reason: 'wrong prompt' });
    controller.abort(reason);
    await expect(run).rejects.toBe(reason);
    expect(server.predictions[0]).toMatchObject({ canceled: true, reads: 0 });
  });

  it('leaves the run going when the signal aborts for a shutdown (a redelivery resumes it)', async () => {
    const server = await replicateServer({ behaviour: () => ({ outcome: 'hang' }) });
    const { event, deps, jobs, jobId } = await setup({
      model: 'flux-schnell',
      params: { prompt: 'survive a restart' },
      replicate: server,
    });
    deps.poll = { ...deps.poll, initialMs: 60_000, maxMs: 60_000 };
    const controller = new AbortController();
    const run = handleGenerationRequested({
      e: event,
      ctx: recordingContext({ signal: controller.signal }),
      deps,
    });
    await vi.waitFor(() => expect(server.predictions).toHaveLength(1), { timeout: 30_000 });
    controller.abort(new Error('shutting down'));
    await expect(run).rejects.toThrow('shutting down');
    expect(server.predictions[0]!.canceled).toBe(false);
    expect((await jobs.get(jobId))?.state.generation).toMatchObject({ requestId: server.predictions[0]!.id });
  });
});

describe('the poll fallback gives up', () => {
  it('cancels a run that does not finish within the timeout and fails the job naming the timeout', async () => {
    const server = await replicateServer({ behaviour: () => ({ outcome: 'hang' }) });
    const { event, deps } = await setup({
      model: 'flux-schnell',
      params: { prompt: 'never done' },
      replicate: server,
    });
    deps.poll = { ...deps.poll, timeoutMs: 400 };
    const before = flux();
    const result = await handleGenerationRequested({ e: event, ctx: recordingContext(), deps });
    expect(result).toMatchObject({
      outcome: 'fail',
      step: 'generate',
      reason: expect.stringMatching(
        /^replicate run \S+ of flux-schnell did not finish within 0 s \(GENERATION_TIMEOUT_MS\); it was cancelled$/,
      ),
    });
    expect(server.predictions).toHaveLength(1);
    expect(server.predictions[0]).toMatchObject({ canceled: true, status: 'canceled' });
    expect(server.predictions[0]!.reads).toBeGreaterThanOrEqual(1); // it polled until the deadline
    expect(delta(before, flux())).toMatchObject({ failed: 1, completed: 0 });
  });

  it("stops after maxErrors failed polls in a row with the provider's error, for a redelivery", async () => {
    const server = await replicateServer({
      behaviour: () => ({ outcome: 'hang', readError: { status: 500, detail: 'status store unavailable' } }),
    });
    const { event, deps } = await setup({
      model: 'flux-schnell',
      params: { prompt: 'cannot see it' },
      replicate: server,
    });
    deps.poll = { ...deps.poll, maxErrors: 3 };
    const run = handleGenerationRequested({ e: event, ctx: recordingContext(), deps });
    const err = await run.then(
      (r) => {
        throw new Error(`expected a thrown error, got ${JSON.stringify(r)}`);
      },
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(TransientError);
    expect(err.message).toMatch(/^generate: .*status store unavailable.* \(3 polls in a row\)$/s);
    // The run is not cancelled: the redelivery resumes it by its request id.
    expect(server.predictions).toHaveLength(1);
    expect(server.predictions[0]!.canceled).toBe(false);
  });
});

describe('fal generations (real @fal-ai/client, local fal queue)', () => {
  async function falServer(opts: Partial<Parameters<typeof startFakeFalServer>[0]> = {}) {
    const s = await startFakeFalServer({ key: FAL_KEY, videoFile: video, ...opts });
    closers.push(() => s.close());
    return s;
  }

  it('runs an avatar model: files from the store hosted on fal storage, submitted with the webhook URL, polled, stored', async () => {
    const server = await falServer();
    const { event, deps, blobs, jobId } = await setup({
      model: 'fal-ai/infinitalk',
      params: { audio: 'uploads/voice.wav', image: 'uploads/face.png' },
      fal: server,
      webhooks: true,
    });
    await copyFile(speech, join(dir, 'voice-copy.wav'));
    await copyFile(image, join(dir, 'face-copy.png'));
    await blobs.putFile('uploads/voice.wav', join(dir, 'voice-copy.wav'));
    await blobs.putFile('uploads/face.png', join(dir, 'face-copy.png'));
    const ctx = recordingContext();
    expect(await handleGenerationRequested({ e: event, ctx, deps })).toEqual({ outcome: 'ok' });

    const [r] = server.requests;
    expect(r!.model).toBe('fal-ai/infinitalk');
    expect(r!.webhookUrl).toMatch(
      new RegExp(`^https://reelbus.example.com/v1/webhooks/fal\\?job=${jobId}&token=`),
    );
    expect(r!.input).toMatchObject({
      image_url: expect.stringMatching(new RegExp(`^${server.url}/files/`)),
      audio_url: expect.stringMatching(new RegExp(`^${server.url}/files/`)),
      prompt: expect.any(String),
    });
    expect([...server.uploads.values()].every((size) => size > 0)).toBe(true);
    const done = ctx.published.find((p) => p.type === 'job.completed')!.data as {
      outputs: Record<string, { key: string; durationSec: number }>;
    };
    expect(done.outputs.video).toMatchObject({ key: `jobs/${jobId}/generate/video.mp4` });
    expect(done.outputs.video!.durationSec).toBeCloseTo(1, 1);
    expect(done.outputs.poster).toMatchObject({ key: `jobs/${jobId}/generate/poster.jpg` });
  });

  it("fails with the model's own message (fal's error and its detail)", async () => {
    const server = await falServer({ behaviour: () => 'error' });
    const { event, deps } = await setup({
      model: 'kling-1.6-i2v',
      params: { prompt: 'a boat', image: 'https://example.com/broken.png' },
      fal: server,
    });
    const outcome = await handleGenerationRequested({ e: event, ctx: recordingContext(), deps });
    expect(outcome).toMatchObject({ outcome: 'fail', step: 'generate' });
    expect((outcome as { reason: string }).reason).toMatch(
      /^fal fal-ai\/kling-video\/v1.6\/standard\/image-to-video: fal result of .* HTTP 422 .*body\.image_url: Could not load the image from the URL \(fake\)/,
    );
  });

  it('cancels the fal request when the job is cancelled', async () => {
    const server = await falServer({ behaviour: () => 'hang' });
    const { event, deps, jobs, jobId } = await setup({
      model: 'fal-flux-schnell',
      params: { prompt: 'never mind' },
      fal: server,
    });
    const run = handleGenerationRequested({ e: event, ctx: recordingContext(), deps });
    await vi.waitFor(() => expect(server.requests[0]?.polls).toBeGreaterThanOrEqual(1), { timeout: 30_000 });
    await jobs.update(jobId, (j) => ({ ...j, cancel: { requestedAt: new Date().toISOString() } }));
    expect(await run).toMatchObject({ outcome: 'skip' });
    expect(server.requests[0]!.cancelled).toBe(true);
    expect(server.calls).toContain(`PUT /fal-ai/flux/requests/${server.requests[0]!.id}/cancel`);
  });
});

describe('ElevenLabs generations (real SDK, local ElevenLabs protocol)', () => {
  it('stores the speech and its alignment.json, and records the billed characters as the cost', async () => {
    const server = await startFakeElevenLabsServer({ apiKey: 'xi-key', costPerChar: 1 });
    closers.push(() => server.close());
    const text = 'The keeper lit the lamp. The ships went by.';
    const { event, deps, blobs, jobs, jobId } = await setup({
      model: 'elevenlabs-multilingual-v2',
      params: { text },
    });
    deps.providers = { elevenlabs: createElevenLabsProvider({ apiKey: 'xi-key', baseUrl: server.url }) };
    const ctx = recordingContext();
    expect(await handleGenerationRequested({ e: event, ctx, deps })).toEqual({ outcome: 'ok' });
    const done = ctx.published.find((p) => p.type === 'job.completed')!.data as {
      outputs: Record<string, { key: string; durationSec: number; contentType?: string }>;
    };
    expect(done.outputs.audio).toMatchObject({
      key: `jobs/${jobId}/generate/audio.mp3`,
      contentType: 'audio/mpeg',
    });
    expect(done.outputs.audio!.durationSec).toBeCloseTo(text.length * server.secPerChar, 1);
    expect(done.outputs.alignment).toMatchObject({
      key: `jobs/${jobId}/generate/alignment.json`,
      contentType: 'application/json',
    });
    const chunks: Buffer[] = [];
    for await (const c of await blobs.get(done.outputs.alignment!.key)) chunks.push(c as Buffer);
    const stored = JSON.parse(Buffer.concat(chunks).toString()) as {
      alignment: { characters: string[] };
    };
    expect(stored.alignment.characters.join('')).toBe(text);
    // $0.30 per 1000 characters (infra/models.yaml), billed as ElevenLabs' character-cost said
    expect((await jobs.get(jobId))?.cost).toMatchObject({
      backend: 'elevenlabs',
      actualUsd: Math.round(((0.3 * text.length) / 1000) * 1e6) / 1e6,
    });
  });
});

// The same handler against the real services, when their keys are set (skipped otherwise: no key here).
// Polling only: a real provider cannot reach this machine's webhook URL.
const live = (deps: GenerationDeps) => {
  deps.poll = { initialMs: 1_000, maxMs: 5_000, timeoutMs: 300_000, maxErrors: 5 };
  deps.retryBaseMs = 1_000;
};

describe.runIf(Boolean(process.env.REPLICATE_API_TOKEN))(
  'Replicate itself (REPLICATE_API_TOKEN is set)',
  () => {
    it('runs flux-schnell by polling, stores the image with its size, records predict_time', async () => {
      const { event, deps, jobs, jobId } = await setup({
        model: 'flux-schnell',
        params: { prompt: 'a lighthouse at dusk, watercolour', aspectRatio: '16:9', seed: 7 },
      });
      live(deps);
      deps.providers = { replicate: createReplicateProvider({ token: process.env.REPLICATE_API_TOKEN! }) };
      const ctx = recordingContext();
      expect(await handleGenerationRequested({ e: event, ctx, deps })).toEqual({ outcome: 'ok' });
      const done = ctx.published.find((p) => p.type === 'job.completed')!.data as {
        outputs: Record<string, { key: string; width?: number; height?: number }>;
      };
      expect(done.outputs.image).toMatchObject({ key: `jobs/${jobId}/generate/image.png` });
      expect(done.outputs.image!.width! / done.outputs.image!.height!).toBeCloseTo(16 / 9, 1);
      expect(done.outputs.poster).toBeDefined();
      expect((await jobs.get(jobId))?.cost).toMatchObject({ backend: 'replicate', actualUsd: 0.003 });
    }, 330_000);

    it('cancels a prediction at Replicate', async () => {
      const provider = createReplicateProvider({ token: process.env.REPLICATE_API_TOKEN! });
      const model = registry.get('flux-schnell');
      const signal = AbortSignal.timeout(60_000);
      const { requestId } = await provider.submit({
        model,
        input: { prompt: 'never mind', num_outputs: 1 },
        webhookUrl: undefined,
        signal,
      });
      await provider.cancel({ model, requestId });
      // a cancel that raced a finished prediction leaves it succeeded; either way it has ended
      await vi.waitFor(
        async () =>
          expect(['canceled', 'succeeded']).toContain(
            (await provider.status({ model, requestId, signal })).state,
          ),
        { timeout: 60_000, interval: 1_000 },
      );
    }, 90_000);
  },
);

describe.runIf(Boolean(process.env.FAL_KEY))('fal.ai itself (FAL_KEY is set)', () => {
  it('runs fal-ai/flux/schnell by polling the queue and stores the image with its size', async () => {
    const { event, deps, jobs, jobId } = await setup({
      model: 'fal-flux-schnell',
      params: { prompt: 'a lighthouse at dusk, watercolour', imageSize: 'square', steps: 2, seed: 7 },
    });
    live(deps);
    deps.providers = { fal: createFalGenerationProvider({ credentials: process.env.FAL_KEY }) };
    const ctx = recordingContext();
    expect(await handleGenerationRequested({ e: event, ctx, deps })).toEqual({ outcome: 'ok' });
    const done = ctx.published.find((p) => p.type === 'job.completed')!.data as {
      outputs: Record<string, { key: string; width?: number; height?: number }>;
    };
    expect(done.outputs.image?.key).toMatch(new RegExp(`^jobs/${jobId}/generate/image\\.`));
    expect(done.outputs.image).toMatchObject({ width: 512, height: 512 });
    expect((await jobs.get(jobId))?.cost).toMatchObject({ backend: 'fal', actualUsd: 0.003 });
  }, 330_000);
});
