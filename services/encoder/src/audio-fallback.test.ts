import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Timeline, type EventOf, type JobKind } from '@reelbus/contracts';
import { FsBlobStore, TransientError } from '@reelbus/kit';
import { isFaststart, makeImage, makeSpeech, probeFacts } from '@reelbus/kit/testing';
import { parseChildrenCpuSeconds } from './child-cpu.ts';
import { renderTimelineEvent, type TimelineRenderDeps } from './handle-timeline.ts';
import { FfmpegBackend, type EncoderBackend } from './render.ts';
import { fakeHandlerContext, storyTimelineInput } from './testing.ts';

let dir: string;
let blobs: FsBlobStore;
let voiceSeconds: number;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelbus-fallback-'));
  blobs = new FsBlobStore({ root: join(dir, 'blobs') });
  const voice = await makeSpeech({
    file: join(dir, 'src', 'voice.wav'),
    text: 'This story will be heard, not seen.',
  });
  voiceSeconds = probeFacts(voice).durationSec;
  await blobs.putFile('jobs/st/audio/voice.wav', voice);
  await blobs.putFile(
    'brand/logo.png',
    await makeImage({ file: join(dir, 'src', 'logo.png'), width: 64, height: 64 }),
  );
}, 60_000);
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function event(jobId: string, kind: JobKind, imageKeys: string[]): EventOf<'timeline.ready'> {
  const timeline = Timeline.parse(
    storyTimelineInput({
      voiceKey: 'jobs/st/audio/voice.wav',
      imageKeys,
      logoKey: 'brand/logo.png',
      storySeconds: 2,
    }),
  );
  return {
    id: `timeline.ready:${jobId}`,
    type: 'timeline.ready',
    version: 1,
    jobId,
    occurredAt: new Date().toISOString(),
    data: { kind, timeline },
  };
}

/** A backend whose render always fails transiently (e.g. MediaConvert down, ffmpeg crashing). */
const broken: EncoderBackend = {
  name: 'broken',
  render: () => Promise.reject(new TransientError('encoder exploded (exit 139)', { step: 'encode' })),
};
const deps = (backend: EncoderBackend): TimelineRenderDeps => ({
  backends: new Map([[backend.name, backend]]),
  defaultBackend: backend.name,
  fallback: { blobs, tmpDir: join(dir, 'tmp') },
});

describe('audio-only fallback', () => {
  it('delivers a story as a playable m4a of its voice when the render fails on the last attempt', async () => {
    const ctx = fakeHandlerContext();
    Object.assign(ctx, { lastAttempt: true, deliveryCount: 5 });
    const warnings: string[] = [];
    ctx.warn = async (_step, message) => void warnings.push(message);
    const outcome = await renderTimelineEvent({ event: event('st1', 'story', []), ctx, deps: deps(broken) });
    expect(outcome).toEqual({ outcome: 'ok' }); // acked, not dead-lettered

    const done = ctx.published.find((p) => p.type === 'job.completed')!;
    expect(done.id).toBe('job.completed:st1');
    const data = done.data as {
      outputs: { audio: { key: string; durationSec: number; sizeBytes: number } };
      fallback: string;
      fallbackReason: string;
    };
    expect(data.fallback).toBe('audio_only');
    expect(data.fallbackReason).toBe('encode (broken) failed: encoder exploded (exit 139)');
    expect(data.outputs.audio.key).toBe('jobs/st1/final-audio.m4a');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('encoder exploded');

    const file = blobs.localPath(data.outputs.audio.key)!;
    const facts = probeFacts(file);
    expect(facts.audio).toEqual({ codec: 'aac', profile: 'LC', sampleRate: 48000, channels: 2 });
    expect(facts.video).toBeUndefined();
    expect(isFaststart(file)).toBe(true);
    expect(Math.abs(data.outputs.audio.durationSec - voiceSeconds)).toBeLessThan(0.1);
    expect(data.outputs.audio.sizeBytes).toBeGreaterThan(1000);
    expect(ctx.published.some((p) => p.type === 'video.encoded')).toBe(false);
  }, 60_000);

  it('retries a story render that fails before the last attempt', async () => {
    const ctx = fakeHandlerContext();
    await expect(
      renderTimelineEvent({ event: event('st2', 'story', []), ctx, deps: deps(broken) }),
    ).rejects.toThrow(/encoder exploded/);
    expect(ctx.published.some((p) => p.type === 'job.completed')).toBe(false);
  });

  it('falls back at once when ffmpeg cannot render the story at all (a permanent render error)', async () => {
    const ctx = fakeHandlerContext();
    const ffmpeg = new FfmpegBackend({ blobs, tmpDir: join(dir, 'tmp') });
    // an image the Timeline names but nobody uploaded
    const outcome = await renderTimelineEvent({
      event: event('st3', 'story', ['jobs/st3/images/missing.png']),
      ctx,
      deps: deps(ffmpeg),
    });
    expect(outcome).toEqual({ outcome: 'ok' });
    const done = ctx.published.find((p) => p.type === 'job.completed')!.data as {
      fallback: string;
      fallbackReason: string;
    };
    expect(done.fallback).toBe('audio_only');
    expect(done.fallbackReason).toMatch(
      /encode \(ffmpeg\) failed: tracks\[1\]\.clips\[0\]\.source\.key: "jobs\/st3\/images\/missing\.png" is not in blob storage/,
    );
    expect(probeFacts(blobs.localPath('jobs/st3/final-audio.m4a')!).audio?.codec).toBe('aac');
  }, 60_000);

  it('keeps failing a call normally: no audio-only fallback', async () => {
    const ctx = fakeHandlerContext();
    Object.assign(ctx, { lastAttempt: true });
    await expect(
      renderTimelineEvent({ event: event('c1', 'call', []), ctx, deps: deps(broken) }),
    ).rejects.toThrow(/encoder exploded/);
    expect(ctx.published).toEqual([]);
    expect(await blobs.stat('jobs/c1/final-audio.m4a')).toBeUndefined();
  });
});

describe('encode CPU seconds', () => {
  it('reads the reaped children’s CPU time from a /proc stat line, even with a spaced process name', () => {
    // fields: pid (comm) state ppid … utime(14) stime(15) cutime(16) cstime(17)
    const line = '4242 (node worker (1)) S 1 2 3 4 5 6 7 8 9 10 11 12 250 130 17 18 19';
    expect(parseChildrenCpuSeconds(line)).toBeCloseTo(3.8, 6);
  });

  it('reports the CPU seconds of an ffmpeg render in video.encoded', async () => {
    const ctx = fakeHandlerContext();
    const ffmpeg = new FfmpegBackend({ blobs, tmpDir: join(dir, 'tmp'), preset: 'veryfast' });
    const ev = event('cpu1', 'call', []);
    await renderTimelineEvent({ event: ev, ctx, deps: deps(ffmpeg) });
    const data = ctx.published.find((p) => p.type === 'video.encoded')!.data as {
      cpuSeconds: number;
      encodeSeconds: number;
    };
    // a 1080p encode burns real CPU; on 2 cores it cannot use more than ~2× wall time (+ tick rounding)
    expect(data.cpuSeconds).toBeGreaterThan(0.05);
    expect(data.cpuSeconds).toBeLessThanOrEqual(data.encodeSeconds * 2 + 0.2);
  }, 60_000);
});
