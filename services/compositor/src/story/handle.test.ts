import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  newJob,
  StoryReceivedV1,
  type EventDataInput,
  type EventOf,
  type Timeline,
} from '@reelbus/contracts';
import { FsBlobStore, TransientError, musicVariantKey, probe } from '@reelbus/kit';
import { fakeHandlerContext, MemoryJobStore, type Published } from '../testing.ts';
import { DEFAULT_LOGO_KEY } from './brand.ts';
import { collectStoryAudio, collectStoryImages, type StoryDeps } from './handle.ts';

const dir = mkdtempSync(join(tmpdir(), 'story-handle-'));
const blobs = new FsBlobStore({ root: dir });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A library with two family tracks (content does not matter to the choice).
for (const track of ['Porch-Light', 'Sunday-Table'])
  for (const seconds of [30, 60, 240])
    await blobs.put(musicVariantKey({ mood: 'family', track, seconds }), 'mp3');
await blobs.put('brand/acme.png', 'png');

function audioNormalized(jobId: string, durationSec = 8.2): EventOf<'audio.normalized'> {
  return {
    id: `audio.normalized:${jobId}`,
    type: 'audio.normalized',
    version: 1,
    jobId,
    occurredAt: new Date().toISOString(),
    data: {
      sourceKey: `jobs/${jobId}/input/audio.wav`,
      key: `jobs/${jobId}/normalize/voice.wav`,
      durationSec,
      sampleRate: 48000,
      channels: 1,
      startSec: 0,
    },
  };
}

function imagesConverted(jobId: string, n: number, usedFallback = false): EventOf<'images.converted'> {
  return {
    id: `images.converted:${jobId}`,
    type: 'images.converted',
    version: 1,
    jobId,
    occurredAt: new Date().toISOString(),
    data: {
      images: Array.from({ length: n }, (_, i) => ({
        key: `jobs/${jobId}/images/${i}.png`,
        width: 2304,
        height: 1296,
        origin: i === 0 ? 'userPhoto' : `images[${i - 1}]`,
      })),
      skipped: [],
      usedFallback,
    },
  };
}

let jobs: MemoryJobStore;
let published: Published[];
let deps: StoryDeps;

async function makeJob(id: string, input: Partial<EventDataInput<'story.received'>> = {}) {
  const data = StoryReceivedV1.data.parse({ audio: { key: `jobs/${id}/input/audio.wav` }, ...input });
  await jobs.create(newJob({ id, kind: 'story', input: data }));
}

const timelines = () => published.filter((p) => p.type === 'timeline.ready');
const timelineOf = (p: Published) => (p.data as { timeline: Timeline }).timeline;

beforeEach(() => {
  jobs = new MemoryJobStore();
  published = [];
  deps = { jobs, blobs };
});

describe('story fan-in', () => {
  it('publishes one timeline.ready once both the voice and the images are in, whichever comes first', async () => {
    for (const order of [
      ['audio', 'images'],
      ['images', 'audio'],
    ] as const) {
      const jobId = `story_${order[0]}_first`;
      await makeJob(jobId, { brand: { logo: { key: 'brand/acme.png' } }, backend: 'mediaconvert' });
      for (const part of order) {
        const ctx = fakeHandlerContext({ published });
        if (part === 'audio') await collectStoryAudio({ event: audioNormalized(jobId), ctx, deps });
        else await collectStoryImages({ event: imagesConverted(jobId, 3), ctx, deps });
      }
      const mine = timelines().filter((p) => p.jobId === jobId);
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({
        id: `timeline.ready:${jobId}`,
        data: { kind: 'story', backend: 'mediaconvert' },
      });
      const t = timelineOf(mine[0]!);
      expect(t.duration).toBeCloseTo(3 + 8.2 + 2, 3);
      expect(t.tracks.find((tr) => tr.name === 'images')!.clips).toHaveLength(3);
      expect(t.audio.find((a) => a.name === 'music')).toMatchObject({ gainDb: -25 });
      expect(t.audio.find((a) => a.name === 'music')!.source.key).toMatch(
        /^music\/family\/[^/]+\/[^/]+-30s\.mp3$/,
      );
      expect(t.tracks.find((tr) => tr.name === 'corner-logo')!.clips[0]).toMatchObject({
        source: { key: 'brand/acme.png' },
      });
    }
  });

  it('publishes exactly once when both parts land at the same moment on two replicas, and again only under the same id on redelivery', async () => {
    // Every update waits until both have read: the two CAS writes conflict and one re-applies.
    const waiting: Array<() => void> = [];
    jobs = new MemoryJobStore(async () => {
      if (waiting.length === 0 && jobs.conflicts === 0) await new Promise<void>((r) => waiting.push(r));
      else for (const w of waiting.splice(0)) w();
    });
    deps = { jobs, blobs };
    await makeJob('story_race');
    await Promise.all([
      collectStoryAudio({
        event: audioNormalized('story_race'),
        ctx: fakeHandlerContext({ published }),
        deps,
      }),
      collectStoryImages({
        event: imagesConverted('story_race', 2),
        ctx: fakeHandlerContext({ published }),
        deps,
      }),
    ]);
    expect(jobs.conflicts).toBeGreaterThan(0);
    expect(timelines()).toHaveLength(1);
    const claimant = timelines()[0]!;

    // A redelivery of the claiming event publishes again under the same id (JetStream drops it); of the other, a skip.
    const claim = (await jobs.get('story_race'))!.state.timeline as { by: string };
    const redeliver = (which: 'audio' | 'images') =>
      which === 'audio'
        ? collectStoryAudio({
            event: audioNormalized('story_race'),
            ctx: fakeHandlerContext({ published }),
            deps,
          })
        : collectStoryImages({
            event: imagesConverted('story_race', 2),
            ctx: fakeHandlerContext({ published }),
            deps,
          });
    const claimantPart = claim.by.startsWith('audio') ? 'audio' : 'images';
    expect(await redeliver(claimantPart)).toEqual({ outcome: 'ok' });
    expect(await redeliver(claimantPart === 'audio' ? 'images' : 'audio')).toMatchObject({ outcome: 'skip' });
    expect(new Set(timelines().map((p) => p.id))).toEqual(new Set([claimant.id]));
    expect(timelines()).toHaveLength(2);
  });

  it('chooses the same music for the same story every time', async () => {
    const keys = [];
    for (let i = 0; i < 2; i++) {
      jobs = new MemoryJobStore();
      published = [];
      deps = { jobs, blobs };
      await makeJob('story_same_music');
      await collectStoryAudio({
        event: audioNormalized('story_same_music', 100),
        ctx: fakeHandlerContext({ published }),
        deps,
      });
      await collectStoryImages({
        event: imagesConverted('story_same_music', 1),
        ctx: fakeHandlerContext({ published }),
        deps,
      });
      keys.push(timelineOf(timelines()[0]!).audio.find((a) => a.name === 'music')!.source.key);
    }
    expect(keys[0]).toMatch(/-240s\.mp3$/);
    expect(keys[1]).toBe(keys[0]);
  });

  it('retries while the job document does not exist yet', async () => {
    await expect(
      collectStoryAudio({
        event: audioNormalized('story_unknown'),
        ctx: fakeHandlerContext({ published }),
        deps,
      }),
    ).rejects.toBeInstanceOf(TransientError);
  });

  it('warns and renders the voice only when the library has no music for the mood; none for mood none', async () => {
    await makeJob('story_no_tracks', { music: { mood: 'adventurous' } });
    const ctx = fakeHandlerContext({ published });
    await collectStoryAudio({ event: audioNormalized('story_no_tracks'), ctx, deps });
    await collectStoryImages({ event: imagesConverted('story_no_tracks', 1), ctx, deps });
    expect(ctx.warnings.map((w) => w.message).join('\n')).toContain('no tracks for mood "adventurous"');
    expect(timelineOf(timelines()[0]!).audio.map((a) => a.name)).toEqual(['voice']);

    await makeJob('story_silent', { music: { mood: 'none' } });
    const ctx2 = fakeHandlerContext({ published });
    await collectStoryAudio({ event: audioNormalized('story_silent'), ctx: ctx2, deps });
    await collectStoryImages({ event: imagesConverted('story_silent', 1), ctx: ctx2, deps });
    expect(ctx2.warnings).toEqual([]);
    expect(timelineOf(timelines().find((p) => p.jobId === 'story_silent')!).audio.map((a) => a.name)).toEqual(
      ['voice'],
    );
  });

  it('shows the logo-only fallback when no image survived conversion, with the default logo made on demand', async () => {
    await makeJob('story_fallback');
    const ctx = fakeHandlerContext({ published });
    await collectStoryAudio({ event: audioNormalized('story_fallback'), ctx, deps });
    await collectStoryImages({ event: imagesConverted('story_fallback', 1, true), ctx, deps });
    const t = timelineOf(timelines()[0]!);
    expect(t.tracks.find((tr) => tr.name === 'images')).toBeUndefined();
    expect(t.tracks.find((tr) => tr.name === 'logo-fallback')!.clips[0]).toMatchObject({
      source: { key: DEFAULT_LOGO_KEY },
    });
    expect(await blobs.stat(DEFAULT_LOGO_KEY)).toMatchObject({ key: DEFAULT_LOGO_KEY });
  });

  it('fetches a brand logo given as a URL, keeps its transparency, and falls back to the default logo when the host is private', async () => {
    const png = join(dir, 'served-logo.png');
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'color=c=red@0.5:s=64x32,format=rgba',
      '-frames:v',
      '1',
      '-y',
      png,
    ]);
    const server = createServer((req, res) => {
      if (req.url === '/logo.png') {
        res.writeHead(200, { 'content-type': 'image/png' });
        res.end(readFileSync(png));
      } else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/logo.png`;
    try {
      for (const allowPrivate of [true, false]) {
        const jobId = `story_logo_url_${allowPrivate}`;
        await makeJob(jobId, { brand: { logo: { url } } });
        const ctx = fakeHandlerContext({ published });
        const withFetch = { ...deps, brandFetch: { allowPrivate, timeoutMs: 5_000 } };
        await collectStoryAudio({ event: audioNormalized(jobId), ctx, deps: withFetch });
        await collectStoryImages({ event: imagesConverted(jobId, 2), ctx, deps: withFetch });
        const t = timelineOf(timelines().find((p) => p.jobId === jobId)!);
        const corner = t.tracks.find((tr) => tr.name === 'corner-logo')!.clips[0]!;
        if (allowPrivate) {
          expect(corner).toMatchObject({ source: { key: `jobs/${jobId}/brand/logo.png` } });
          const stored = await probe(blobs.localPath(`jobs/${jobId}/brand/logo.png`)!);
          expect(stored.video).toMatchObject({ codec: 'png', width: 64, height: 32, pixelFormat: 'rgba' });
          expect(ctx.warnings).toEqual([]);
        } else {
          expect(corner).toMatchObject({ source: { key: DEFAULT_LOGO_KEY } });
          expect(ctx.warnings.map((w) => w.message).join(' ')).toMatch(
            /brand\.logo .*127\.0\.0\.1.*the video uses the default logo/,
          );
        }
      }
    } finally {
      server.close();
    }
  });
});
