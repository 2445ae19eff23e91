import { describe, expect, it } from 'vitest';
import {
  Reel,
  addTake,
  approveTake,
  compilePlan,
  finishCompile,
  finishTake,
  isReelRuleError,
  nextTakeId,
  rejectTake,
  removeTake,
  reorderSections,
  startCompile,
  type ReelRuleError,
  type ReelTake,
} from './reel.ts';

const AT = '2026-12-02T10:00:00.000Z';
const LATER = '2026-12-02T10:05:00.000Z';
const alice = { name: 'alice', role: 'user' as const };
const bob = { name: 'bob', role: 'user' as const };
const video = (key: string, durationSec = 4) => ({
  key,
  durationSec,
  sizeBytes: 1000,
  width: 320,
  height: 180,
});

const take = (id: string, over: Partial<ReelTake> = {}): ReelTake => {
  const jobId = over.jobId ?? `job_${id}`;
  return {
    id,
    jobId,
    params: { prompt: 'p' },
    status: 'ready',
    createdAt: AT,
    output: video(`jobs/${jobId}/generate/video.mp4`),
    ...over,
  };
};

function reel(): Reel {
  return Reel.parse({
    title: 'Lighthouse',
    sections: [
      {
        id: 's1',
        title: 'Intro',
        model: 'local-video',
        params: { prompt: 'a' },
        takes: [take('t1'), take('t2')],
      },
      {
        id: 's2',
        model: 'local-video',
        params: { prompt: 'b' },
        takes: [take('t1', { jobId: 'job_s2t1', status: 'pending', output: undefined })],
      },
      { id: 's3', model: 'local-video', params: { prompt: 'c' }, takes: [take('t1', { jobId: 'job_s3t1' })] },
    ],
  });
}

function refused(f: () => unknown): ReelRuleError {
  try {
    f();
  } catch (err) {
    if (isReelRuleError(err)) return err;
    throw err;
  }
  throw new Error('expected a ReelRuleError');
}

describe('approving and rejecting takes', () => {
  it('approves a ready take, recording who and when', () => {
    const r = approveTake(reel(), { sectionId: 's1', takeId: 't2', by: alice, at: AT })!;
    expect(r.sections[0]!.takes[1]).toMatchObject({ status: 'approved', approvedBy: alice, approvedAt: AT });
    expect(r.sections[0]!.takes[0]!.status).toBe('ready');
  });

  it('keeps at most one approved take per section: approving another names the approved one', () => {
    const r = approveTake(reel(), { sectionId: 's1', takeId: 't1', by: alice, at: AT })!;
    const err = refused(() => approveTake(r, { sectionId: 's1', takeId: 't2', by: bob, at: LATER }));
    expect(err.code).toBe('conflict');
    expect(err.message).toBe(
      `section s1 ("Intro") already has an approved take, t1 (approved by alice at ${AT}); reject it first to approve t2`,
    );
    // approving the approved take again changes nothing
    expect(approveTake(r, { sectionId: 's1', takeId: 't1', by: bob, at: LATER })).toBeUndefined();
  });

  it('refuses pending and failed takes, and names unknown sections and takes', () => {
    expect(refused(() => approveTake(reel(), { sectionId: 's2', takeId: 't1', at: AT })).message).toMatch(
      /take t1 of section s2 is still generating \(job job_s2t1\)/,
    );
    const failed = finishTake(reel(), {
      sectionId: 's2',
      takeId: 't1',
      jobId: 'job_s2t1',
      at: AT,
      result: { status: 'failed', error: 'CUDA out of memory' },
    })!;
    expect(refused(() => approveTake(failed, { sectionId: 's2', takeId: 't1', at: AT })).message).toMatch(
      /failed and has no video \(CUDA out of memory\); regenerate the section/,
    );
    expect(refused(() => rejectTake(failed, { sectionId: 's2', takeId: 't1', at: AT })).code).toBe(
      'conflict',
    );
    const nf = refused(() => approveTake(reel(), { sectionId: 's9', takeId: 't1', at: AT }));
    expect([nf.code, nf.message]).toEqual(['not_found', 'the reel has no section "s9" (it has s1, s2, s3)']);
    expect(refused(() => approveTake(reel(), { sectionId: 's1', takeId: 't7', at: AT })).message).toBe(
      'section s1 ("Intro") has no take "t7" (it has t1, t2)',
    );
  });

  it('rejects a take with a reason; rejecting the approved take un-approves it; a rejected take can be approved again', () => {
    const approved = approveTake(reel(), { sectionId: 's1', takeId: 't1', by: alice, at: AT })!;
    const rejected = rejectTake(approved, {
      sectionId: 's1',
      takeId: 't1',
      by: bob,
      at: LATER,
      reason: 'too dark',
    })!;
    expect(rejected.sections[0]!.takes[0]).toMatchObject({
      status: 'rejected',
      rejectedBy: bob,
      rejectedAt: LATER,
      rejectReason: 'too dark',
    });
    expect(rejected.sections[0]!.takes[0]).not.toHaveProperty('approvedBy');
    expect(rejectTake(rejected, { sectionId: 's1', takeId: 't1', at: LATER })).toBeUndefined();
    const again = approveTake(rejected, { sectionId: 's1', takeId: 't1', by: alice, at: LATER })!;
    expect(again.sections[0]!.takes[0]).toMatchObject({ status: 'approved', approvedBy: alice });
    expect(again.sections[0]!.takes[0]).not.toHaveProperty('rejectReason');
  });
});

describe('takes finishing and regenerating', () => {
  it('moves a pending take to ready with its video, once, and only for its own job', () => {
    const result = { status: 'completed' as const, output: video('jobs/job_s2t1/generate/video.mp4', 3) };
    expect(
      finishTake(reel(), { sectionId: 's2', takeId: 't1', jobId: 'job_other', at: AT, result }),
    ).toBeUndefined();
    const r = finishTake(reel(), { sectionId: 's2', takeId: 't1', jobId: 'job_s2t1', at: AT, result })!;
    expect(r.sections[1]!.takes[0]).toMatchObject({
      status: 'ready',
      finishedAt: AT,
      output: { durationSec: 3 },
    });
    expect(
      finishTake(r, { sectionId: 's2', takeId: 't1', jobId: 'job_s2t1', at: LATER, result }),
    ).toBeUndefined();
  });

  it('adds a take with the next id and keeps the earlier ones; removes one that was never queued', () => {
    const base = reel();
    expect(nextTakeId(base.sections[0]!)).toBe('t3');
    const r = addTake(base, {
      sectionId: 's1',
      takeId: 't3',
      jobId: 'job_new',
      params: { prompt: 'x' },
      by: alice,
      at: AT,
    });
    expect(r.sections[0]!.takes.map((t) => [t.id, t.status])).toEqual([
      ['t1', 'ready'],
      ['t2', 'ready'],
      ['t3', 'pending'],
    ]);
    expect(
      refused(() => addTake(r, { sectionId: 's1', takeId: 't3', jobId: 'j', params: {}, at: AT })).code,
    ).toBe('conflict');
    expect(
      removeTake(r, { sectionId: 's1', takeId: 't3', jobId: 'job_new' })!.sections[0]!.takes,
    ).toHaveLength(2);
    expect(removeTake(r, { sectionId: 's1', takeId: 't3', jobId: 'job_someone_else' })).toBeUndefined();
  });
});

describe('section order', () => {
  it('re-orders by section ids; the same order changes nothing', () => {
    const r = reorderSections(reel(), ['s3', 's1', 's2'])!;
    expect(r.sections.map((s) => s.id)).toEqual(['s3', 's1', 's2']);
    expect(reorderSections(reel(), ['s1', 's2', 's3'])).toBeUndefined();
  });

  it('names every problem of a bad order at once', () => {
    const err = refused(() => reorderSections(reel(), ['s3', 's3', 's7']));
    expect(err.code).toBe('invalid_input');
    expect(err.issues).toEqual([
      { field: 'sectionOrder[1]', message: '"s3" is listed twice' },
      { field: 'sectionOrder[2]', message: 'no section "s7" (the reel has s1, s2, s3)' },
      { field: 'sectionOrder', message: 'must list every section; missing s1, s2' },
    ]);
  });
});

describe('compile', () => {
  it('names every section without an approved take, with what it has', () => {
    const plan = compilePlan(approveTake(reel(), { sectionId: 's3', takeId: 't1', at: AT })!);
    expect(plan).toEqual({
      ok: false,
      missing: [
        { field: 'sections.s1', message: 'section s1 ("Intro") has no approved take (2 ready)' },
        { field: 'sections.s2', message: 'section s2 has no approved take (1 pending)' },
      ],
    });
  });

  it('joins the approved takes in section order', () => {
    let r = finishTake(reel(), {
      sectionId: 's2',
      takeId: 't1',
      jobId: 'job_s2t1',
      at: AT,
      result: { status: 'completed', output: video('jobs/job_s2t1/generate/video.mp4', 2) },
    })!;
    r = approveTake(r, { sectionId: 's1', takeId: 't2', at: AT })!;
    r = approveTake(r, { sectionId: 's2', takeId: 't1', at: AT })!;
    r = approveTake(r, { sectionId: 's3', takeId: 't1', at: AT })!;
    r = reorderSections(r, ['s2', 's1', 's3'])!;
    const plan = compilePlan(r);
    expect(plan.ok && plan.clips.map((c) => [c.sectionId, c.takeId, c.key])).toEqual([
      ['s2', 't1', 'jobs/job_s2t1/generate/video.mp4'],
      ['s1', 't2', 'jobs/job_t2/generate/video.mp4'],
      ['s3', 't1', 'jobs/job_s3t1/generate/video.mp4'],
    ]);
  });

  it('runs one compile at a time (unless the running one was lost), and finishes it once', () => {
    const started = startCompile(reel(), { jobId: 'job_c1', revision: 7, takes: [], by: alice, at: AT });
    expect(started.compile).toMatchObject({
      jobId: 'job_c1',
      status: 'running',
      revision: 7,
      requestedBy: alice,
    });
    expect(
      refused(() => startCompile(started, { jobId: 'job_c2', revision: 8, takes: [], at: LATER })).message,
    ).toBe('the reel is being compiled (job job_c1); wait for it to finish');
    expect(
      startCompile(started, { jobId: 'job_c2', revision: 8, takes: [], at: LATER, staleRunning: true })
        .compile?.jobId,
    ).toBe('job_c2');
    const output = { ...video('jobs/job_c1/final.mp4', 9), videoCount: 3 };
    expect(
      finishCompile(started, { jobId: 'job_other', at: LATER, result: { status: 'completed', output } }),
    ).toBeUndefined();
    const done = finishCompile(started, {
      jobId: 'job_c1',
      at: LATER,
      result: { status: 'completed', output },
    })!;
    expect(done.compile).toMatchObject({ status: 'completed', finishedAt: LATER, output: { videoCount: 3 } });
    expect(
      finishCompile(done, { jobId: 'job_c1', at: LATER, result: { status: 'failed', error: 'x' } }),
    ).toBeUndefined();
  });
});
