import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsBlobStore, probe, silentLogger } from '@reelbus/kit';
import { makeSpeech, makeVideo, probeFacts } from '@reelbus/kit/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_FACES, handleClipRequested, type ClipDeps } from '../handle-clip-requested.ts';
import { clipRequested, newRecordingContext } from '../testing/context.ts';
import { startFakeFalServer, type FakeBehaviour, type FakeFalServer } from '../testing/fake-fal-server.ts';
import { makeChannel } from '../testing/fixtures.ts';
import { createFalProvider, rewriteFalUrl, type FalProviderOptions } from './fal.ts';
import type { GenerateRequest } from './types.ts';

const KEY = 'test-key-id:test-secret';

function localFile(blobs: FsBlobStore, key: string): string {
  const path = blobs.localPath(key);
  if (!path) throw new Error(`no local path for ${key}`);
  return path;
}

describe('rewriteFalUrl', () => {
  it("sends fal's queue and storage hosts to the base URL, keeping path and query", () => {
    const baseUrl = 'http://127.0.0.1:9999/';
    expect(
      rewriteFalUrl({ url: 'https://queue.fal.run/fal-ai/infinitalk/requests/r1/status?logs=1', baseUrl }),
    ).toBe('http://127.0.0.1:9999/fal-ai/infinitalk/requests/r1/status?logs=1');
    expect(
      rewriteFalUrl({ url: 'https://rest.fal.ai/storage/upload/initiate?storage_type=fal-cdn-v3', baseUrl }),
    ).toBe('http://127.0.0.1:9999/storage/upload/initiate?storage_type=fal-cdn-v3');
    expect(rewriteFalUrl({ url: 'https://v3.fal.media/files/x.mp4', baseUrl })).toBe(
      'https://v3.fal.media/files/x.mp4',
    );
  });
});

describe('fal provider against a local server speaking fal’s queue protocol', () => {
  let dir: string;
  let video: string;
  let speech: string;
  let server: FakeFalServer | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aigen-fal-'));
    // the "model output": 2 s at 30 fps and another size, so normalising and padding are exercised
    video = await makeVideo({
      file: join(dir, 'model-output.mp4'),
      seconds: 2,
      width: 480,
      height: 480,
      fps: 30,
    });
    speech = await makeSpeech({
      text: 'Hello, this is the caller speaking about my order.',
      file: join(dir, 'caller.wav'),
      sampleRate: 48_000,
    });
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const start = async (behaviour: (n: number) => FakeBehaviour) => {
    server = await startFakeFalServer({ key: KEY, videoFile: video, behaviour });
    return server;
  };
  const provider = (s: FakeFalServer, over: Partial<FalProviderOptions> = {}) =>
    createFalProvider({
      credentials: KEY,
      model: 'fal-ai/infinitalk',
      baseUrl: s.url,
      timeoutMs: 20_000,
      retries: 2,
      retryBaseMs: 20,
      pollIntervalMs: 30,
      prompt: 'A person talking',
      ...over,
    });
  const request = async (outName: string): Promise<GenerateRequest> => {
    const outDir = join(dir, outName);
    await mkdir(outDir, { recursive: true });
    return {
      audioPath: speech,
      imagePath: BUNDLED_FACES.caller,
      durationSec: (await probe(speech)).durationSec,
      label: 'Caller',
      role: 'caller',
      outDir,
      signal: new AbortController().signal,
      logger: silentLogger(),
    };
  };
  const deps = async (
    p: ReturnType<typeof provider>,
    over: Partial<ClipDeps['settings']> = {},
  ): Promise<ClipDeps & { blobs: FsBlobStore }> => {
    const root = await mkdtemp(join(dir, 'blobs-'));
    return {
      blobs: new FsBlobStore({ root }),
      providers: { fal: p },
      defaultProvider: 'fal',
      settings: {
        width: 640,
        height: 720,
        segmentConcurrency: 2,
        defaultImages: BUNDLED_FACES,
        tmpDir: dir,
        ...over,
      },
    };
  };

  it('stores a clip as long as the channel, with the image and audio uploaded to fal storage', async () => {
    const s = await start(() => 'succeed');
    const d = await deps(provider(s));
    await d.blobs.put('jobs/job-1/split/caller.wav', await readFile(speech));
    const ctx = newRecordingContext();
    const outcome = await handleClipRequested({
      e: clipRequested({
        role: 'caller',
        label: 'Caller',
        audioKey: 'jobs/job-1/split/caller.wav',
        durationSec: 3,
        expectedClips: 2,
      }),
      ctx,
      deps: d,
    });
    expect(outcome).toEqual({ outcome: 'ok' });
    expect(s.requests).toHaveLength(1);
    const input = s.requests[0]?.input ?? {};
    expect(Object.keys(input).sort()).toEqual(['audio_url', 'image_url', 'prompt']);
    expect(String(input.audio_url)).toMatch(new RegExp(`^${s.url}/files/.+\\.wav$`));
    expect([...s.uploads.values()].every((size) => size > 1000)).toBe(true);

    const file = localFile(d.blobs, 'jobs/job-1/clips/caller.mp4');
    const facts = probeFacts(file);
    const channel = (await probe(speech)).durationSec;
    expect(facts.video).toMatchObject({ codec: 'h264', width: 640, height: 720, fps: 25 });
    expect(Math.abs(facts.durationSec - channel)).toBeLessThanOrEqual(0.04);
    expect(ctx.published).toHaveLength(1);
    expect(ctx.published[0]).toMatchObject({
      type: 'clip.generated',
      id: 'clip.generated:job-1:caller',
      data: {
        role: 'caller',
        key: 'jobs/job-1/clips/caller.mp4',
        provider: 'fal',
        placeholder: false,
        width: 640,
        height: 720,
        expectedClips: 2,
      },
    });
    expect(ctx.warnings).toEqual([]);
  });

  it('retries after a failed request and succeeds on the second', async () => {
    const s = await start((n) => (n === 1 ? 'fail' : 'succeed'));
    const clip = await provider(s).generate(await request('retry'));
    expect(s.requests.map((r) => r.behaviour)).toEqual(['fail', 'succeed']);
    expect(probeFacts(clip.file).video?.codec).toBe('h264');
  });

  it("fails with 'timed out' and cancels the request when the model never completes", async () => {
    const s = await start(() => 'hang');
    const started = Date.now();
    await expect(provider(s, { timeoutMs: 800 }).generate(await request('timeout'))).rejects.toThrow(
      /generate: fal model fal-ai\/infinitalk timed out after 800 ms/,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(s.requests.at(-1)?.cancelled).toBe(true);
  });

  it('cancels the fal request when the job is cancelled (the handler signal aborts), without retrying', async () => {
    const s = await start(() => 'hang');
    const req = await request('job-cancel');
    const ctl = new AbortController();
    const generating = provider(s)
      .generate({ ...req, signal: ctl.signal })
      .catch((e: unknown) => e);
    // once the client polls, it holds the request id (a cancel during the submit itself has none to name)
    while (!s.calls.some((c) => c.endsWith('/status'))) await new Promise((r) => setTimeout(r, 10));
    ctl.abort(new Error('job job-cancel was cancelled'));
    const err = (await generating) as Error;
    expect(err.message).toBe('job job-cancel was cancelled');
    expect(s.requests).toHaveLength(1); // a cancel is no failure to retry
    expect(s.requests[0]!.cancelled).toBe(true);
    expect(s.calls).toContain(`PUT /fal-ai/infinitalk/requests/${s.requests[0]!.id}/cancel`);
  });

  it("names the step, the model and fal's message when it fails for good, and a placeholder stands in", async () => {
    const s = await start(() => 'fail');
    await expect(provider(s).generate(await request('fail'))).rejects.toThrow(
      /generate: fal model fal-ai\/infinitalk request req-3 failed: HTTP 500 .*CUDA out of memory \(fake\) \(after 3 attempts\)/,
    );

    const d = await deps(provider(s));
    await d.blobs.put('jobs/job-2/split/callee.wav', await readFile(speech));
    const ctx = newRecordingContext();
    const outcome = await handleClipRequested({
      e: clipRequested(
        {
          role: 'callee',
          label: 'Callee',
          audioKey: 'jobs/job-2/split/callee.wav',
          durationSec: 3,
          expectedClips: 2,
        },
        'job-2',
      ),
      ctx,
      deps: d,
    });
    expect(outcome).toEqual({ outcome: 'ok' });
    expect(s.requests).toHaveLength(6);
    const published = ctx.published[0];
    expect(published).toMatchObject({
      type: 'clip.generated',
      id: 'clip.generated:job-2:callee',
      data: { placeholder: true },
    });
    expect((published?.data as { warning?: string }).warning).toMatch(
      /Callee side could not be generated with fal .*CUDA out of memory/,
    );
    expect(ctx.warnings).toHaveLength(1);
    expect(ctx.warnings[0]?.step).toBe('generate');
    const facts = probeFacts(localFile(d.blobs, 'jobs/job-2/clips/callee.mp4'));
    expect(facts.video).toMatchObject({ codec: 'h264', width: 640, height: 720 });
    expect(facts.audio?.codec).toBe('aac');
    expect(Math.abs(facts.durationSec - (await probe(speech)).durationSec)).toBeLessThanOrEqual(0.04);
  });

  it("segments a channel longer than the model's limit and joins the clips within one frame of it", async () => {
    const s = await start(() => 'succeed');
    const channel = await makeChannel({
      file: join(dir, 'long.wav'),
      phrases: [
        'Good morning, thanks for calling.',
        'Let me look up your order.',
        'It ships tomorrow by express.',
      ],
      pauseSec: 0.8,
    });
    const d = await deps(provider(s), { maxSegmentSec: 3.5 });
    await d.blobs.put('jobs/job-3/split/callee.wav', await readFile(channel));
    const ctx = newRecordingContext();
    await handleClipRequested({
      e: clipRequested(
        {
          role: 'callee',
          label: 'Callee',
          audioKey: 'jobs/job-3/split/callee.wav',
          durationSec: 8,
          expectedClips: 2,
        },
        'job-3',
      ),
      ctx,
      deps: d,
    });
    const data = ctx.published[0]?.data as { segments: number; placeholder: boolean; durationSec: number };
    expect(data.placeholder).toBe(false);
    expect(data.segments).toBeGreaterThanOrEqual(2);
    expect(s.requests).toHaveLength(data.segments);
    const facts = probeFacts(localFile(d.blobs, 'jobs/job-3/clips/callee.mp4'));
    expect(Math.abs(facts.durationSec - (await probe(channel)).durationSec)).toBeLessThanOrEqual(0.04);
  });
});

// The same success case against the real fal.ai when a key is set (costs money; takes minutes).
describe.runIf(Boolean(process.env.FAL_KEY))('fal provider against fal.ai', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aigen-falreal-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('generates a talking clip for a short channel', { timeout: 900_000 }, async () => {
    const speech = await makeSpeech({
      text: 'Hello, this is a short test of the reelbus avatar.',
      file: join(dir, 'a.wav'),
      sampleRate: 48_000,
    });
    const p = createFalProvider({
      credentials: process.env.FAL_KEY,
      model: process.env.FAL_MODEL ?? 'fal-ai/infinitalk',
      baseUrl: process.env.FAL_BASE_URL,
      timeoutMs: 600_000,
      retries: 1,
      retryBaseMs: 1000,
      pollIntervalMs: 2000,
      prompt: 'A friendly person talking to the camera.',
    });
    const clip = await p.generate({
      audioPath: speech,
      imagePath: BUNDLED_FACES.caller,
      durationSec: (await probe(speech)).durationSec,
      label: 'Caller',
      role: 'caller',
      outDir: dir,
      signal: new AbortController().signal,
      logger: silentLogger(),
    });
    expect(probeFacts(clip.file).video?.codec).toBeDefined();
    expect(clip.durationSec).toBeGreaterThan(1);
  });
});
