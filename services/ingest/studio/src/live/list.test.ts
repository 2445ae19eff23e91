import { describe, expect, it } from 'vitest';
import type { Envelope, JobView } from '../api/types.ts';
import { addDocuments, applyEvent, MAX_KNOWN, visibleJobs } from './list.ts';

function job(id: string, over: Partial<JobView> = {}): JobView {
  return {
    id,
    kind: 'call',
    status: 'running',
    createdAt: `2026-01-01T00:00:${id.slice(-2)}.000Z`,
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
const completed = (jobId: string) =>
  ({
    id: 'c',
    type: 'job.completed',
    version: 1,
    jobId,
    occurredAt: '2026-01-01T00:01:00.000Z',
    data: { outputs: {}, warnings: [] },
  }) as unknown as Envelope;

describe('the live job list', () => {
  it('shows matching jobs newest first, at most the limit', () => {
    const known = addDocuments(new Map(), [job('j_01'), job('j_03', { kind: 'story' }), job('j_02')]);
    expect(visibleJobs(known, {}, 2).map((j) => j.id)).toEqual(['j_03', 'j_02']);
    expect(visibleJobs(known, { kind: 'call' }, 10).map((j) => j.id)).toEqual(['j_02', 'j_01']);
  });

  it('folds an event into a known job, and a job that now matches the filter appears', () => {
    let known: ReadonlyMap<string, JobView> = addDocuments(new Map(), [job('j_01')]);
    expect(visibleJobs(known, { status: 'completed' }, 10)).toEqual([]);
    const r = applyEvent(known, completed('j_01'), {});
    expect(r.unknown).toBe(false);
    known = r.known;
    expect(visibleJobs(known, { status: 'completed' }, 10).map((j) => [j.id, j.status, j.progress])).toEqual([
      ['j_01', 'completed', 100],
    ]);
  });

  it('says when an event is for a job it has not seen, and changes nothing', () => {
    const known = addDocuments(new Map(), [job('j_01')]);
    const r = applyEvent(known, completed('j_09'), {});
    expect(r).toEqual({ known, unknown: true });
  });

  it('keeps what was folded when an older document of the job arrives', () => {
    let known: ReadonlyMap<string, JobView> = addDocuments(new Map(), [job('j_01')]);
    known = applyEvent(known, completed('j_01'), {}).known;
    known = addDocuments(known, [job('j_01', { status: 'running', progress: 50 })]);
    expect(known.get('j_01')).toMatchObject({ status: 'completed', progress: 100 });
  });

  it('forgets the oldest jobs beyond its cap', () => {
    const many = Array.from({ length: MAX_KNOWN + 5 }, (_, i) =>
      job(`j_${String(i).padStart(4, '0')}`, {
        createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
      }),
    );
    const known = addDocuments(new Map(), many);
    expect(known.size).toBe(MAX_KNOWN);
    expect(known.has('j_0000')).toBe(false);
    expect(known.has(`j_${String(MAX_KNOWN + 4).padStart(4, '0')}`)).toBe(true);
  });
});
