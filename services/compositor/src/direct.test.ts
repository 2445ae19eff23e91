import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_FACES } from '@reelbus/ai-generator/local-look';
import { newJob, type Clip, type EventOf, type SpeakerRole, type Timeline } from '@reelbus/contracts';
import { FsBlobStore } from '@reelbus/kit';
import { makeImage, makeTone } from '@reelbus/kit/testing';
import { readCallState } from './call-state.ts';
import type { CallRendering } from './call-rendering.ts';
import { DefaultFaces } from './faces.ts';
import { composeCall, type ComposeDeps } from './handle-audio-split.ts';
import { fakeHandlerContext, MemoryJobStore } from './testing.ts';

let dir: string;
let blobs: FsBlobStore;
let defaults: DefaultFaces;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'compositor-direct-'));
  blobs = new FsBlobStore({ root: join(dir, 'blobs') });
  defaults = new DefaultFaces({ blobs, files: BUNDLED_FACES });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function audioSplit(
  jobId: string,
  opts: { silent?: SpeakerRole[]; mode?: 'stereo' | 'mono' } = {},
): EventOf<'audio.split'> {
  const { silent = [], mode = 'stereo' } = opts;
  const roles: SpeakerRole[] = mode === 'mono' ? ['caller'] : ['caller', 'callee'];
  return {
    id: `audio.split:${jobId}`,
    type: 'audio.split',
    version: 1,
    jobId,
    occurredAt: new Date().toISOString(),
    data: {
      source: {
        key: `jobs/${jobId}/input/recording.wav`,
        durationSec: 9.5,
        channels: roles.length,
        sampleRate: 8000,
        codec: 'pcm_s16le',
        sizeBytes: 152_000,
      },
      mode,
      channels: roles.map((role) => ({
        role,
        key: `jobs/${jobId}/split/${role}.wav`,
        durationSec: 9.5,
        silent: silent.includes(role),
      })),
    },
  };
}

function deps(
  jobs: MemoryJobStore,
  calls: { defaultProvider?: string; localRender?: CallRendering } = {},
): ComposeDeps {
  return {
    jobs,
    defaultSize: { width: 1280, height: 720 },
    calls: { defaultProvider: 'local', localRender: 'direct', ...calls },
    faces: { blobs, defaults, tmpDir: join(dir, 'tmp') },
  };
}

async function callJob(jobs: MemoryJobStore, id: string, input: Record<string, unknown> = {}) {
  await jobs.create(
    newJob({
      id,
      kind: 'call',
      input: { source: 'upload', recording: { key: `jobs/${id}/input/recording.wav` }, ...input },
    }),
  );
}

const timelineOf = (ctx: ReturnType<typeof fakeHandlerContext>): Timeline =>
  (ctx.published.find((p) => p.type === 'timeline.ready')!.data as { timeline: Timeline }).timeline;
const imagesOf = (t: Timeline) =>
  t.tracks[0]!.clips.filter((c): c is Extract<Clip, { type: 'image' }> => c.type === 'image');

describe('compose with the local provider drawn directly', () => {
  it('publishes the Timeline at once with both speakers drawn, asks for no clip, and stores the bundled faces once', async () => {
    const jobs = new MemoryJobStore();
    await callJob(jobs, 'd1');
    const ctx = fakeHandlerContext();
    await expect(composeCall({ event: audioSplit('d1'), ctx, deps: deps(jobs) })).resolves.toEqual({
      outcome: 'ok',
    });
    expect(ctx.published.map((p) => [p.type, p.id])).toEqual([['timeline.ready', 'timeline.ready:d1']]);
    const t = timelineOf(ctx);
    // the cards (still) under the waveforms (moving), on a track of their own
    expect(t.tracks.map((tr) => [tr.name, tr.clips.map((c) => c.type)])).toEqual([
      ['speakers', [...['color', 'image', 'text'], ...['color', 'image', 'text']]],
      ['waves', ['waveform', 'waveform']],
    ]);
    expect(t.tracks[1]!.clips.map((c) => (c.type === 'waveform' ? c.source?.key : c.type))).toEqual([
      'jobs/d1/split/caller.wav',
      'jobs/d1/split/callee.wav',
    ]);
    // the default faces are in storage, by content, byte for byte the bundled files
    const faces = imagesOf(t).map((c) => c.source.key);
    expect(faces).toHaveLength(2);
    for (const [i, role] of (['caller', 'callee'] as const).entries()) {
      expect(faces[i]).toMatch(/^avatars\/faces\/[0-9a-f]{16}\.png$/);
      expect(await readFile(blobs.localPath(faces[i]!)!)).toEqual(await readFile(BUNDLED_FACES[role]));
    }
    const job = (await jobs.get('d1'))!;
    expect(readCallState(job)).toMatchObject({ provider: 'local', rendering: 'direct', expectedClips: 0 });
    expect(job.state.timeline).toMatchObject({ by: 'audio.split:d1' });
    expect(ctx.progress.calls).toContainEqual(['compose', 'completed', 100]);
    expect(ctx.warnings).toEqual([]);

    // a redelivery publishes the same event again (JetStream drops it by its id) and keeps the decision
    const again = fakeHandlerContext();
    await composeCall({ event: audioSplit('d1'), ctx: again, deps: deps(jobs, { localRender: 'clips' }) });
    expect(again.published.map((p) => p.id)).toEqual(['timeline.ready:d1']);
    expect(timelineOf(again)).toEqual(t);
  });

  it("draws the job's own faces, and the default one with a warning for an image that is missing or not a picture", async () => {
    const jobs = new MemoryJobStore();
    const png = await makeImage({ file: join(dir, 'alice.png'), width: 320, height: 240 });
    await blobs.putFile('jobs/d2/input/callerImage.png', png);
    await callJob(jobs, 'd2', {
      callerImage: 'jobs/d2/input/callerImage.png',
      calleeImage: 'jobs/d2/input/gone.png',
    });
    const ctx = fakeHandlerContext();
    await composeCall({ event: audioSplit('d2'), ctx, deps: deps(jobs) });
    const [caller, callee] = imagesOf(timelineOf(ctx)).map((c) => c.source.key);
    expect(caller).toBe('jobs/d2/input/callerImage.png');
    expect(callee).toBe(await defaults.key('callee'));
    expect(ctx.warnings).toEqual([
      {
        step: 'compose',
        message: 'The Callee image jobs/d2/input/gone.png was not found; the default face is used.',
      },
    ]);

    await blobs.put('jobs/d3/input/callerImage.png', 'not a picture');
    await callJob(jobs, 'd3', { callerImage: 'jobs/d3/input/callerImage.png' });
    const ctx3 = fakeHandlerContext();
    await composeCall({ event: audioSplit('d3'), ctx: ctx3, deps: deps(jobs) });
    expect(imagesOf(timelineOf(ctx3))[0]!.source.key).toBe(await defaults.key('caller'));
    expect(ctx3.warnings).toHaveLength(1);
    expect(ctx3.warnings[0]!.message).toMatch(
      /^The Caller image jobs\/d3\/input\/callerImage\.png cannot be decoded \(.*PNG.*\); the default face is used\.$/,
    );
    // a sound uploaded as a face
    await blobs.putFile(
      'jobs/d6/input/callerImage.wav',
      await makeTone({ file: join(dir, 'tone.wav'), seconds: 1 }),
    );
    await callJob(jobs, 'd6', { callerImage: 'jobs/d6/input/callerImage.wav' });
    const ctx6 = fakeHandlerContext();
    await composeCall({ event: audioSplit('d6'), ctx: ctx6, deps: deps(jobs) });
    expect(ctx6.warnings).toEqual([
      {
        step: 'compose',
        message: 'The Caller image jobs/d6/input/callerImage.wav has no picture; the default face is used.',
      },
    ]);

    // a PNG whose data is cut short: it probes, but does not decode
    const broken = await readFile(blobs.localPath('jobs/d2/input/callerImage.png')!);
    await blobs.put('jobs/d4/input/calleeImage.png', broken.subarray(0, Math.floor(broken.length / 3)));
    await callJob(jobs, 'd4', { calleeImage: 'jobs/d4/input/calleeImage.png' });
    const ctx4 = fakeHandlerContext();
    await composeCall({ event: audioSplit('d4'), ctx: ctx4, deps: deps(jobs) });
    expect(imagesOf(timelineOf(ctx4))[1]!.source.key).toBe(await defaults.key('callee'));
    expect(ctx4.warnings).toHaveLength(1);
    expect(ctx4.warnings[0]!.message).toMatch(
      /^The Callee image jobs\/d4\/input\/calleeImage\.png cannot be decoded \(.+\); the default face is used\.$/,
    );
  });

  it('draws the speaking side beside the card of a silent one, and the one speaker of a mono call', async () => {
    const jobs = new MemoryJobStore();
    await callJob(jobs, 'd5');
    const ctx = fakeHandlerContext();
    await composeCall({ event: audioSplit('d5', { silent: ['caller'] }), ctx, deps: deps(jobs) });
    const clips = timelineOf(ctx).tracks[0]!.clips;
    expect(clips.map((c) => c.type)).toEqual(['color', 'text', 'color', 'image', 'text']);
    expect(timelineOf(ctx).tracks[1]!.clips.map((c) => c.type)).toEqual(['waveform']);
    expect(clips[1]).toMatchObject({ text: 'Caller — silent' });

    await callJob(jobs, 'd5m');
    const mono = fakeHandlerContext();
    await composeCall({ event: audioSplit('d5m', { mode: 'mono' }), ctx: mono, deps: deps(jobs) });
    expect(
      timelineOf(mono).tracks.flatMap((tr) => tr.clips.map((c) => [tr.name, c.type, c.position])),
    ).toEqual([
      ['speakers', 'color', { x: 320, y: 0, width: 640, height: 562 }],
      ['speakers', 'image', { x: 320, y: 0, width: 640, height: 562 }],
      ['speakers', 'text', { x: 320, y: 509, width: 640, height: 29 }],
      ['waves', 'waveform', { x: 320, y: 562, width: 640, height: 158 }],
    ]);
  });

  it('asks for clips when the job names a real provider, or CALL_LOCAL_RENDER=clips, naming the provider', async () => {
    const jobs = new MemoryJobStore();
    await callJob(jobs, 'd6', { provider: 'fal' });
    const fal = fakeHandlerContext();
    await composeCall({ event: audioSplit('d6'), ctx: fal, deps: deps(jobs) });
    expect(fal.published.map((p) => [p.type, (p.data as { provider?: string }).provider])).toEqual([
      ['clip.requested', 'fal'],
      ['clip.requested', 'fal'],
    ]);

    await callJob(jobs, 'd7');
    const local = fakeHandlerContext();
    await composeCall({ event: audioSplit('d7'), ctx: local, deps: deps(jobs, { localRender: 'clips' }) });
    expect(local.published.map((p) => [p.type, (p.data as { provider?: string }).provider])).toEqual([
      ['clip.requested', 'local'],
      ['clip.requested', 'local'],
    ]);
    expect(readCallState((await jobs.get('d7'))!)).toMatchObject({ rendering: 'clips', expectedClips: 2 });
  });
});
