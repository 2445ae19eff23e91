import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  formatReel,
  readReelSpec,
  resolveSection,
  takeToApprove,
  takesSettled,
  type ReelView,
  type TakeView,
} from './reel.ts';

const take = (id: string, status: TakeView['status'], over: Partial<TakeView> = {}): TakeView => ({
  id,
  jobId: `job_${id}`,
  params: {},
  status,
  createdAt: '2026-12-02T10:00:00.000Z',
  links: { job: `http://x/v1/jobs/job_${id}` },
  ...(status !== 'pending' && status !== 'failed'
    ? {
        output: {
          key: `jobs/job_${id}/generate/video.mp4`,
          durationSec: 2,
          sizeBytes: 10,
          width: 640,
          height: 360,
        },
      }
    : {}),
  ...over,
});

const reel: ReelView = {
  id: 'reel_1',
  revision: 5,
  title: 'Demo',
  sections: [
    {
      id: 's1',
      title: 'Dusk',
      model: 'local-video',
      takes: [take('t1', 'rejected'), take('t2', 'ready'), take('t3', 'ready')],
    },
    {
      id: 's2',
      model: 'local-video',
      approvedTakeId: 't1',
      takes: [take('t1', 'approved', { approvedBy: { name: 'alice', role: 'user' } })],
    },
    {
      id: 's3',
      title: 'Night',
      model: 'local-video',
      takes: [take('t1', 'failed', { error: 'boom' }), take('t2', 'pending')],
    },
  ],
  links: { self: 'http://x/v1/reels/reel_1', events: 'http://x/v1/reels/reel_1/events' },
};

describe('reel CLI decisions', () => {
  it('finds a section by id, position or title, and lists them when none matches', () => {
    expect(resolveSection(reel, 's2').id).toBe('s2');
    expect(resolveSection(reel, '3').id).toBe('s3');
    expect(resolveSection(reel, 'dusk').id).toBe('s1');
    expect(() => resolveSection(reel, 'Noon')).toThrow(
      'no section "Noon" in reel reel_1; its sections: s1 (1, "Dusk"), s2 (2), s3 (3, "Night")',
    );
  });

  it('approves the newest ready take by default, or the named one; says why there is none', () => {
    expect(takeToApprove(reel.sections[0]!).id).toBe('t3');
    expect(takeToApprove(reel.sections[0]!, '2').id).toBe('t2');
    expect(takeToApprove(reel.sections[1]!).id).toBe('t1');
    expect(() => takeToApprove(reel.sections[2]!)).toThrow(
      'section s3 has no ready take to approve (1 still generating; try again when ready)',
    );
    expect(() => takeToApprove(reel.sections[0]!, 't9')).toThrow(
      'section s1 has no take "t9" (it has t1, t2, t3)',
    );
    expect(takesSettled(reel)).toBe(false);
  });

  it('prints sections, takes, who approved, failures and files', () => {
    const text = formatReel(reel, { blobPath: (k) => `/blobs/${k}` });
    expect(text).toContain('reel reel_1  "Demo"  (revision 5)');
    expect(text).toContain('2. s2  local-video  approved: t1');
    expect(text).toMatch(/\* t1 +approved +2\.00 s, 640x360  by alice/);
    expect(text).toMatch(/t1 +failed +boom/);
    expect(text).toContain('/blobs/jobs/job_t3/generate/video.mp4');
  });

  it('reads a spec file and names what is wrong with a bad one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'reel-spec-'));
    const good = join(dir, 'good.json');
    writeFileSync(
      good,
      JSON.stringify({ title: 't', sections: [{ model: 'local-video', params: { prompt: 'a' } }] }),
    );
    expect(readReelSpec(good).title).toBe('t');
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ "title": 1 }');
    expect(() => readReelSpec(bad)).toThrow(/bad\.json must be \{ "title"/);
    writeFileSync(bad, 'nope');
    expect(() => readReelSpec(bad)).toThrow(/bad\.json is not JSON/);
    expect(() => readReelSpec(join(dir, 'missing.json'))).toThrow(
      /cannot read the reel spec .*missing\.json/,
    );
  });
});
