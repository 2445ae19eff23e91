// The encoder writes HLS after the MP4 when the Timeline's output.formats asks for it, and puts it on
// video.encoded as outputs.hls (the notifier copies it into the job's outputs).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Timeline } from '@reelbus/contracts';
import { FsBlobStore, probe } from '@reelbus/kit';
import { renderTimelineEvent, wantsHls } from '../handle-timeline.ts';
import { makeClip } from '../merge/testing.ts';
import type { EncoderBackend } from '../render.ts';
import { fakeHandlerContext } from '../testing.ts';
import { packageHlsOfBlob } from './package.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'reelbus-hls-handler-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('HLS after the render', () => {
  it('is asked for by output.formats including "hls" (and read tolerantly while the schema lacks it)', () => {
    expect(wantsHls({ output: { formats: ['mp4', 'hls'] } })).toBe(true);
    expect(wantsHls({ output: { formats: ['mp4'] } })).toBe(false);
    expect(wantsHls({ output: {} })).toBe(false);
    expect(wantsHls(undefined)).toBe(false);
  });

  it('writes jobs/<id>/hls/ from the final MP4 and publishes it as outputs.hls', async () => {
    const blobs = new FsBlobStore({ root: join(dir, 'blobs') });
    const rendered = makeClip({ file: join(dir, 'final.mp4'), seconds: 3, width: 320, height: 240 });
    // A backend standing in for the render: it stores a real MP4 where the render would.
    const backend: EncoderBackend = {
      name: 'ffmpeg',
      async render({ jobId }) {
        const key = `jobs/${jobId}/final.mp4`;
        const media = await probe(rendered);
        await blobs.putFile(key, rendered, { contentType: 'video/mp4' });
        return { key, media, encodeSeconds: 0.1 };
      },
    };
    const timeline = { ...Timeline.parse({ version: 1, duration: 3 }) };
    (timeline.output as Record<string, unknown>).formats = ['mp4', 'hls'];
    const ctx = fakeHandlerContext();
    const outcome = await renderTimelineEvent({
      event: {
        id: 'timeline.ready:job_t',
        type: 'timeline.ready',
        version: 1,
        jobId: 'job_t',
        occurredAt: new Date().toISOString(),
        data: { kind: 'render', timeline },
      },
      ctx,
      deps: {
        backends: new Map([['ffmpeg', backend]]),
        defaultBackend: 'ffmpeg',
        hls: (req) => packageHlsOfBlob({ ...req, blobs, tmpDir: join(dir, 'tmp') }),
      },
    });
    expect(outcome).toEqual({ outcome: 'ok' });
    const encoded = ctx.published.find((p) => p.type === 'video.encoded');
    expect(encoded?.data).toMatchObject({
      key: 'jobs/job_t/final.mp4',
      outputs: { hls: { key: 'jobs/job_t/hls/master.m3u8', contentType: 'application/vnd.apple.mpegurl' } },
    });
    expect((await blobs.list('jobs/job_t/hls/')).map((b) => b.key).sort()).toEqual([
      'jobs/job_t/hls/240p/index.m3u8',
      'jobs/job_t/hls/240p/init.mp4',
      'jobs/job_t/hls/240p/seg_000.m4s',
      'jobs/job_t/hls/master.m3u8',
    ]);
  }, 120_000);
});
