import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsBlobStore, probe } from '@reelbus/kit';
import { makeSpeech, probeFacts } from '@reelbus/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAiGeneratorEnv } from './config.ts';
import {
  BUNDLED_FACES,
  clipProviderName,
  handleClipRequested,
  type ClipDeps,
} from './handle-clip-requested.ts';
import { createLocalProvider } from './providers/local.ts';
import { clipRequested, newRecordingContext } from './testing/context.ts';

describe('handleClipRequested with the local provider', () => {
  let dir: string;
  let speech: Buffer;
  let speechSec: number;
  let deps: ClipDeps & { blobs: FsBlobStore };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aigen-handler-'));
    const file = await makeSpeech({
      text: 'Hi, it is me, calling back about the delivery.',
      file: join(dir, 'speech.wav'),
      sampleRate: 48_000,
    });
    speechSec = (await probe(file)).durationSec;
    speech = await readFile(file);
    deps = {
      blobs: new FsBlobStore({ root: join(dir, 'blobs') }),
      providers: { local: createLocalProvider({ width: 640, height: 720 }) },
      defaultProvider: 'local',
      settings: { width: 640, height: 720, segmentConcurrency: 2, defaultImages: BUNDLED_FACES, tmpDir: dir },
    };
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('stores the clip at jobs/<jobId>/clips/<role>.mp4 and publishes clip.generated with a deterministic id', async () => {
    await deps.blobs.put('jobs/j1/split/caller.wav', speech);
    const ctx = newRecordingContext();
    const outcome = await handleClipRequested({
      e: clipRequested(
        {
          role: 'caller',
          label: 'Caller',
          audioKey: 'jobs/j1/split/caller.wav',
          durationSec: speechSec,
          expectedClips: 2,
        },
        'j1',
      ),
      ctx,
      deps,
    });
    expect(outcome).toEqual({ outcome: 'ok' });
    const facts = probeFacts(join(dir, 'blobs', 'jobs/j1/clips/caller.mp4'));
    expect(facts.video).toMatchObject({ codec: 'h264', width: 640, height: 720 });
    expect(ctx.published).toEqual([
      {
        type: 'clip.generated',
        jobId: 'j1',
        id: 'clip.generated:j1:caller',
        data: expect.objectContaining({
          role: 'caller',
          key: 'jobs/j1/clips/caller.mp4',
          provider: 'local',
          placeholder: false,
          segments: 1,
          width: 640,
          height: 720,
        }),
      },
    ]);
    const published = ctx.published[0]?.data as { durationSec: number };
    expect(Math.abs(published.durationSec - speechSec)).toBeLessThanOrEqual(0.04);
    expect(ctx.progressed[0]).toMatchObject({ step: 'generate', status: 'started' });
  });

  it('uses the default face with a warning when the job image is missing', async () => {
    await deps.blobs.put('jobs/j2/split/callee.wav', speech);
    const ctx = newRecordingContext();
    const outcome = await handleClipRequested({
      e: clipRequested(
        {
          role: 'callee',
          label: 'Callee',
          audioKey: 'jobs/j2/split/callee.wav',
          imageKey: 'jobs/j2/images/nope.png',
          durationSec: speechSec,
          expectedClips: 1,
        },
        'j2',
      ),
      ctx,
      deps,
    });
    expect(outcome).toEqual({ outcome: 'ok' });
    expect(ctx.warnings).toEqual([
      { step: 'generate', message: expect.stringContaining('jobs/j2/images/nope.png was not found') },
    ]);
    expect(ctx.published[0]?.data).toMatchObject({ placeholder: false });
  });

  it('fails the step with a reason naming the key when the audio is missing', async () => {
    const ctx = newRecordingContext();
    const outcome = await handleClipRequested({
      e: clipRequested(
        {
          role: 'caller',
          label: 'Caller',
          audioKey: 'jobs/j3/split/caller.wav',
          durationSec: 3,
          expectedClips: 2,
        },
        'j3',
      ),
      ctx,
      deps,
    });
    expect(outcome).toMatchObject({
      outcome: 'fail',
      step: 'generate',
      reason: expect.stringContaining('jobs/j3/split/caller.wav'),
    });
    expect(ctx.published).toEqual([]);
  });

  it('fails the step when the event asks for a provider this service does not run', async () => {
    const ctx = newRecordingContext();
    const outcome = await handleClipRequested({
      e: clipRequested(
        {
          role: 'caller',
          label: 'Caller',
          audioKey: 'jobs/j1/split/caller.wav',
          durationSec: 3,
          expectedClips: 2,
          provider: 'fal',
        },
        'j4',
      ),
      ctx,
      deps,
    });
    expect(outcome).toMatchObject({
      outcome: 'fail',
      step: 'generate',
      reason: expect.stringContaining('provider "fal"'),
    });
  });
});

describe('the provider of a test-mode clip (issue 15 §4)', () => {
  it('is the one the event names, else local for a test run, else AI_PROVIDER (pure)', () => {
    expect(clipProviderName({ named: undefined, defaultProvider: 'fal', testMode: true })).toBe('local');
    expect(clipProviderName({ named: 'fal', defaultProvider: 'fal', testMode: true })).toBe('fal');
    expect(clipProviderName({ named: undefined, defaultProvider: 'fal', testMode: false })).toBe('fal');
  });

  it('a test-mode clip.requested that names no provider is made by local on a fal stack', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aigen-testmode-'));
    try {
      const file = await makeSpeech({ text: 'Testing, one two.', file: join(dir, 'speech.wav') });
      const blobs = new FsBlobStore({ root: join(dir, 'blobs') });
      await blobs.putFile('jobs/jt/split/caller.wav', file);
      // AI_PROVIDER=fal, but this process runs no fal provider: only a test run can succeed here
      const deps: ClipDeps = {
        blobs,
        providers: { local: createLocalProvider({ width: 320, height: 360 }) },
        defaultProvider: 'fal',
        settings: {
          width: 320,
          height: 360,
          segmentConcurrency: 1,
          defaultImages: BUNDLED_FACES,
          tmpDir: dir,
        },
      };
      const e = clipRequested(
        {
          role: 'caller',
          label: 'Caller',
          audioKey: 'jobs/jt/split/caller.wav',
          durationSec: 1,
          expectedClips: 1,
        },
        'jt',
      );
      const real = await handleClipRequested({ e, ctx: newRecordingContext(), deps });
      expect(real).toMatchObject({ outcome: 'fail', reason: expect.stringContaining('provider "fal"') });
      const ctx = newRecordingContext({ testMode: true });
      expect(await handleClipRequested({ e, ctx, deps })).toEqual({ outcome: 'ok' });
      expect(ctx.published[0]).toMatchObject({
        type: 'clip.generated',
        testMode: true,
        data: { provider: 'local', placeholder: false },
      });
      expect(probeFacts(join(dir, 'blobs', 'jobs/jt/clips/caller.mp4')).video).toMatchObject({
        codec: 'h264',
        width: 320,
        height: 360,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('ai-generator config', () => {
  it('defaults to the offline local provider at 640x720', () => {
    const c = loadAiGeneratorEnv({});
    expect(c).toMatchObject({
      AI_PROVIDER: 'local',
      FAL_MODEL: 'fal-ai/infinitalk',
      FAL_TIMEOUT_MS: 600_000,
      FAL_RETRIES: 2,
      CLIP_WIDTH: 640,
      CLIP_HEIGHT: 720,
      SEGMENT_CONCURRENCY: 2,
    });
  });

  it('asks for FAL_KEY when AI_PROVIDER=fal', () => {
    expect(() => loadAiGeneratorEnv({ AI_PROVIDER: 'fal' })).toThrow(
      /FAL_KEY: is required when AI_PROVIDER=fal/,
    );
    expect(loadAiGeneratorEnv({ AI_PROVIDER: 'fal', FAL_KEY: 'k' }).AI_PROVIDER).toBe('fal');
  });

  it('names each variable with a bad value', () => {
    expect(() => loadAiGeneratorEnv({ FAL_RETRIES: 'many', CLIP_WIDTH: '10' })).toThrow(
      /FAL_RETRIES: must be a whole number \(got "many"\)[\s\S]*CLIP_WIDTH: must be at least 64/,
    );
  });
});
