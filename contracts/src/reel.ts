import { z } from 'zod';
import { JobId, MediaOutput } from './common.ts';
import { Principal } from './job.ts';

/**
 * A reel (issue 12 §3): sections in order, each with the takes generated for it, reviewed (approved or
 * rejected) and compiled into one MP4 (a merge of the approved takes in section order). Reels are
 * revisioned documents in the kit's DocumentStore (collection `reels`): every change below is a pure
 * function of the current document, applied by compare-and-set, so two reviewers never overwrite each
 * other. The functions throw `ReelRuleError` to refuse a change (nothing is written).
 */

/** A take's life: generating → ready (or failed); a ready take is approved or rejected by a reviewer. */
export const TAKE_STATUSES = ['pending', 'ready', 'approved', 'rejected', 'failed'] as const;
export const TakeStatus = z.enum(TAKE_STATUSES);
export type TakeStatus = z.infer<typeof TakeStatus>;

/** Who did something to a reel: the API key's name (and role), never the key. */
export const ReelActor = Principal;
export type ReelActor = z.infer<typeof ReelActor>;

export const SECTION_ID_RE = /^s[1-9][0-9]{0,2}$/;
export const TAKE_ID_RE = /^t[1-9][0-9]{0,2}$/;
/** The most sections a reel has (a compile is one merge of them). */
export const MAX_REEL_SECTIONS = 50;
/** The most takes one section keeps (the document must stay small: every take is kept). */
export const MAX_SECTION_TAKES = 50;

export const ReelTake = z.object({
  /** `t1`, `t2`, … within the section, in the order they were made. */
  id: z.string().regex(TAKE_ID_RE),
  /** The generation job that makes it (`GET /v1/jobs/:jobId`). */
  jobId: JobId,
  /** The params it was generated with (the section's, with a regenerate's changes; defaults filled in). */
  params: z.record(z.string(), z.unknown()),
  status: TakeStatus,
  createdAt: z.iso.datetime(),
  createdBy: ReelActor.optional(),
  /** When its generation ended. */
  finishedAt: z.iso.datetime().optional(),
  /** The generated video (ready, approved, rejected takes). */
  output: MediaOutput.optional(),
  poster: MediaOutput.optional(),
  /** Why its generation failed. */
  error: z.string().max(4000).optional(),
  approvedBy: ReelActor.optional(),
  approvedAt: z.iso.datetime().optional(),
  rejectedBy: ReelActor.optional(),
  rejectedAt: z.iso.datetime().optional(),
  rejectReason: z.string().max(2000).optional(),
});
export type ReelTake = z.infer<typeof ReelTake>;

export const ReelSection = z.object({
  /** `s1`, `s2`, … as created; stays with the section when sections are re-ordered. */
  id: z.string().regex(SECTION_ID_RE),
  title: z.string().min(1).max(200).optional(),
  /** A video or avatar model of the registry. */
  model: z.string().min(1).max(100),
  /** The params the section was created with (defaults filled in). */
  params: z.record(z.string(), z.unknown()),
  takes: z.array(ReelTake).max(MAX_SECTION_TAKES),
});
export type ReelSection = z.infer<typeof ReelSection>;

export const ReelCompile = z.object({
  /** The compile job (kind `reel`): a merge of the approved takes. */
  jobId: JobId,
  status: z.enum(['running', 'completed', 'failed']),
  requestedAt: z.iso.datetime(),
  requestedBy: ReelActor.optional(),
  /** The reel's revision the compile was made from, and the takes it joined, in order. */
  revision: z.number().int().positive(),
  takes: z.array(z.object({ sectionId: z.string(), takeId: z.string() })),
  finishedAt: z.iso.datetime().optional(),
  /** The MP4: `{ key, durationSec, sizeBytes, videoCount, … }`. */
  output: MediaOutput.optional(),
  error: z.string().max(4000).optional(),
});
export type ReelCompile = z.infer<typeof ReelCompile>;

/** The reel document, as stored (the store keeps id, revision and times beside it). */
export const Reel = z.object({
  title: z.string().min(1).max(200),
  /** Sections in their current order. */
  sections: z.array(ReelSection).min(2).max(MAX_REEL_SECTIONS),
  /** Receives the signed job webhooks of every take's generation and of the compile. */
  callbackUrl: z.string().optional(),
  createdBy: ReelActor.optional(),
  /** The latest compile. */
  compile: ReelCompile.optional(),
});
export type Reel = z.infer<typeof Reel>;

/** What changed in a reel (the `change` of `reel.updated`). */
export const REEL_CHANGES = [
  'created',
  'take.added',
  'take.ready',
  'take.failed',
  'take.approved',
  'take.rejected',
  'sections.reordered',
  'compile.started',
  'compile.completed',
  'compile.failed',
] as const;
export type ReelChange = (typeof REEL_CHANGES)[number];

/** A change refused: `not_found` (404), `conflict` (409), `invalid_input` (400), with the fields it is about. */
export class ReelRuleError extends Error {
  override name = 'ReelRuleError';
  readonly permanent = true;
  constructor(
    readonly code: 'not_found' | 'conflict' | 'invalid_input',
    message: string,
    readonly issues: Array<{ field: string; message: string }> = [],
  ) {
    super(message);
  }
}
export const isReelRuleError = (err: unknown): err is ReelRuleError =>
  err instanceof Error && err.name === 'ReelRuleError';

/** `s2 ("Intro")`: how messages name a section. */
export function sectionLabel(s: Pick<ReelSection, 'id' | 'title'>): string {
  return s.title ? `${s.id} ("${s.title}")` : s.id;
}

/** The section and take, or a `not_found` naming which is missing. */
export function findTake(
  reel: Reel,
  ref: { sectionId: string; takeId: string },
): { section: ReelSection; take: ReelTake } {
  const section = findSection(reel, ref.sectionId);
  const take = section.takes.find((t) => t.id === ref.takeId);
  if (!take)
    throw new ReelRuleError(
      'not_found',
      `section ${sectionLabel(section)} has no take "${ref.takeId}" (it has ${section.takes.map((t) => t.id).join(', ') || 'none'})`,
    );
  return { section, take };
}

export function findSection(reel: Reel, sectionId: string): ReelSection {
  const section = reel.sections.find((s) => s.id === sectionId);
  if (!section)
    throw new ReelRuleError(
      'not_found',
      `the reel has no section "${sectionId}" (it has ${reel.sections.map((s) => s.id).join(', ')})`,
    );
  return section;
}

/** The approved take of a section, if any (there is at most one). */
export function approvedTake(section: ReelSection): ReelTake | undefined {
  return section.takes.find((t) => t.status === 'approved');
}

/**
 * Approves a take that has a video (ready, or rejected earlier). At most one approved take per section:
 * approving another while one is approved is a `conflict` naming it (two reviewers approving different
 * takes at once: the second one's compare-and-set re-reads the first's approval and is refused).
 * Approving the approved take again changes nothing (undefined).
 */
export function approveTake(
  reel: Reel,
  opts: { sectionId: string; takeId: string; by?: ReelActor | undefined; at: string },
): Reel | undefined {
  const { section, take } = findTake(reel, opts);
  if (take.status === 'approved') return undefined;
  if (take.status === 'pending')
    throw new ReelRuleError(
      'conflict',
      `take ${take.id} of section ${sectionLabel(section)} is still generating (job ${take.jobId}); approve it when it is ready`,
    );
  if (take.status === 'failed' || !take.output)
    throw new ReelRuleError(
      'conflict',
      `take ${take.id} of section ${sectionLabel(section)} failed and has no video${take.error ? ` (${take.error})` : ''}; regenerate the section`,
    );
  const other = approvedTake(section);
  if (other)
    throw new ReelRuleError(
      'conflict',
      `section ${sectionLabel(section)} already has an approved take, ${other.id} (approved${other.approvedBy ? ` by ${other.approvedBy.name}` : ''} at ${other.approvedAt ?? '?'}); reject it first to approve ${take.id}`,
    );
  return mapTake(reel, section.id, take.id, (t) => {
    const { rejectedBy: _rb, rejectedAt: _ra, rejectReason: _rr, ...rest } = t;
    return {
      ...rest,
      status: 'approved',
      ...(opts.by ? { approvedBy: opts.by } : {}),
      approvedAt: opts.at,
    };
  });
}

/** Rejects a take with a video (ready or approved: an approved take is un-approved). Again: no change. */
export function rejectTake(
  reel: Reel,
  opts: {
    sectionId: string;
    takeId: string;
    by?: ReelActor | undefined;
    at: string;
    reason?: string | undefined;
  },
): Reel | undefined {
  const { section, take } = findTake(reel, opts);
  if (take.status === 'rejected') return undefined;
  if (take.status === 'pending')
    throw new ReelRuleError(
      'conflict',
      `take ${take.id} of section ${sectionLabel(section)} is still generating (job ${take.jobId}); review it when it is ready`,
    );
  if (take.status === 'failed')
    throw new ReelRuleError(
      'conflict',
      `take ${take.id} of section ${sectionLabel(section)} failed; there is nothing to reject (regenerate the section)`,
    );
  return mapTake(reel, section.id, take.id, (t) => {
    const { approvedBy: _ab, approvedAt: _aa, ...rest } = t;
    return {
      ...rest,
      status: 'rejected',
      ...(opts.by ? { rejectedBy: opts.by } : {}),
      rejectedAt: opts.at,
      ...(opts.reason ? { rejectReason: opts.reason } : {}),
    };
  });
}

/** The id the next take of a section gets: one more than the highest so far. */
export function nextTakeId(section: ReelSection): string {
  const max = Math.max(0, ...section.takes.map((t) => Number(t.id.slice(1))));
  return `t${max + 1}`;
}

/** Adds a pending take (a regenerate) to a section; earlier takes are kept. */
export function addTake(
  reel: Reel,
  opts: {
    sectionId: string;
    takeId: string;
    jobId: string;
    params: Record<string, unknown>;
    by?: ReelActor | undefined;
    at: string;
  },
): Reel {
  const section = findSection(reel, opts.sectionId);
  if (section.takes.some((t) => t.id === opts.takeId))
    throw new ReelRuleError('conflict', `section ${sectionLabel(section)} already has a take ${opts.takeId}`);
  if (section.takes.length >= MAX_SECTION_TAKES)
    throw new ReelRuleError(
      'conflict',
      `section ${sectionLabel(section)} has ${section.takes.length} takes, the most a section keeps`,
    );
  const take: ReelTake = {
    id: opts.takeId,
    jobId: opts.jobId,
    params: opts.params,
    status: 'pending',
    createdAt: opts.at,
    ...(opts.by ? { createdBy: opts.by } : {}),
  };
  return {
    ...reel,
    sections: reel.sections.map((s) => (s.id === section.id ? { ...s, takes: [...s.takes, take] } : s)),
  };
}

/** Removes a take nobody could ever see (its generation could not be queued). */
export function removeTake(
  reel: Reel,
  opts: { sectionId: string; takeId: string; jobId: string },
): Reel | undefined {
  const section = reel.sections.find((s) => s.id === opts.sectionId);
  const take = section?.takes.find((t) => t.id === opts.takeId);
  if (!section || !take || take.jobId !== opts.jobId) return undefined;
  return {
    ...reel,
    sections: reel.sections.map((s) =>
      s.id === section.id ? { ...s, takes: s.takes.filter((t) => t.id !== take.id) } : s,
    ),
  };
}

/**
 * A take's generation ended: pending → ready (with its video and poster) or failed (with the reason).
 * Only the take's own job moves it, and only once (a redelivered event changes nothing).
 */
export function finishTake(
  reel: Reel,
  opts: {
    sectionId: string;
    takeId: string;
    jobId: string;
    at: string;
    result:
      | {
          status: 'completed';
          output: z.infer<typeof MediaOutput>;
          poster?: z.infer<typeof MediaOutput> | undefined;
        }
      | { status: 'failed'; error: string };
  },
): Reel | undefined {
  const section = reel.sections.find((s) => s.id === opts.sectionId);
  const take = section?.takes.find((t) => t.id === opts.takeId);
  if (!section || !take || take.jobId !== opts.jobId || take.status !== 'pending') return undefined;
  const r = opts.result;
  return mapTake(reel, section.id, take.id, (t) =>
    r.status === 'completed'
      ? {
          ...t,
          status: 'ready',
          finishedAt: opts.at,
          output: r.output,
          ...(r.poster ? { poster: r.poster } : {}),
        }
      : { ...t, status: 'failed', finishedAt: opts.at, error: r.error.slice(0, 4000) },
  );
}

/** A new section order: every section id exactly once. Every problem is named at once. */
export function reorderSections(reel: Reel, order: string[]): Reel | undefined {
  const known = new Set(reel.sections.map((s) => s.id));
  const issues: Array<{ field: string; message: string }> = [];
  const seen = new Set<string>();
  order.forEach((id, i) => {
    if (!known.has(id))
      issues.push({
        field: `sectionOrder[${i}]`,
        message: `no section "${id}" (the reel has ${[...known].join(', ')})`,
      });
    else if (seen.has(id)) issues.push({ field: `sectionOrder[${i}]`, message: `"${id}" is listed twice` });
    seen.add(id);
  });
  const missing = [...known].filter((id) => !seen.has(id));
  if (missing.length)
    issues.push({ field: 'sectionOrder', message: `must list every section; missing ${missing.join(', ')}` });
  if (issues.length)
    throw new ReelRuleError(
      'invalid_input',
      issues.map((i) => `${i.field}: ${i.message}`).join('; '),
      issues,
    );
  if (order.every((id, i) => reel.sections[i]?.id === id)) return undefined;
  const byId = new Map(reel.sections.map((s) => [s.id, s]));
  return { ...reel, sections: order.map((id) => byId.get(id)!) };
}

/** What a compile joins: every section's approved take, in section order; or the sections that have none. */
export type CompilePlan =
  | { ok: true; clips: Array<{ sectionId: string; takeId: string; key: string; durationSec: number }> }
  | { ok: false; missing: Array<{ field: string; message: string }> };

export function compilePlan(reel: Reel): CompilePlan {
  const clips: Array<{ sectionId: string; takeId: string; key: string; durationSec: number }> = [];
  const missing: Array<{ field: string; message: string }> = [];
  for (const s of reel.sections) {
    const take = approvedTake(s);
    if (take?.output) {
      clips.push({
        sectionId: s.id,
        takeId: take.id,
        key: take.output.key,
        durationSec: take.output.durationSec,
      });
      continue;
    }
    const count = (st: TakeStatus) => s.takes.filter((t) => t.status === st).length;
    const have = (['ready', 'pending', 'rejected', 'failed'] as const)
      .map((st) => (count(st) ? `${count(st)} ${st}` : ''))
      .filter(Boolean)
      .join(', ');
    missing.push({
      field: `sections.${s.id}`,
      message: `section ${sectionLabel(s)} has no approved take (${have || 'no takes'})`,
    });
  }
  return missing.length ? { ok: false, missing } : { ok: true, clips };
}

/**
 * Records a compile as running. Refused (`conflict`) while another compile runs, unless the caller saw
 * that one's job is gone or ended (`staleRunning`: a crash between this write and queueing its job).
 */
export function startCompile(
  reel: Reel,
  opts: {
    jobId: string;
    revision: number;
    takes: Array<{ sectionId: string; takeId: string }>;
    by?: ReelActor | undefined;
    at: string;
    staleRunning?: boolean;
  },
): Reel {
  if (reel.compile?.status === 'running' && !opts.staleRunning)
    throw new ReelRuleError(
      'conflict',
      `the reel is being compiled (job ${reel.compile.jobId}); wait for it to finish`,
    );
  return {
    ...reel,
    compile: {
      jobId: opts.jobId,
      status: 'running',
      requestedAt: opts.at,
      ...(opts.by ? { requestedBy: opts.by } : {}),
      revision: opts.revision,
      takes: opts.takes,
    },
  };
}

/** The compile job ended: its MP4, or why it failed. Only the recorded compile job moves it, once. */
export function finishCompile(
  reel: Reel,
  opts: {
    jobId: string;
    at: string;
    result:
      { status: 'completed'; output: z.infer<typeof MediaOutput> } | { status: 'failed'; error: string };
  },
): Reel | undefined {
  const c = reel.compile;
  if (!c || c.jobId !== opts.jobId || c.status !== 'running') return undefined;
  const r = opts.result;
  return {
    ...reel,
    compile:
      r.status === 'completed'
        ? { ...c, status: 'completed', finishedAt: opts.at, output: r.output }
        : { ...c, status: 'failed', finishedAt: opts.at, error: r.error.slice(0, 4000) },
  };
}

function mapTake(reel: Reel, sectionId: string, takeId: string, f: (t: ReelTake) => ReelTake): Reel {
  return {
    ...reel,
    sections: reel.sections.map((s) =>
      s.id === sectionId ? { ...s, takes: s.takes.map((t) => (t.id === takeId ? f(t) : t)) } : s,
    ),
  };
}
