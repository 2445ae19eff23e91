import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newJob, type EventOf, type Job, type SpeakerRole } from '@reelbus/contracts';
import { Bus, KvJobStore, PermanentError, TransientError, type JobStore } from '@reelbus/kit';
import { randomNamespace, startNatsServer, type NatsServerHandle } from '@reelbus/kit/testing';
import { composeCall } from './handle-audio-split.ts';
import { collectCallClip } from './handle-clip-generated.ts';
import { clipsOnlyFallback } from './fan-in.ts';
import { fakeHandlerContext, MemoryJobStore, type Published } from './testing.ts';

const size = { width: 1280, height: 720 };
/** A real provider (fal) makes clips whatever CALL_LOCAL_RENDER says: the fan-in below collects them. */
const falClips = { defaultProvider: 'fal', localRender: 'direct' } as const;

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

function clipGenerated(jobId: string, role: SpeakerRole, expectedClips = 2): EventOf<'clip.generated'> {
  return {
    id: `clip.generated:${jobId}:${role}`,
    type: 'clip.generated',
    version: 1,
    jobId,
    occurredAt: new Date().toISOString(),
    data: {
      role,
      key: `jobs/${jobId}/clips/${role}.mp4`,
      durationSec: 9.5,
      width: 512,
      height: 512,
      provider: 'local',
      placeholder: false,
      segments: 1,
      expectedClips,
    },
  };
}

async function createCallJob(jobs: JobStore, id: string, input: Record<string, unknown> = {}): Promise<Job> {
  return (
    await jobs.create(
      newJob({
        id,
        kind: 'call',
        input: { source: 'upload', recording: { key: `jobs/${id}/input/recording.wav` }, ...input },
      }),
    )
  ).job;
}

const timelines = (published: Published[]) => published.filter((p) => p.type === 'timeline.ready');

describe('compositor fan-in (in-memory store, forced conflicts)', () => {
  it('asks a real provider for one clip per speaking channel, with the job face images and deterministic ids', async () => {
    const jobs = new MemoryJobStore();
    await createCallJob(jobs, 'j1', { callerImage: 'faces/alice.png' });
    const ctx = fakeHandlerContext();
    await expect(
      composeCall({ event: audioSplit('j1'), ctx, deps: { jobs, defaultSize: size, calls: falClips } }),
    ).resolves.toEqual({ outcome: 'ok' });
    expect(ctx.published).toEqual([
      {
        type: 'clip.requested',
        jobId: 'j1',
        id: 'clip.requested:j1:caller',
        data: {
          role: 'caller',
          label: 'Caller',
          audioKey: 'jobs/j1/split/caller.wav',
          durationSec: 9.5,
          expectedClips: 2,
          imageKey: 'faces/alice.png',
          provider: 'fal',
        },
      },
      {
        type: 'clip.requested',
        jobId: 'j1',
        id: 'clip.requested:j1:callee',
        data: {
          role: 'callee',
          label: 'Callee',
          audioKey: 'jobs/j1/split/callee.wav',
          durationSec: 9.5,
          expectedClips: 2,
          provider: 'fal',
        },
      },
    ]);
    expect((await jobs.get('j1'))!.state.call).toMatchObject({
      mode: 'stereo',
      expectedClips: 2,
      size,
      recording: { key: 'jobs/j1/input/recording.wav', durationSec: 9.5 },
    });
  });

  it('skips a silent channel and lays out its side as a card', async () => {
    const jobs = new MemoryJobStore();
    await createCallJob(jobs, 'j2');
    const ctx = fakeHandlerContext();
    await composeCall({
      event: audioSplit('j2', { silent: ['callee'] }),
      ctx,
      deps: { jobs, defaultSize: size, calls: falClips },
    });
    expect(
      ctx.published.map((p) => [p.type, p.id, (p.data as { expectedClips: number }).expectedClips]),
    ).toEqual([['clip.requested', 'clip.requested:j2:caller', 1]]);
    await collectCallClip({ event: clipGenerated('j2', 'caller', 1), ctx, deps: { jobs } });
    const [ready] = timelines(ctx.published);
    const clips = (
      ready!.data as { timeline: { tracks: Array<{ clips: Array<{ type: string; text?: string }> }> } }
    ).timeline.tracks[0]!.clips;
    expect(clips.map((c) => c.type)).toEqual(['video', 'color', 'text']);
    expect(clips[2]!.text).toBe('Callee — silent');
  });

  it('publishes exactly one timeline.ready when both clips arrive at once and both updates conflict', async () => {
    // Both updates read the same revision before either writes (a one-shot barrier for the first two
    // writes): one must lose the CAS and re-apply its mutation on the other's document.
    let release!: () => void;
    const bothRead = new Promise<void>((resolve) => (release = resolve));
    let arrivals = 0;
    let lineUp = false;
    const jobs = new MemoryJobStore(async () => {
      if (!lineUp || arrivals >= 2) return;
      if (++arrivals === 2) release();
      await bothRead;
    });
    await createCallJob(jobs, 'j3');
    const published: Published[] = [];
    await composeCall({
      event: audioSplit('j3'),
      ctx: fakeHandlerContext({ published }),
      deps: { jobs, defaultSize: size, calls: falClips },
    });
    lineUp = true;
    const outcomes = await Promise.all(
      (['caller', 'callee'] as const).map((role) =>
        collectCallClip({
          event: clipGenerated('j3', role),
          ctx: fakeHandlerContext({ published }),
          deps: { jobs },
        }),
      ),
    );
    lineUp = false;
    expect(jobs.conflicts).toBeGreaterThan(0);
    expect(timelines(published)).toHaveLength(1);
    expect(timelines(published)[0]).toMatchObject({ id: 'timeline.ready:j3', data: { kind: 'call' } });
    // What the call delivers if its video cannot be made (issue 15 §3): each speaker's clip.
    expect((timelines(published)[0]!.data as { fallback?: unknown }).fallback).toEqual({
      type: 'clips_only',
      outputs: { caller: 'jobs/j3/clips/caller.mp4', callee: 'jobs/j3/clips/callee.mp4' },
    });
    // the first writer saw an incomplete set (waits, ok); the second completed it and claimed
    expect(outcomes).toEqual([{ outcome: 'ok' }, { outcome: 'ok' }]);
    const job = (await jobs.get('j3'))!;
    expect(Object.keys(job.state.clips as object).sort()).toEqual(['callee', 'caller']);

    // a redelivery of the event that did not claim publishes nothing
    const loser = (['caller', 'callee'] as const).find(
      (r) => (job.state.timeline as { by: string }).by !== `clip.generated:j3:${r}`,
    )!;
    await expect(
      collectCallClip({
        event: clipGenerated('j3', loser),
        ctx: fakeHandlerContext({ published }),
        deps: { jobs },
      }),
    ).resolves.toMatchObject({
      outcome: 'skip',
    });
    expect(timelines(published)).toHaveLength(1);
  });

  it('retries a clip that arrives before the call facts are stored', async () => {
    const jobs = new MemoryJobStore();
    await createCallJob(jobs, 'j4');
    await expect(
      collectCallClip({ event: clipGenerated('j4', 'caller'), ctx: fakeHandlerContext(), deps: { jobs } }),
    ).rejects.toBeInstanceOf(TransientError);
    await expect(
      composeCall({
        event: audioSplit('nojob'),
        ctx: fakeHandlerContext(),
        deps: { jobs, defaultSize: size, calls: falClips },
      }),
    ).rejects.toBeInstanceOf(TransientError);
    void PermanentError;
  });
});

describe('compositor fan-in (KvJobStore and JetStream on a real nats-server)', () => {
  let server: NatsServerHandle;
  let bus: Bus;
  let jobs: KvJobStore;

  beforeAll(async () => {
    server = await startNatsServer();
    const namespace = randomNamespace();
    bus = await Bus.connect({ servers: server.url, namespace, name: 'compositor-test' });
    await bus.ensureStreams();
    jobs = await KvJobStore.open({ nc: bus.nc, bucket: bus.names.jobsBucket });
  });
  afterAll(async () => {
    await bus?.close();
    await server?.stop();
  });

  async function timelineReadyInStream(): Promise<number> {
    const subject = bus.names.eventSubject('timeline.ready');
    const info = await bus.jsm.streams.info(bus.names.eventsStream, { subjects_filter: subject });
    return info.state.subjects?.[subject] ?? 0;
  }

  it('puts exactly one timeline.ready on the bus under concurrent replicas and redeliveries', async () => {
    await createCallJob(jobs, 'k1', { calleeImage: 'faces/bob.png' });
    await composeCall({
      event: audioSplit('k1'),
      ctx: fakeHandlerContext({ bus }),
      deps: { jobs, defaultSize: size, calls: falClips },
    });
    // two replicas get each role, all at once: four concurrent deliveries of two events
    const deliveries = (['caller', 'callee', 'callee', 'caller'] as const).map((role) =>
      collectCallClip({ event: clipGenerated('k1', role), ctx: fakeHandlerContext({ bus }), deps: { jobs } }),
    );
    const outcomes = await Promise.all(deliveries);
    expect(outcomes.every((o) => o && (o.outcome === 'ok' || o.outcome === 'skip'))).toBe(true);
    const job = (await jobs.get('k1'))!;
    const claim = job.state.timeline as { by: string };
    expect(['clip.generated:k1:caller', 'clip.generated:k1:callee']).toContain(claim.by);

    // the claiming event redelivered later (e.g. after a crash before its ack) publishes again with
    // the same id, and JetStream drops the duplicate
    const claimingRole = claim.by.split(':')[2] as SpeakerRole;
    const again = fakeHandlerContext({ bus });
    await collectCallClip({ event: clipGenerated('k1', claimingRole), ctx: again, deps: { jobs } });
    expect(again.published.map((p) => p.id)).toEqual(['timeline.ready:k1']);

    expect(await timelineReadyInStream()).toBe(1);
    expect((await jobs.get('k1'))!.state.timeline).toEqual(claim); // the claim never moves
  });
});

describe('clipsOnlyFallback', () => {
  const clip = (key: string, placeholder: boolean) => ({
    key,
    durationSec: 3,
    width: 320,
    height: 240,
    placeholder,
    provider: placeholder ? 'placeholder' : 'fal',
    eventId: 'e',
  });
  it('names each real speaker clip by role and leaves placeholders out', () => {
    expect(
      clipsOnlyFallback({
        caller: clip('jobs/j/clips/caller.mp4', false),
        callee: clip('jobs/j/clips/callee.mp4', true),
      }),
    ).toEqual({ type: 'clips_only', outputs: { caller: 'jobs/j/clips/caller.mp4' } });
  });
  it('has nothing to fall back on without real clips (a call drawn in one pass fails normally)', () => {
    expect(clipsOnlyFallback({})).toBeUndefined();
    expect(clipsOnlyFallback({ caller: clip('jobs/j/clips/caller.mp4', true) })).toBeUndefined();
  });
});
