import {
  newJob,
  type EventDataInput,
  type EventOf,
  type EventType,
  type Job,
  latestEvent,
  JOB_KINDS,
  progressWeights,
} from '@reelbus/contracts';
import { describe, expect, it } from 'vitest';
import { applyEvent, notifierState, overallProgress, type AnyEvent } from './projection.ts';

const JOB = 'job_1';
const NOW = new Date('2026-01-01T00:10:00.000Z');
const t = (sec: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, sec)).toISOString();

/** A validated event (defaults applied by the real schema). */
function ev<T extends EventType>(
  type: T,
  sec: number,
  data: EventDataInput<T>,
  id = `${type}:${sec}`,
): EventOf<T> {
  return latestEvent(type).envelope.parse({
    id,
    type,
    version: 1,
    jobId: JOB,
    occurredAt: t(sec),
    data,
  }) as EventOf<T>;
}

function callJob(over: Partial<Job> = {}): Job {
  return { ...newJob({ id: JOB, kind: 'call' }, new Date(t(0))), ...over };
}

/** Applies events in order, treating `undefined` as "no change". */
function run(job: Job, events: AnyEvent[]): Job {
  return events.reduce((j, e) => applyEvent(j, e, NOW) ?? j, job);
}

const recording = () =>
  ev('recording.received', 1, {
    source: 'upload',
    recording: { key: `jobs/${JOB}/input/recording.wav` },
    callbackUrl: 'https://example.com/hook',
  });
const split = () =>
  ev('audio.split', 3, {
    mode: 'stereo',
    source: {
      key: `jobs/${JOB}/input/recording.wav`,
      durationSec: 12,
      channels: 2,
      sampleRate: 8000,
      codec: 'pcm_s16le',
      sizeBytes: 1000,
    },
    channels: [
      { role: 'caller', key: `jobs/${JOB}/split/caller.wav`, durationSec: 12, silent: false },
      { role: 'callee', key: `jobs/${JOB}/split/callee.wav`, durationSec: 12, silent: false },
    ],
  });
const clipRequested = (role: 'caller' | 'callee', sec: number) =>
  ev(
    'clip.requested',
    sec,
    { role, label: role, audioKey: `jobs/${JOB}/split/${role}.wav`, durationSec: 12, expectedClips: 2 },
    `clip.requested:${JOB}:${role}`,
  );
const clipGenerated = (
  role: 'caller' | 'callee',
  sec: number,
  extra: Partial<EventDataInput<'clip.generated'>> = {},
) =>
  ev(
    'clip.generated',
    sec,
    {
      role,
      key: `jobs/${JOB}/clips/${role}.mp4`,
      durationSec: 12,
      width: 640,
      height: 720,
      provider: 'local',
      expectedClips: 2,
      ...extra,
    },
    `clip.generated:${JOB}:${role}`,
  );
const timeline = (sec = 20) =>
  ev('timeline.ready', sec, {
    kind: 'call',
    timeline: { version: 1, duration: 12 },
  });
const progress = (
  step: string,
  status: 'started' | 'running' | 'completed' | 'skipped',
  sec: number,
  percent?: number,
  message?: string,
) =>
  ev(
    'job.progress',
    sec,
    { step, status, ...(percent !== undefined ? { percent } : {}), ...(message ? { message } : {}) },
    `p:${step}:${status}:${sec}:${percent}`,
  );
const encoded = (sec = 40) =>
  ev('video.encoded', sec, {
    key: `jobs/${JOB}/final.mp4`,
    durationSec: 12,
    sizeBytes: 123456,
    width: 1280,
    height: 720,
    videoCodec: 'h264',
    audioCodec: 'aac',
    backend: 'ffmpeg',
    encodeSeconds: 9,
    cpuSeconds: 15,
  });
const warning = (message: string, sec = 15) =>
  ev('job.warning', sec, { step: 'generate', message }, `w:${message}:${sec}`);
const completed = (sec = 45, warnings: string[] = []) =>
  ev('job.completed', sec, {
    outputs: { video: { key: `jobs/${JOB}/final.mp4`, durationSec: 12, sizeBytes: 123456 } },
    warnings,
  });
const failed = (step: string, sec: number, reason = `${step} broke`) =>
  ev('job.failed', sec, { step, reason, permanent: true }, `job.failed:${step}:${sec}`);

const happyPath = (): AnyEvent[] => [
  recording(),
  progress('split', 'started', 2),
  split(),
  clipRequested('caller', 4),
  clipRequested('callee', 4),
  progress('generate', 'running', 8, 30, 'rendering'),
  clipGenerated('caller', 10),
  warning('callee side used a placeholder'),
  clipGenerated('callee', 18, { placeholder: true, warning: 'callee clip failed: provider timed out' }),
  timeline(20),
  progress('encode', 'started', 21),
  progress('encode', 'running', 30, 50, 'encoding'),
  progress('encode', 'completed', 40),
  encoded(40),
  completed(45),
];

describe('applyEvent: each event type moves its step', () => {
  const cases: { name: string; before?: AnyEvent[]; event: () => AnyEvent; expect: (j: Job) => void }[] = [
    {
      name: 'recording.received completes ingest and makes the job running',
      event: recording,
      expect: (j) => {
        expect(j.steps.ingest).toMatchObject({ status: 'completed', finishedAt: t(1), percent: 100 });
        expect(j.status).toBe('running');
        expect(j.callbackUrl).toBe('https://example.com/hook');
      },
    },
    {
      name: 'audio.split completes split with its duration from its start',
      before: [progress('split', 'started', 2)],
      event: split,
      expect: (j) =>
        expect(j.steps.split).toMatchObject({
          status: 'completed',
          startedAt: t(2),
          finishedAt: t(3),
          durationMs: 1000,
        }),
    },
    {
      name: 'clip.requested starts generate',
      event: () => clipRequested('caller', 4),
      expect: (j) => {
        expect(j.steps.generate).toMatchObject({ status: 'running', startedAt: t(4) });
        expect(notifierState(j).expectedClips).toBe(2);
      },
    },
    {
      name: 'one of two clip.generated leaves generate running at 50 %',
      before: [clipRequested('caller', 4), clipRequested('callee', 4)],
      event: () => clipGenerated('caller', 10),
      expect: (j) => expect(j.steps.generate).toMatchObject({ status: 'running', percent: 50 }),
    },
    {
      name: 'the last expected clip.generated completes generate',
      before: [clipRequested('caller', 4), clipGenerated('callee', 18)],
      event: () => clipGenerated('caller', 10),
      expect: (j) =>
        expect(j.steps.generate).toMatchObject({
          status: 'completed',
          startedAt: t(4),
          finishedAt: t(18),
          durationMs: 14000,
        }),
    },
    {
      name: 'a placeholder clip adds its warning',
      event: () => clipGenerated('callee', 18, { placeholder: true, warning: 'callee: placeholder used' }),
      expect: (j) => expect(j.warnings).toEqual(['callee: placeholder used']),
    },
    {
      name: 'timeline.ready completes compose',
      event: () => timeline(20),
      expect: (j) => expect(j.steps.compose).toMatchObject({ status: 'completed', finishedAt: t(20) }),
    },
    {
      name: 'video.encoded completes encode and records the video and the cost',
      event: () => encoded(40),
      expect: (j) => {
        expect(j.steps.encode?.status).toBe('completed');
        expect(j.outputs.video).toEqual({
          key: `jobs/${JOB}/final.mp4`,
          durationSec: 12,
          sizeBytes: 123456,
          width: 1280,
          height: 720,
          contentType: 'video/mp4',
        });
        expect(j.cost).toEqual({ backend: 'ffmpeg', cpuSeconds: 15 });
      },
    },
    {
      name: 'video.encoded by mediaconvert records its cost estimate',
      event: () =>
        ev('video.encoded', 40, {
          ...encoded(40).data,
          backend: 'mediaconvert',
          cpuSeconds: undefined,
          costUsd: 0.021,
        }),
      expect: (j) => expect(j.cost).toEqual({ backend: 'mediaconvert', estimateUsd: 0.021 }),
    },
    {
      name: 'job.progress started sets running and startedAt',
      event: () => progress('encode', 'started', 21),
      expect: (j) => expect(j.steps.encode).toEqual({ status: 'running', startedAt: t(21) }),
    },
    {
      name: 'job.progress running sets percent and message',
      before: [progress('encode', 'started', 21)],
      event: () => progress('encode', 'running', 30, 42, 'encoding'),
      expect: (j) =>
        expect(j.steps.encode).toEqual({
          status: 'running',
          startedAt: t(21),
          percent: 42,
          message: 'encoding',
        }),
    },
    {
      name: 'job.progress completed sets finishedAt and durationMs',
      before: [progress('encode', 'started', 21), progress('encode', 'running', 30, 42, 'encoding')],
      event: () => progress('encode', 'completed', 40),
      expect: (j) =>
        expect(j.steps.encode).toEqual({
          status: 'completed',
          startedAt: t(21),
          finishedAt: t(40),
          durationMs: 19000,
          percent: 100,
        }),
    },
    {
      name: 'job.progress skipped marks the step skipped',
      event: () => progress('images', 'skipped', 5),
      expect: (j) => expect(j.steps.images).toEqual({ status: 'skipped', finishedAt: t(5) }),
    },
    {
      name: 'job.warning appends to warnings',
      event: () => warning('image 2 skipped'),
      expect: (j) => expect(j.warnings).toEqual(['image 2 skipped']),
    },
    {
      name: 'job.completed completes the job with progress 100 and merged outputs',
      before: [encoded(40)],
      event: () => completed(45, ['a warning']),
      expect: (j) => {
        expect(j.status).toBe('completed');
        expect(j.progress).toBe(100);
        expect(j.outputs.video?.width).toBe(1280);
        expect(j.warnings).toEqual(['a warning']);
        expect(j.steps.notify).toMatchObject({ status: 'completed', finishedAt: t(45) });
      },
    },
    {
      name: 'job.completed with audio_only records the fallback and its reason',
      event: () =>
        ev('job.completed', 45, {
          outputs: { audio: { key: `jobs/${JOB}/final.m4a`, durationSec: 12, sizeBytes: 10 } },
          fallback: 'audio_only',
          fallbackReason: 'the video could not be rendered',
        }),
      expect: (j) => {
        expect(j.fallback).toBe('audio_only');
        expect(j.outputs.audio?.key).toBe(`jobs/${JOB}/final.m4a`);
        expect(j.warnings).toEqual(['the video could not be rendered']);
      },
    },
    {
      name: 'job.failed fails the job and its step with the reason',
      before: [progress('split', 'started', 2)],
      event: () => failed('split', 3, 'the recording is empty'),
      expect: (j) => {
        expect(j.status).toBe('failed');
        expect(j.error).toEqual({ step: 'split', reason: 'the recording is empty' });
        expect(j.steps.split).toMatchObject({
          status: 'failed',
          error: 'the recording is empty',
          finishedAt: t(3),
          durationMs: 1000,
        });
      },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const job = applyEvent(run(callJob(), c.before ?? []), c.event(), NOW);
      expect(job).toBeDefined();
      c.expect(job!);
    });
  }
});

describe('applyEvent: terminal statuses are final', () => {
  const cases: { name: string; events: AnyEvent[]; status: Job['status']; error?: Job['error'] }[] = [
    {
      name: 'a late progress event does not reopen a completed job',
      events: [completed(45), progress('encode', 'running', 30, 50)],
      status: 'completed',
    },
    {
      name: 'a late progress event does not reopen a failed job',
      events: [failed('split', 3), progress('encode', 'started', 30)],
      status: 'failed',
      error: { step: 'split', reason: 'split broke' },
    },
    {
      name: 'a late recording.received does not reopen a failed job',
      events: [failed('split', 3), recording()],
      status: 'failed',
      error: { step: 'split', reason: 'split broke' },
    },
    {
      name: 'job.failed after job.completed is ignored',
      events: [completed(45), failed('encode', 50)],
      status: 'completed',
    },
    {
      name: 'job.failed stamped earlier but arriving after job.completed is ignored',
      events: [completed(45), failed('encode', 30)],
      status: 'completed',
    },
    {
      name: 'job.completed after job.failed is a recovery',
      events: [failed('encode', 30), completed(45)],
      status: 'completed',
    },
    {
      name: 'the earliest of two failures is the job error, in arrival order',
      events: [failed('split', 3), failed('encode', 30)],
      status: 'failed',
      error: { step: 'split', reason: 'split broke' },
    },
    {
      name: 'the earliest of two failures is the job error, against arrival order',
      events: [failed('encode', 30), failed('split', 3)],
      status: 'failed',
      error: { step: 'split', reason: 'split broke' },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const job = run(callJob(), c.events);
      expect(job.status).toBe(c.status);
      expect(job.error).toEqual(c.error);
    });
  }

  it('keeps progress at 100 and every step completed when late events follow completion', () => {
    const job = run(callJob(), [
      completed(45),
      progress('encode', 'started', 21),
      progress('generate', 'running', 10, 20),
    ]);
    expect(job.progress).toBe(100);
    expect(job.steps.encode).toMatchObject({ status: 'completed', startedAt: t(21), finishedAt: t(45) });
    expect(job.steps.generate?.status).toBe('completed');
  });

  it('marks both failed steps failed whatever order the failures arrive in', () => {
    const a = run(callJob(), [failed('split', 3), failed('encode', 30)]);
    const b = run(callJob(), [failed('encode', 30), failed('split', 3)]);
    expect(a).toEqual(b);
    expect(a.steps.encode?.status).toBe('failed');
  });
});

describe('applyEvent: redelivery is idempotent', () => {
  const events = happyPath().concat([
    failed('encode', 50),
    ev('job.completed', 46, { outputs: {}, fallback: 'audio_only', fallbackReason: 'x' }),
  ]);
  for (const e of events) {
    it(`applying ${e.type} (${e.id}) twice equals once, and the second time reports no change`, () => {
      const base = run(callJob(), happyPath().slice(0, 3));
      const once = applyEvent(base, e, NOW) ?? base;
      expect(applyEvent(once, e, NOW)).toBeUndefined();
    });
  }

  it('a duplicate warning is kept once', () => {
    const job = run(callJob(), [warning('same'), warning('same', 20)]);
    expect(job.warnings).toEqual(['same']);
  });
});

describe('applyEvent: delivery order does not matter', () => {
  /** A deterministic shuffle (no Math.random in tests: the same orders every run). */
  function shuffled<T>(xs: T[], seed: number): T[] {
    const out = [...xs];
    let s = seed;
    for (let i = out.length - 1; i > 0; i--) {
      s = (s * 1103515245 + 12345) % 2147483648;
      const k = s % (i + 1);
      [out[i], out[k]] = [out[k]!, out[i]!];
    }
    return out;
  }
  const inOrder = run(callJob(), happyPath());
  const comparable = (j: Job) => ({ ...j, warnings: [...j.warnings].sort() });

  it('the happy path in order yields a completed job with every step timed', () => {
    expect(inOrder.status).toBe('completed');
    expect(inOrder.progress).toBe(100);
    for (const step of ['ingest', 'split', 'generate', 'compose', 'encode', 'notify']) {
      expect(inOrder.steps[step]?.status, step).toBe('completed');
    }
    expect(inOrder.steps.encode).toMatchObject({ startedAt: t(21), finishedAt: t(40), durationMs: 19000 });
    expect(inOrder.warnings.sort()).toEqual([
      'callee clip failed: provider timed out',
      'callee side used a placeholder',
    ]);
  });

  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`shuffled delivery #${seed} yields the same document as in-order delivery`, () => {
      expect(comparable(run(callJob(), shuffled(happyPath(), seed)))).toEqual(comparable(inOrder));
    });
  }

  it('clip.generated before clip.requested still completes generate', () => {
    const job = run(callJob(), [
      clipGenerated('caller', 10),
      clipGenerated('callee', 18),
      clipRequested('caller', 4),
    ]);
    expect(job.steps.generate).toMatchObject({ status: 'completed', startedAt: t(4), finishedAt: t(18) });
  });

  it('compares times across publishers that write different UTC offsets', () => {
    const early = { ...progress('encode', 'started', 21), occurredAt: '2026-01-01T01:00:21+01:00' };
    const late = { ...progress('encode', 'started', 25), occurredAt: '2026-01-01T00:00:25Z' };
    const job = run(callJob(), [late, early]);
    expect(job.steps.encode?.startedAt).toBe(t(21));
  });

  it('a step percent never goes back when an older progress event arrives late', () => {
    const job = run(callJob(), [
      progress('encode', 'running', 30, 60),
      progress('encode', 'running', 25, 40),
    ]);
    expect(job.steps.encode?.percent).toBe(60);
  });
});

describe('overall progress', () => {
  it("every kind's step weights sum to 100", () => {
    for (const spec of Object.values(JOB_KINDS)) {
      expect(
        spec.steps.reduce((a, s) => a + s.weight, 0),
        spec.kind,
      ).toBe(100);
    }
  });

  // A call with generated clips and no Twilio download: every call step but `download` counts.
  const W = progressWeights('call', new Set(['generate']));
  const total = Object.values(W).reduce((a, b) => a + b, 0);
  const pct = (weight: number) => Math.round((weight / total) * 1000) / 10;
  const cases: { name: string; events: AnyEvent[]; progress: number }[] = [
    { name: 'a fresh call job is at 0', events: [], progress: 0 },
    {
      // No clip requested yet, so `generate` (optional: calls drawn offline have none) does not count.
      name: 'ingest done is its weight',
      events: [recording()],
      progress: Math.round((W.ingest! / (total - W.generate!)) * 1000) / 10,
    },
    {
      name: 'half the generate step counts half its weight',
      events: [
        recording(),
        split(),
        clipRequested('caller', 4),
        clipRequested('callee', 4),
        clipGenerated('caller', 10),
      ],
      progress: pct(W.ingest! + W.split! + W.generate! / 2),
    },
    {
      name: 'encode at 50 % counts half the encode weight',
      events: [
        recording(),
        split(),
        clipGenerated('caller', 10),
        clipGenerated('callee', 11),
        timeline(),
        progress('encode', 'running', 30, 50),
      ],
      progress: pct(W.ingest! + W.split! + W.generate! + W.compose! + W.encode! / 2),
    },
    {
      name: 'everything but notify done stays below 100',
      events: happyPath().slice(0, -1),
      progress: pct(total - W.notify!),
    },
    { name: 'a completed job is at 100', events: happyPath(), progress: 100 },
  ];
  for (const c of cases) {
    it(c.name, () => expect(run(callJob(), c.events).progress).toBe(c.progress));
  }

  it('an optional step counts only once the job shows it (a call drawn without generated clips)', () => {
    const job = run(callJob(), [recording(), split()]);
    const w = progressWeights('call', new Set());
    const sum = Object.values(w).reduce((a, b) => a + b, 0);
    expect(w.generate).toBeUndefined();
    expect(job.progress).toBe(Math.round(((w.ingest! + w.split!) / sum) * 1000) / 10);
  });

  it('never decreases', () => {
    const job = run(callJob(), [recording(), split()]);
    expect(overallProgress({ ...job, progress: 50 })).toBe(50);
  });

  it('a story job counts the steps its kind declares', () => {
    const story = newJob({ id: JOB, kind: 'story' }, new Date(t(0)));
    const job = run(story, [progress('ingest', 'completed', 1), progress('encode', 'completed', 2)]);
    const w = progressWeights('story', new Set());
    const sum = Object.values(w).reduce((a, b) => a + b, 0);
    expect(job.progress).toBe(Math.round(((w.ingest! + w.encode!) / sum) * 1000) / 10);
  });

  it('a new kind needs no notifier code: a render job progresses through its declared steps', () => {
    const render = newJob({ id: JOB, kind: 'render' }, new Date(t(0)));
    const job = run(render, [
      progress('ingest', 'completed', 1),
      progress('compose', 'completed', 2),
      progress('encode', 'running', 3, 50),
    ]);
    const w = progressWeights('render', new Set());
    const sum = Object.values(w).reduce((a, b) => a + b, 0);
    expect(job.progress).toBe(Math.round(((w.ingest! + w.compose! + w.encode! / 2) / sum) * 1000) / 10);
  });
});

describe('progress detail', () => {
  const detail = (step: string, at: number, d: Partial<EventOf<'job.progress'>['data']>): AnyEvent =>
    ({ ...progress(step, 'running', at), data: { step, status: 'running', ...d } }) as AnyEvent;
  const render = () => newJob({ id: JOB, kind: 'render' }, new Date(t(0)));

  it("a phase only moves forward through the kind's phases, whatever order the events arrive in", () => {
    const job = run(render(), [
      detail('encode', 20, { phase: 'concatenating' }),
      detail('encode', 10, { phase: 'rendering' }),
    ]);
    expect(job.progressDetail?.phase).toBe('concatenating');
  });

  it("shows the kind's last phase once the job completed, even before the worker's own last report", () => {
    const job = run(render(), [
      detail('encode', 20, { phase: 'uploading', etaSec: 3 }),
      completed(30),
      detail('encode', 31, { phase: 'uploading' }),
    ]);
    expect(job.progressDetail).toMatchObject({ phase: 'complete', etaSec: 0 });
    const call = run(callJob(), [recording(), completed(30)]);
    expect(call.progressDetail).toBeUndefined();
  });

  it("sums the frames each chunk reported, keeping each chunk's highest report", () => {
    const job = run(render(), [
      detail('encode', 10, { frames: { done: 0, total: 900 }, chunks: { done: 0, total: 3 } }),
      detail('encode', 11, { chunk: { index: 0, frames: 200 } }),
      detail('encode', 12, { chunk: { index: 1, frames: 150 } }),
      detail('encode', 13, { chunk: { index: 0, frames: 120 } }),
      detail('encode', 14, { chunks: { done: 1, total: 3 }, etaSec: 12 }),
    ]);
    expect(job.progressDetail?.frames).toEqual({ done: 350, total: 900 });
    expect(job.progressDetail?.chunks).toEqual({ done: 1, total: 3 });
    expect(job.progressDetail?.etaSec).toBe(12);
  });

  it("moves a chunked render's step with the frames its chunks reported (95 % for rendering; the join is the rest)", () => {
    const job = run(render(), [
      progress('encode', 'started', 9),
      detail('encode', 10, { frames: { done: 0, total: 1000 }, chunks: { done: 0, total: 4 } }),
      detail('encode', 11, { chunk: { index: 0, frames: 250 } }),
      detail('encode', 12, { chunk: { index: 2, frames: 150 } }),
    ]);
    expect(job.progressDetail?.frames).toEqual({ done: 400, total: 1000 });
    expect(job.steps.encode?.percent).toBe(38);
    // a chunk report never takes the percent back
    const later = run(job, [
      detail('encode', 13, { percent: 60 }),
      detail('encode', 14, { chunk: { index: 1, frames: 10 } }),
    ]);
    expect(later.steps.encode?.percent).toBe(60);
  });

  it('applying the same detail twice changes nothing the second time', () => {
    const e = detail('encode', 11, { chunk: { index: 0, frames: 200 } });
    const once = run(render(), [e]);
    expect(applyEvent(once, e, new Date())).toBeUndefined();
  });
});

describe('named outputs', () => {
  it('keeps the poster (and any named output) video.encoded brings beside the video', () => {
    const job = run(newJob({ id: JOB, kind: 'render' }, new Date(t(0))), [
      ev('video.encoded', 5, {
        key: `jobs/${JOB}/final.mp4`,
        durationSec: 150,
        sizeBytes: 9_000_000,
        width: 1920,
        height: 1080,
        videoCodec: 'h264',
        audioCodec: 'aac',
        backend: 'ffmpeg',
        encodeSeconds: 80,
        outputs: {
          poster: {
            key: `jobs/${JOB}/poster.jpg`,
            durationSec: 0,
            sizeBytes: 90_000,
            contentType: 'image/jpeg',
          },
        },
      }),
    ]);
    expect(job.steps.encode?.status).toBe('completed');
    expect(job.outputs.poster).toEqual({
      key: `jobs/${JOB}/poster.jpg`,
      durationSec: 0,
      sizeBytes: 90_000,
      contentType: 'image/jpeg',
    });
    expect(job.outputs.video?.key).toBe(`jobs/${JOB}/final.mp4`);
  });
});

describe('provisional kind', () => {
  it('a job created from a bus-only event takes its kind from the first event that names it', () => {
    const job = callJob({ kind: 'render', state: { notifier: { provisionalKind: true } } });
    const after = run(job, [progress('split', 'started', 2), recording()]);
    expect(after.kind).toBe('call');
    expect(notifierState(after).provisionalKind).toBeUndefined();
  });
});

describe('merges', () => {
  it('a merge job completes its merge step from video.encoded and keeps videoCount and the named extra outputs', () => {
    const job = { ...newJob({ id: JOB, kind: 'merge' }, new Date(t(0))) };
    const done = run(job, [
      ev('video.encoded', 5, {
        key: `jobs/${JOB}/final.mp4`,
        durationSec: 24,
        sizeBytes: 6_750_000,
        width: 1280,
        height: 720,
        videoCodec: 'h264',
        audioCodec: 'aac',
        backend: 'ffmpeg',
        encodeSeconds: 0.4,
        videoCount: 3,
        outputs: { hls: { key: `jobs/${JOB}/hls/master.m3u8`, durationSec: 24, sizeBytes: 9000 } },
      }),
    ]);
    expect(done.steps.merge?.status).toBe('completed');
    expect(done.steps.encode).toBeUndefined();
    expect(done.outputs.video).toMatchObject({
      key: `jobs/${JOB}/final.mp4`,
      durationSec: 24,
      sizeBytes: 6_750_000,
      videoCount: 3,
    });
    expect(done.outputs.hls).toMatchObject({ key: `jobs/${JOB}/hls/master.m3u8` });
  });
});

describe('cancel, test mode and finishedAt (issue 15)', () => {
  const cancelled = (sec: number) => ev('job.cancelled', sec, { by: 'alice', reason: 'wrong recording' });

  it('job.cancelled ends a running job: status cancelled, who and why, running steps skipped, finishedAt', () => {
    const job = run(callJob(), [recording(), progress('encode', 'started', 30), cancelled(40)]);
    expect(job.status).toBe('cancelled');
    expect(job.cancel).toEqual({ requestedAt: t(40), by: 'alice', reason: 'wrong recording' });
    expect(job.steps.encode).toMatchObject({ status: 'skipped', finishedAt: t(40) });
    expect(job.finishedAt).toBe(t(40));
    expect(notifierState(job)).toMatchObject({ cancelledAt: t(40), cancelledEventId: 'job.cancelled:40' });
  });

  it.each([
    ['a job.completed after the cancel', () => completed(45), 'cancelled'],
    ['a job.failed after the cancel', () => failed('encode', 45), 'cancelled'],
  ] as const)('%s changes nothing', (_n, late, status) => {
    const job = run(callJob(), [recording(), cancelled(40), late()]);
    expect(job.status).toBe(status);
    expect(job.finishedAt).toBe(t(40));
    expect(job.error).toBeUndefined();
  });

  it('a cancel that arrives after the job completed leaves it completed', () => {
    const job = run(callJob(), [recording(), completed(45), cancelled(50)]);
    expect(job.status).toBe('completed');
    expect(job.cancel).toBeUndefined();
    expect(job.finishedAt).toBe(t(45));
  });

  it('finishedAt moves to the completion when a failed job is recovered', () => {
    const failedJob = run(callJob(), [recording(), failed('encode', 30)]);
    expect(failedJob.finishedAt).toBe(t(30));
    expect(run(failedJob, [completed(60)]).finishedAt).toBe(t(60));
  });

  it('an event with testMode marks the job a test run; events without it never unmark it', () => {
    const flagged = { ...recording(), testMode: true } as AnyEvent;
    const job = run(callJob(), [flagged, split()]);
    expect(job.testMode).toBe(true);
    expect(run(callJob(), [recording()]).testMode).toBe(false);
  });
});
