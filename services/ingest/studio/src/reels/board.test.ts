import { describe, expect, it } from 'vitest';
import type { ReelUpdate, ReelView, SectionView, TakeView } from '../api/reels.ts';
import {
  changeText,
  changedParams,
  compileIsCurrent,
  compileReadiness,
  isNewer,
  keepVideoLinks,
  linkSecondsLeft,
  movedOrder,
  paramValuesOf,
  sectionName,
  takeActions,
  takeCounts,
} from './board.ts';
import { paramFields } from '../forms/schema-form.ts';

const AT = '2026-12-02T10:00:00.000Z';
const output = { key: 'jobs/j/generate/video.mp4', durationSec: 1, sizeBytes: 1000 };
const take = (id: string, status: TakeView['status'], extra: Partial<TakeView> = {}): TakeView => ({
  id,
  jobId: `job_${id}`,
  params: {},
  status,
  createdAt: AT,
  ...(status === 'pending' || status === 'failed' ? {} : { output }),
  links: { job: `/v1/jobs/job_${id}` },
  ...extra,
});
const section = (id: string, takes: TakeView[], title?: string): SectionView => ({
  id,
  ...(title ? { title } : {}),
  model: 'local-video',
  params: { prompt: id },
  takes,
});
const reel = (sections: SectionView[], compile?: ReelView['compile']): ReelView => ({
  id: 'reel_1',
  revision: 4,
  createdAt: AT,
  updatedAt: AT,
  title: 'A reel',
  sections,
  ...(compile ? { compile } : {}),
  links: { self: '', events: '', compile: '' },
});

describe('compileReadiness', () => {
  it('is ready when every section has an approved take with a video', () => {
    const r = reel([section('s1', [take('t1', 'approved')]), section('s2', [take('t1', 'approved')])]);
    expect(compileReadiness(r)).toEqual({ ready: true, reasons: [] });
  });

  it('names each section without an approved take, by its place and title, with what its takes are', () => {
    const r = reel([
      section('s2', [take('t1', 'approved')]),
      section('s1', [take('t1', 'rejected'), take('t2', 'ready')], 'Intro'),
      section('s3', [take('t1', 'pending'), take('t2', 'failed')]),
      section('s4', []),
    ]);
    expect(compileReadiness(r)).toEqual({
      ready: false,
      reasons: [
        'Section 2 “Intro” has no approved take (1 waiting for review, 1 rejected).',
        'Section 3 has no approved take (1 generating, 1 failed).',
        'Section 4 has no approved take (no takes).',
      ],
    });
  });

  it('waits for a running compile', () => {
    const r = reel([section('s1', [take('t1', 'approved')]), section('s2', [take('t1', 'approved')])], {
      jobId: 'job_c',
      status: 'running',
      requestedAt: AT,
      revision: 3,
      takes: [],
      links: { job: '' },
    });
    expect(compileReadiness(r)).toEqual({
      ready: false,
      reasons: ['A compile is running (job job_c); wait for it to finish.'],
    });
  });
});

describe('takeActions', () => {
  it('offers approve and reject on a ready take, only reject on the approved one, nothing while generating or failed', () => {
    const s = section('s1', [take('t1', 'ready'), take('t2', 'pending'), take('t3', 'failed')]);
    expect(takeActions(s, s.takes[0]!)).toEqual({ approve: true, approveBlockedBy: undefined, reject: true });
    expect(takeActions(s, s.takes[1]!)).toEqual({
      approve: false,
      approveBlockedBy: undefined,
      reject: false,
    });
    expect(takeActions(s, s.takes[2]!)).toEqual({
      approve: false,
      approveBlockedBy: undefined,
      reject: false,
    });
    const a = section('s1', [take('t1', 'approved')]);
    expect(takeActions(a, a.takes[0]!)).toEqual({
      approve: false,
      approveBlockedBy: undefined,
      reject: true,
    });
  });

  it('lets a rejected take be approved again, but not while another take of the section is approved', () => {
    const free = section('s1', [take('t1', 'rejected')]);
    expect(takeActions(free, free.takes[0]!).approve).toBe(true);
    const taken = section('s1', [take('t1', 'rejected'), take('t2', 'approved'), take('t3', 'ready')]);
    expect(takeActions(taken, taken.takes[0]!)).toEqual({
      approve: false,
      approveBlockedBy: 't2',
      reject: false,
    });
    expect(takeActions(taken, taken.takes[2]!)).toEqual({
      approve: false,
      approveBlockedBy: 't2',
      reject: true,
    });
  });
});

describe('live changes', () => {
  const r = reel([section('s2', []), section('s1', [], 'Intro')]);
  const update = (over: Partial<ReelUpdate>): ReelUpdate => ({
    reelId: 'reel_1',
    revision: 5,
    change: 'take.ready',
    ...over,
  });

  it('are news only when newer than the reel shown', () => {
    expect(isNewer({ revision: 5 }, r)).toBe(true);
    expect(isNewer({ revision: 4 }, r)).toBe(false);
    expect(isNewer({ revision: 1 }, undefined)).toBe(true);
  });

  it('are said in words, naming the section by its place', () => {
    expect(changeText(update({ sectionId: 's1', takeId: 't2' }), r)).toBe(
      'Take t2 of section 2 “Intro” is ready for review.',
    );
    expect(changeText(update({ change: 'take.approved', sectionId: 's2', takeId: 't1', by: 'ana' }), r)).toBe(
      'Take t1 of section 1 was approved by ana.',
    );
    expect(changeText(update({ change: 'compile.completed' }), r)).toBe(
      'The compile finished: the video is below.',
    );
  });
});

describe('helpers', () => {
  it('counts takes, names sections, moves a section one place and diffs params', () => {
    expect(takeCounts(section('s1', [take('t1', 'ready'), take('t2', 'ready')]))).toBe(
      '2 waiting for review',
    );
    const r = reel([section('s1', []), section('s2', [], 'Two'), section('s3', [])]);
    expect(sectionName(r, 's2')).toBe('Section 2 “Two”');
    expect(sectionName(r, 's9')).toBe('Section s9');
    expect(movedOrder(r, 's3', -1)).toEqual(['s1', 's3', 's2']);
    expect(movedOrder(r, 's1', 1)).toEqual(['s2', 's1', 's3']);
    expect(movedOrder(r, 's1', -1)).toBeUndefined();
    expect(movedOrder(r, 's3', 1)).toBeUndefined();
    expect(
      changedParams({ prompt: 'b', duration: 2, seed: [1] }, { prompt: 'a', duration: 2, seed: [1] }),
    ).toEqual({
      prompt: 'b',
    });
  });
});

describe('paramValuesOf and compileIsCurrent', () => {
  it('fills a regenerate form from the section’s params, falling back to each field’s default', () => {
    const fields = paramFields({
      type: 'object',
      properties: {
        prompt: { type: 'string' },
        duration: { type: 'number', default: 4 },
        loop: { type: 'boolean', default: false },
        size: { enum: [256, 512] },
        extra: { type: 'object' },
      },
    });
    expect(paramValuesOf(fields, { prompt: 'dusk', loop: true, size: 512, extra: { a: 1 } })).toEqual({
      prompt: 'dusk',
      duration: '4',
      loop: true,
      size: '512',
      extra: '{"a":1}',
    });
  });

  it('says whether the latest compile has the takes approved now, in the current order', () => {
    const compile = (takes: Array<{ sectionId: string; takeId: string }>): ReelView['compile'] => ({
      jobId: 'job_c',
      status: 'completed',
      requestedAt: AT,
      revision: 3,
      takes,
      links: { job: '' },
    });
    const sections = [
      { ...section('s1', [take('t1', 'approved')]), approvedTakeId: 't1' },
      { ...section('s2', [take('t2', 'approved')]), approvedTakeId: 't2' },
    ];
    const done = [
      { sectionId: 's1', takeId: 't1' },
      { sectionId: 's2', takeId: 't2' },
    ];
    expect(compileIsCurrent(reel(sections, compile(done)))).toBe(true);
    expect(compileIsCurrent(reel([sections[1]!, sections[0]!], compile(done)))).toBe(false);
    expect(compileIsCurrent(reel(sections, compile([done[0]!, { sectionId: 's2', takeId: 't1' }])))).toBe(
      false,
    );
    expect(compileIsCurrent(reel(sections))).toBe(false);
  });
});

describe('keepVideoLinks', () => {
  const NOW = Date.parse(AT);
  const link = (job: string, expiresInSec: number) =>
    `https://x.test/v1/jobs/${job}/video.mp4?expires=${NOW / 1000 + expiresInSec}&signature=ab`;
  const withLink = (t: TakeView, l: string): TakeView => ({ ...t, links: { ...t.links, video: l } });

  it('keeps the link a take already plays from while it works for 5 more minutes, so its video does not reload', () => {
    const before = reel([
      section('s1', [withLink(take('t1', 'ready'), link('job_t1', 3000))]),
      section('s2', []),
    ]);
    const fresh = reel([
      section('s1', [withLink(take('t1', 'approved'), link('job_t1', 3600))]),
      section('s2', [withLink(take('t1', 'ready'), link('job_s2', 3600))]),
    ]);
    const kept = keepVideoLinks(before, fresh, NOW);
    expect(kept.sections[0]!.takes[0]!.links.video).toBe(link('job_t1', 3000));
    expect(kept.sections[0]!.takes[0]!.status).toBe('approved');
    // a take that had no link takes the new one
    expect(kept.sections[1]!.takes[0]!.links.video).toBe(link('job_s2', 3600));
  });

  it('takes the fresh link when the old one is about to expire, and reads how long a link works', () => {
    const before = reel([section('s1', [withLink(take('t1', 'ready'), link('job_t1', 120))])]);
    const fresh = reel([section('s1', [withLink(take('t1', 'ready'), link('job_t1', 3600))])]);
    expect(keepVideoLinks(before, fresh, NOW).sections[0]!.takes[0]!.links.video).toBe(link('job_t1', 3600));
    expect(keepVideoLinks(undefined, fresh, NOW)).toBe(fresh);
    expect(linkSecondsLeft(link('j', 60), NOW)).toBe(60);
    expect(linkSecondsLeft(undefined, NOW)).toBe(0);
    expect(linkSecondsLeft('/v1/jobs/j/video.mp4', NOW)).toBe(0);
  });
});
