import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Timeline, type EventOf } from '@reelbus/contracts';
import { FsBlobStore, PermanentError } from '@reelbus/kit';
import { probeFacts } from '@reelbus/kit/testing';
import { deliveredClipKey } from './clips-fallback.ts';
import { renderTimelineEvent } from './handle-timeline.ts';
import { makeClip } from './merge/testing.ts';
import type { EncoderBackend } from './render.ts';
import { fakeHandlerContext } from './testing.ts';

/*
 * Partial results for calls (issue 15 §3): the final encode fails for good, the call completes with
 * each speaker's clip (real MP4s, copied to output keys and probed) and `fallback: clips_only`.
 */

let dir: string;
let blobs: FsBlobStore;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelbus-clips-fallback-'));
  blobs = new FsBlobStore({ root: join(dir, 'blobs') });
  for (const role of ['caller', 'callee']) {
    const file = makeClip({ file: join(dir, `${role}.mp4`), seconds: 2, width: 320, height: 240 });
    await blobs.putFile(`jobs/call1/clips/${role}.mp4`, file, { retention: 'intermediate' });
  }
}, 60_000);
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const failing: EncoderBackend = {
  name: 'ffmpeg',
  async render() {
    throw new PermanentError('the split-screen filter graph is invalid');
  },
};

function callTimeline(jobId: string, outputs: Record<string, string> | undefined): EventOf<'timeline.ready'> {
  return {
    id: `timeline.ready:${jobId}`,
    type: 'timeline.ready',
    version: 1,
    jobId,
    occurredAt: new Date().toISOString(),
    data: {
      kind: 'call',
      timeline: Timeline.parse({ version: 1, duration: 2 }),
      ...(outputs ? { fallback: { type: 'clips_only' as const, outputs } } : {}),
    },
  };
}

describe('a call whose final encode fails for good', () => {
  it('completes with fallback clips_only and each speaker clip as a named, probed output', async () => {
    const ctx = fakeHandlerContext();
    const outcome = await renderTimelineEvent({
      event: callTimeline('call1', {
        caller: 'jobs/call1/clips/caller.mp4',
        callee: 'jobs/call1/clips/callee.mp4',
      }),
      ctx,
      deps: {
        backends: new Map([['ffmpeg', failing]]),
        defaultBackend: 'ffmpeg',
        fallback: { blobs, tmpDir: join(dir, 'tmp') },
      },
    });
    expect(outcome).toEqual({ outcome: 'ok' });
    const completed = ctx.published.find((p) => p.type === 'job.completed');
    expect(completed?.id).toBe('job.completed:call1');
    const data = completed!.data as {
      outputs: Record<string, { key: string; durationSec: number; sizeBytes: number; width: number }>;
      fallback: string;
      fallbackReason: string;
    };
    expect(data.fallback).toBe('clips_only');
    expect(data.fallbackReason).toBe('encode (ffmpeg) failed: the split-screen filter graph is invalid');
    expect(Object.keys(data.outputs).sort()).toEqual(['callee', 'caller']);
    for (const role of ['caller', 'callee']) {
      const out = data.outputs[role]!;
      expect(out).toMatchObject({
        key: deliveredClipKey('call1', role),
        width: 320,
        contentType: 'video/mp4',
      });
      const facts = probeFacts(blobs.localPath(out.key)!);
      expect(facts.video).toMatchObject({ codec: 'h264', width: 320, height: 240 });
      expect(out.durationSec).toBeCloseTo(facts.durationSec, 1);
      // Delivered clips are outputs (kept by retention); the originals stay intermediates.
      expect(await blobs.retentionOf(out.key)).toBe('output');
      expect(await blobs.retentionOf(`jobs/call1/clips/${role}.mp4`)).toBe('intermediate');
    }
    expect(ctx.published.some((p) => p.type === 'video.encoded')).toBe(false);
  }, 60_000);

  it('fails normally when there are no clips to fall back on (a call drawn in one pass)', async () => {
    const ctx = fakeHandlerContext();
    const outcome = await renderTimelineEvent({
      event: callTimeline('call2', undefined),
      ctx,
      deps: {
        backends: new Map([['ffmpeg', failing]]),
        defaultBackend: 'ffmpeg',
        fallback: { blobs, tmpDir: join(dir, 'tmp') },
      },
    });
    expect(outcome).toEqual({
      outcome: 'fail',
      step: 'encode',
      reason: 'the split-screen filter graph is invalid',
    });
  });

  it('fails with both reasons when a clip is gone', async () => {
    const ctx = fakeHandlerContext();
    const outcome = await renderTimelineEvent({
      event: callTimeline('call3', { caller: 'jobs/call3/clips/caller.mp4' }),
      ctx,
      deps: {
        backends: new Map([['ffmpeg', failing]]),
        defaultBackend: 'ffmpeg',
        fallback: { blobs, tmpDir: join(dir, 'tmp') },
      },
    });
    expect(outcome).toMatchObject({ outcome: 'fail', step: 'encode' });
    expect((outcome as { reason: string }).reason).toMatch(
      /^encode \(ffmpeg\) failed: the split-screen filter graph is invalid; delivering the speaker clips failed too: .*jobs\/call3\/clips\/caller\.mp4/,
    );
  });
});
