import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TimelineRequest, type EventData, type TimelineRequestInput } from '@reelbus/contracts';
import { FsBlobStore, probe } from '@reelbus/kit';
import { makeImage, makeSpeech, makeVideo, recordingContext, testEvent } from '@reelbus/kit/testing';
import { resolveRenderRequest, type RenderResolveDeps } from './handle.ts';
import { fetchedSourceKey, keyRefs, urlFetches } from './sources.ts';

let dir: string;
let blobs: FsBlobStore;
let server: Server;
let base: string;
let clipSeconds: number;
const served = new Map<string, { file: string; type: string }>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelbus-render-resolve-'));
  blobs = new FsBlobStore({ root: join(dir, 'blobs') });
  const src = join(dir, 'src');
  const clip = await makeVideo({ file: join(src, 'clip.mp4'), seconds: 3.2, width: 320, height: 240 });
  clipSeconds = (await probe(clip)).durationSec;
  served.set('/media/clip.mp4', { file: clip, type: 'video/mp4' });
  // an extension-less URL: the stored key takes its extension from the content type
  served.set('/photo', {
    file: await makeImage({ file: join(src, 'photo.png'), width: 400, height: 300 }),
    type: 'image/png',
  });
  await blobs.putFile(
    'library/voice.wav',
    await makeSpeech({ text: 'A rendered timeline.', file: join(src, 'voice.wav') }),
  );
  await blobs.put('library/notes.txt', 'this is not media');
  server = createServer((req, res) => {
    const f = served.get(req.url ?? '');
    if (!f) {
      res.writeHead(404).end('no such file');
      return;
    }
    res.writeHead(200, { 'content-type': f.type }).end(readFileSync(f.file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await rm(dir, { recursive: true, force: true });
});

const deps = (allowPrivate = true): RenderResolveDeps => ({
  blobs,
  tmpDir: join(dir, 'tmp'),
  fetch: { allowPrivate, timeoutMs: 20_000, maxBytes: 50_000_000 },
});

const request = (jobId: string, timeline: TimelineRequestInput) =>
  testEvent('render.requested', jobId, { timeline });

describe('resolveRenderRequest', () => {
  it('fetches URL sources into the job, probes every source, fills the "auto" values and publishes timeline.ready', async () => {
    const ctx = recordingContext();
    const timeline: TimelineRequestInput = {
      version: 1,
      output: { width: 320, height: 180 },
      tracks: [
        {
          clips: [
            {
              type: 'image',
              source: { url: `${base}/photo` },
              duration: 2,
              transition: { type: 'fade', duration: 0.5 },
            },
            { type: 'video', source: { url: `${base}/media/clip.mp4` }, trimStart: 1 },
            // the same URL twice is fetched once
            { type: 'video', source: { url: `${base}/media/clip.mp4` }, duration: 1 },
          ],
        },
      ],
      audio: [{ name: 'voice', source: { key: 'library/voice.wav' } }],
    };
    const outcome = await resolveRenderRequest({ event: request('r1', timeline), ctx, deps: deps() });
    expect(outcome).toEqual({ outcome: 'ok' });
    expect(ctx.published.map((p) => [p.type, p.id])).toEqual([['timeline.ready', 'timeline.ready:r1']]);
    const data = ctx.published[0]!.data as EventData<'timeline.ready'>;
    expect(data.kind).toBe('render');
    const clips = data.timeline.tracks[0]!.clips;
    expect(clips.map((c) => ('source' in c && c.source ? c.source.key : undefined))).toEqual([
      'jobs/r1/input/url-000.png',
      'jobs/r1/input/url-001.mp4',
      'jobs/r1/input/url-001.mp4',
    ]);
    // the photo's 2 s, the transition's overlap, the clip's probed length after its trim, on the frame grid
    expect(clips.map((c) => [c.start, c.duration])).toEqual([
      [0, 2],
      [1.5, Math.round((clipSeconds - 1) * 30) / 30],
      [1.5 + Math.round((clipSeconds - 1) * 30) / 30, 1],
    ]);
    expect(await blobs.stat('jobs/r1/input/url-001.mp4')).toMatchObject({ size: expect.any(Number) });
    expect(ctx.progress.calls.map(([step, status]) => `${step}:${status}`)).toEqual([
      'fetch:started',
      'fetch:running',
      'fetch:running',
      'fetch:completed',
      'compose:started',
      'compose:completed',
    ]);
  }, 60_000);

  it('fails the job naming every missing, undecodable, refused or unreachable source at once', async () => {
    const ctx = recordingContext();
    const outcome = await resolveRenderRequest({
      event: request('r2', {
        version: 1,
        tracks: [
          {
            clips: [
              { type: 'image', source: { key: 'library/missing.png' }, duration: 1 },
              { type: 'video', source: { key: 'library/notes.txt' } },
            ],
          },
        ],
        audio: [{ name: 'voice', source: { key: 'library/voice.wav' } }],
      }),
      ctx,
      deps: deps(),
    });
    expect(outcome).toEqual({
      outcome: 'fail',
      step: 'compose',
      reason:
        'invalid timeline: tracks[0].clips[0].source: "library/missing.png" is not in blob storage; upload it or fix the key; ' +
        'tracks[0].clips[1].source: "library/notes.txt" is not a readable image, video or audio file (not an audio or video file: notes.txt: Invalid data found when processing input)',
    });
    expect(ctx.published).toEqual([]);

    // private hosts are refused unless configured; a 404 names its URL; both in one answer
    const refused = recordingContext();
    const out2 = await resolveRenderRequest({
      event: request('r3', {
        version: 1,
        tracks: [{ clips: [{ type: 'video', source: { url: `${base}/media/clip.mp4` } }] }],
        audio: [{ name: 'music', source: { url: 'https://10.1.2.3/song.mp3' } }],
      }),
      ctx: refused,
      deps: deps(false),
    });
    expect(out2).toMatchObject({ outcome: 'fail', step: 'fetch' });
    const reason = (out2 as { reason: string }).reason;
    expect(reason).toContain('tracks[0].clips[0].source: http://127.0.0.1:');
    expect(reason).toContain('refused: only https URLs are allowed (got http)');
    expect(reason).toContain(
      'audio[0].source: https://10.1.2.3/song.mp3: refused: 10.1.2.3 is a private address',
    );

    const missing = recordingContext();
    const out3 = await resolveRenderRequest({
      event: request('r4', {
        version: 1,
        tracks: [{ clips: [{ type: 'video', source: { url: `${base}/nope.mp4` } }] }],
      }),
      ctx: missing,
      deps: deps(),
    });
    expect(out3).toEqual({
      outcome: 'fail',
      step: 'fetch',
      reason: `invalid timeline: tracks[0].clips[0].source: download failed: ${base}/nope.mp4 answered HTTP 404 Not Found`,
    });
  }, 60_000);

  it('names the fields resolveTimeline cannot fill in (an "auto" length of a still)', async () => {
    const ctx = recordingContext();
    const outcome = await resolveRenderRequest({
      event: request('r5', {
        version: 1,
        tracks: [
          {
            clips: [
              { type: 'video', source: { key: 'library/voice.wav' } },
              { type: 'color', color: '#000000' },
            ],
          },
        ],
      }),
      ctx,
      deps: deps(),
    });
    expect(outcome).toMatchObject({ outcome: 'fail', step: 'compose' });
    const reason = (outcome as { reason: string }).reason;
    expect(reason).toContain('tracks[0].clips[0].source: "library/voice.wav" has no picture');
    expect(reason).toContain('tracks[0].clips[1].duration: "auto" needs a source with a length');
  });
});

describe('the sources of a request Timeline', () => {
  const t = TimelineRequest.parse({
    version: 1,
    tracks: [
      {
        clips: [
          { type: 'video', source: { url: 'https://cdn.example.com/a.mp4' } },
          { type: 'image', source: { key: 'lib/b.jpg' }, duration: 2 },
          { type: 'video', source: { url: 'https://cdn.example.com/a.mp4' }, duration: 1 },
        ],
      },
    ],
    audio: [
      { name: 'm', source: { url: 'https://cdn.example.com/song?id=7' } },
      { name: 'v', source: { key: 'lib/b.jpg' } },
    ],
  });

  it('lists each URL once with every field naming it, and every key with its fields', () => {
    expect(urlFetches(t)).toEqual([
      {
        url: 'https://cdn.example.com/a.mp4',
        paths: ['tracks[0].clips[0].source', 'tracks[0].clips[2].source'],
        index: 0,
      },
      { url: 'https://cdn.example.com/song?id=7', paths: ['audio[0].source'], index: 1 },
    ]);
    expect([...keyRefs(t)].map(([k, refs]) => [k, refs.map((r) => r.path)])).toEqual([
      ['lib/b.jpg', ['tracks[0].clips[1].source', 'audio[1].source']],
    ]);
  });

  it('stores a fetched source under the job with an extension from its path or content type', () => {
    const key = (url: string, contentType?: string) =>
      fetchedSourceKey({ jobId: 'j', index: 3, url, contentType });
    expect(key('https://x.test/clip.MOV')).toBe('jobs/j/input/url-003.mov');
    expect(key('https://x.test/song?id=7', 'audio/mpeg; charset=binary')).toBe('jobs/j/input/url-003.mp3');
    expect(key('https://x.test/page.php', 'text/html')).toBe('jobs/j/input/url-003.bin');
  });
});
