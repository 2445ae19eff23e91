import { describe, expect, it } from 'vitest';
import type { JobView, KindSpec } from '../api/types.ts';
import { stepElapsedMs, stepRows } from './steps.ts';

const spec: KindSpec = {
  kind: 'call',
  description: '',
  steps: [
    { name: 'ingest', weight: 2, description: 'received' },
    { name: 'download', weight: 3, optional: true, description: 'fetched' },
    { name: 'split', weight: 95, description: 'split' },
  ],
  phases: [],
};

describe('stepRows', () => {
  it('lists the kind’s steps in order, pending ones too, optional ones only when present, then others', () => {
    const job = {
      steps: { extra: { status: 'running' }, ingest: { status: 'completed' } },
    } as unknown as JobView;
    expect(stepRows(job, spec).map((r) => [r.name, r.state.status, r.description])).toEqual([
      ['ingest', 'completed', 'received'],
      ['split', 'pending', 'split'],
      ['extra', 'running', undefined],
    ]);
  });
  it('lists the job’s own steps when the kind is unknown', () => {
    const job = { steps: { a: { status: 'completed' } } } as unknown as JobView;
    expect(stepRows(job, undefined).map((r) => r.name)).toEqual(['a']);
  });
});

describe('stepElapsedMs', () => {
  const now = Date.parse('2026-01-01T00:01:00Z');
  it('is the duration when finished, the time so far when running, nothing before the start', () => {
    expect(stepElapsedMs({ status: 'completed', durationMs: 1500 }, now)).toBe(1500);
    expect(stepElapsedMs({ status: 'running', startedAt: '2026-01-01T00:00:30Z' }, now)).toBe(30_000);
    expect(stepElapsedMs({ status: 'pending' }, now)).toBeUndefined();
  });
});
