import { describe, expect, it } from 'vitest';
import type { Job } from '@reelbus/contracts';
import { progressBar } from './progress-line.ts';

const job = (over: Partial<Job>): Job => ({ progress: 0, status: 'running', steps: {}, ...over }) as Job;

describe('progressBar', () => {
  it('shows the running step, its percent and what it says it is doing', () => {
    const line = progressBar(
      job({
        progress: 40,
        steps: {
          compose: { status: 'running', message: 'generating the sample music library (once)' },
        } as Job['steps'],
      }),
    );
    expect(line).toBe(
      '[############..................]  40%  compose: generating the sample music library (once)',
    );
  });

  it('stays on one terminal line', () => {
    const line = progressBar(
      job({
        progress: 10,
        steps: { encode: { status: 'running', percent: 12, message: 'x'.repeat(200) } } as Job['steps'],
      }),
      80,
    );
    expect(line).toHaveLength(79);
    expect(line.endsWith('…')).toBe(true);
    expect(line).toContain('encode 12%: xxx');
  });

  it("shows a chunked render's phase, chunks done and time left", () => {
    const line = progressBar(
      job({
        progress: 55,
        steps: {
          encode: { status: 'running', percent: 47, message: '3 of 10 chunks rendered' },
        } as Job['steps'],
        progressDetail: { phase: 'rendering', chunks: { done: 3, total: 10 }, etaSec: 125 },
      }),
      140,
    );
    expect(line).toBe(
      '[#################.............]  55%  encode 47% (rendering, chunks 3/10, ~2 min 05 s left): 3 of 10 chunks rendered',
    );
  });

  it('shows the status when no step runs', () => {
    expect(progressBar(job({ progress: 100, status: 'completed' })).trimEnd()).toBe(
      '[##############################] 100%  completed',
    );
  });
});
