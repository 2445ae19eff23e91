import { describe, expect, it } from 'vitest';
import type { Envelope, JobView, KindSpec } from '../api/types.ts';
import { foldEvent, mergeDocument, overallProgress } from './fold.ts';

const CALL: KindSpec = {
  kind: 'call',
  description: 'A call',
  steps: [
    { name: 'ingest', weight: 2, description: '' },
    { name: 'download', weight: 3, optional: true, description: '' },
    { name: 'split', weight: 8, description: '' },
    { name: 'generate', weight: 40, description: '' },
    { name: 'compose', weight: 2, description: '' },
    { name: 'encode', weight: 46, description: '' },
    { name: 'notify', weight: 2, description: '' },
  ],
  phases: [],
};
const RENDER: KindSpec = { ...CALL, kind: 'render', phases: ['queued', 'rendering', 'joining'] };

function job(over: Partial<JobView> = {}): JobView {
  return {
    id: 'job_1',
    kind: 'call',
    status: 'queued',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    input: {},
    steps: {},
    progress: 0,
    outputs: {},
    warnings: [],
    testMode: false,
    notifications: [],
    state: {},
    ...over,
  };
}

let n = 0;
function ev(type: string, data: Record<string, unknown>, at = '2026-01-01T00:00:10.000Z'): Envelope {
  n += 1;
  return { id: `e${n}`, type, version: 1, jobId: 'job_1', occurredAt: at, data } as unknown as Envelope;
}

describe('foldEvent', () => {
  it('starts a step on job.progress and moves the job to running', () => {
    const j = foldEvent(job(), ev('job.progress', { step: 'split', status: 'started' }), CALL);
    expect(j.status).toBe('running');
    expect(j.steps.split).toMatchObject({ status: 'running', startedAt: '2026-01-01T00:00:10.000Z' });
  });

  it('computes the overall progress from the kind weights, as the notifier does', () => {
    let j = job({ steps: { ingest: { status: 'completed' } } });
    j = foldEvent(j, ev('job.progress', { step: 'split', status: 'completed', percent: 100 }), CALL);
    j = foldEvent(j, ev('job.progress', { step: 'generate', status: 'running', percent: 50 }), CALL);
    // (2 + 8 + 40·0.5) of the required 100 (download is optional and absent)
    expect(j.progress).toBe(30);
  });

  it('counts an optional step once the job shows it', () => {
    const j = job({
      status: 'running',
      steps: { ingest: { status: 'completed' }, download: { status: 'running', percent: 0 } },
    });
    // 2 of 103
    expect(overallProgress(j, CALL)).toBeCloseTo(1.9, 1);
  });

  it('never lowers the progress or a step percent', () => {
    let j = job({ progress: 40 });
    j = foldEvent(j, ev('job.progress', { step: 'encode', status: 'running', percent: 60 }), CALL);
    j = foldEvent(j, ev('job.progress', { step: 'encode', status: 'running', percent: 20 }), CALL);
    expect(j.steps.encode?.percent).toBe(60);
    expect(j.progress).toBe(40);
  });

  it('keeps the step timings: earliest start, the finish, the duration', () => {
    let j = foldEvent(
      job(),
      ev('job.progress', { step: 'encode', status: 'started' }, '2026-01-01T00:00:10.000Z'),
      CALL,
    );
    j = foldEvent(
      j,
      ev('job.progress', { step: 'encode', status: 'completed' }, '2026-01-01T00:00:14.500Z'),
      CALL,
    );
    expect(j.steps.encode).toMatchObject({
      status: 'completed',
      percent: 100,
      startedAt: '2026-01-01T00:00:10.000Z',
      finishedAt: '2026-01-01T00:00:14.500Z',
      durationMs: 4500,
    });
  });

  it('does not move a completed step back to running', () => {
    let j = foldEvent(job(), ev('job.progress', { step: 'split', status: 'completed' }), CALL);
    j = foldEvent(j, ev('job.progress', { step: 'split', status: 'running', percent: 10 }), CALL);
    expect(j.steps.split?.status).toBe('completed');
  });

  it('shows a failure with its step and reason, and keeps the first failure as the cause', () => {
    let j = foldEvent(job(), ev('job.failed', { step: 'split', reason: 'not audio', permanent: true }), CALL);
    j = foldEvent(j, ev('job.failed', { step: 'notify', reason: 'later', permanent: true }), CALL);
    expect(j.status).toBe('failed');
    expect(j.error).toEqual({ step: 'split', reason: 'not audio' });
    expect(j.steps.split).toMatchObject({ status: 'failed', error: 'not audio' });
  });

  it('completes: 100 %, the outputs, every step finished, the error cleared (a recovery)', () => {
    let j = foldEvent(job(), ev('job.progress', { step: 'encode', status: 'running', percent: 30 }), CALL);
    j = foldEvent(j, ev('job.failed', { step: 'encode', reason: 'x', permanent: false }), CALL);
    const video = { key: 'jobs/job_1/final.mp4', durationSec: 12, sizeBytes: 1000, width: 1280, height: 720 };
    j = foldEvent(j, ev('job.completed', { outputs: { video }, warnings: ['side silent'] }), CALL);
    expect(j.status).toBe('completed');
    expect(j.progress).toBe(100);
    expect(j.error).toBeUndefined();
    expect(j.outputs.video).toEqual(video);
    expect(j.warnings).toEqual(['side silent']);
  });

  it('keeps a completed job completed when a stale failure arrives', () => {
    let j = foldEvent(job(), ev('job.completed', { outputs: {}, warnings: [] }), CALL);
    j = foldEvent(j, ev('job.failed', { step: 'encode', reason: 'stale', permanent: false }), CALL);
    expect(j.status).toBe('completed');
    expect(j.error).toBeUndefined();
  });

  it("shows the request accepted (ingest completed at the job's creation) once any work on the job is seen", () => {
    const next = foldEvent(job(), ev('job.progress', { step: 'split', status: 'started' }), CALL);
    expect(next.steps.ingest).toMatchObject({
      status: 'completed',
      startedAt: '2026-01-01T00:00:00.000Z',
      finishedAt: '2026-01-01T00:00:00.000Z',
    });
    expect(next.steps.split?.status).toBe('running');
    // a kind without an ingest step gets none
    const noIngest: KindSpec = { ...CALL, steps: CALL.steps.filter((s) => s.name !== 'ingest') };
    expect(
      foldEvent(job(), ev('job.progress', { step: 'split', status: 'started' }), noIngest).steps.ingest,
    ).toBe(undefined);
  });

  it('keeps a signed link that still works when a fresh read re-signs it, so a playing video is not reloaded', () => {
    const now = Date.parse('2026-01-01T00:00:00.000Z');
    const link = (path: string, expires: number) =>
      `/v1/jobs/job_1/${path}?expires=${expires}&signature=s${expires}`;
    const hour = now / 1000 + 3600;
    const folded = job({
      status: 'completed',
      links: { video: link('video.mp4', hour), poster: link('poster.jpg', now / 1000 + 60) },
    });
    const fetched = job({
      status: 'completed',
      links: {
        video: link('video.mp4', hour + 5),
        poster: link('poster.jpg', hour + 5),
        audio: link('audio', hour + 5),
      },
    });
    const merged = mergeDocument(folded, fetched, now);
    expect(merged.links?.video).toBe(link('video.mp4', hour)); // still good for an hour: kept
    expect(merged.links?.poster).toBe(link('poster.jpg', hour + 5)); // about to expire: the fresh one
    expect(merged.links?.audio).toBe(link('audio', hour + 5)); // new
    // another file under the same name is never kept
    const other = mergeDocument(
      job({ links: { video: '/v1/jobs/job_0/video.mp4?expires=9999999999&signature=x' } }),
      fetched,
      now,
    );
    expect(other.links?.video).toBe(link('video.mp4', hour + 5));
  });

  it('adds each warning once', () => {
    let j = foldEvent(job(), ev('job.warning', { step: 'images', message: 'image 2 skipped' }), CALL);
    j = foldEvent(j, ev('job.warning', { step: 'images', message: 'image 2 skipped' }), CALL);
    expect(j.warnings).toEqual(['image 2 skipped']);
  });

  it('marks a stalled job, and an event after it puts it back to running', () => {
    let j = foldEvent(
      job({ status: 'running' }),
      ev('job.stalled', { step: 'encode', idleSeconds: 700, lastEventAt: '2026-01-01T00:00:00.000Z' }),
      CALL,
    );
    expect(j.status).toBe('stalled');
    j = foldEvent(j, ev('job.progress', { step: 'encode', status: 'running', percent: 70 }), CALL);
    expect(j.status).toBe('running');
  });

  it('moves the phase only forward through the kind’s phases, and keeps the largest counts', () => {
    let j = job({ kind: 'render' });
    j = foldEvent(
      j,
      ev('job.progress', {
        step: 'encode',
        status: 'running',
        phase: 'joining',
        chunks: { done: 4, total: 4 },
      }),
      RENDER,
    );
    j = foldEvent(
      j,
      ev('job.progress', {
        step: 'encode',
        status: 'running',
        phase: 'rendering',
        chunks: { done: 2, total: 4 },
        etaSec: 3,
      }),
      RENDER,
    );
    expect(j.progressDetail).toMatchObject({ phase: 'joining', chunks: { done: 4, total: 4 }, etaSec: 3 });
  });

  it('ignores another job’s event', () => {
    const j = job();
    const other = { ...ev('job.completed', { outputs: {}, warnings: [] }), jobId: 'job_2' } as Envelope;
    expect(foldEvent(j, other, CALL)).toBe(j);
  });

  it('uses the document’s progress for a kind it does not know', () => {
    const j = foldEvent(
      job({ progress: 12 }),
      ev('job.progress', { step: 'x', status: 'running', percent: 90 }),
      undefined,
    );
    expect(j.progress).toBe(12);
  });
});

describe('mergeDocument', () => {
  it('takes the stored document but never moves a finished status or a step back', () => {
    const folded = job({
      status: 'completed',
      progress: 100,
      steps: { encode: { status: 'completed', percent: 100 } },
      outputs: { video: { key: 'k', durationSec: 1, sizeBytes: 1 } },
    });
    const stored = job({
      status: 'running',
      progress: 96,
      steps: { encode: { status: 'running', percent: 98 } },
      traceId: 'abc',
    });
    const merged = mergeDocument(folded, stored);
    expect(merged).toMatchObject({ status: 'completed', progress: 100, traceId: 'abc' });
    expect(merged.steps.encode?.status).toBe('completed');
    expect(merged.outputs.video?.key).toBe('k');
  });

  it('takes the stored document as it is when nothing was folded', () => {
    const stored = job({ status: 'failed' });
    expect(mergeDocument(undefined, stored)).toBe(stored);
  });
});
