// What the reel board decides, as pure functions (unit-tested): whether the reel can be compiled and
// why not, what a reviewer may do to a take, what a live change means, which params a regenerate
// changes. The API stays the judge of every change; the board only says in advance what it will refuse.
import type { ReelUpdate, ReelView, SectionView, TakeView } from '../api/reels.ts';
import type { ParamField, ParamValues } from '../forms/schema-form.ts';
import { label } from '../format.ts';

/** "Section 2 “Midday”" (its place in the current order, and its title when it has one). */
export function sectionName(reel: Pick<ReelView, 'sections'>, sectionId: string): string {
  const i = reel.sections.findIndex((s) => s.id === sectionId);
  const s = reel.sections[i];
  if (!s) return `Section ${sectionId}`;
  return s.title ? `Section ${i + 1} “${s.title}”` : `Section ${i + 1}`;
}

/** The section's name inside a sentence: "section 2 “Midday”" (the title as written). */
export function sectionInText(reel: Pick<ReelView, 'sections'>, sectionId: string): string {
  const name = sectionName(reel, sectionId);
  return name.charAt(0).toLowerCase() + name.slice(1);
}

const TAKE_COUNT_ORDER = ['ready', 'pending', 'rejected', 'failed'] as const;
const COUNT_WORDS: Record<(typeof TAKE_COUNT_ORDER)[number], string> = {
  ready: 'waiting for review',
  pending: 'generating',
  rejected: 'rejected',
  failed: 'failed',
};

/** "1 waiting for review, 1 rejected" for a section's takes; "no takes" when it has none. */
export function takeCounts(section: Pick<SectionView, 'takes'>): string {
  const parts = TAKE_COUNT_ORDER.map((status) => {
    const n = section.takes.filter((t) => t.status === status).length;
    return n ? `${n} ${COUNT_WORDS[status]}` : '';
  }).filter(Boolean);
  return parts.join(', ') || 'no takes';
}

export interface CompileReadiness {
  /** True when the compile button may be pressed. */
  ready: boolean;
  /** Why not, one line each (a section without an approved take; a compile still running). */
  reasons: string[];
}

/**
 * Whether the reel can be compiled: every section needs an approved take (the API's `not_approved`),
 * and no compile may be running (the API's 409 while one runs).
 */
export function compileReadiness(reel: ReelView): CompileReadiness {
  const reasons = reel.sections
    .filter((s) => !s.takes.some((t) => t.status === 'approved' && t.output))
    .map((s) => `${sectionName(reel, s.id)} has no approved take (${takeCounts(s)}).`);
  if (reel.compile?.status === 'running')
    reasons.unshift(`A compile is running (job ${reel.compile.jobId}); wait for it to finish.`);
  return { ready: reasons.length === 0, reasons };
}

export interface TakeActions {
  /** Approve is offered (a take with a video that is not approved). */
  approve: boolean;
  /** Why approve is not offered, when the take has a video but another take of the section is approved. */
  approveBlockedBy: string | undefined;
  /** Reject is offered (ready or approved: an approved take is un-approved). */
  reject: boolean;
}

/** What a reviewer may do to a take, by the reel's rules (contracts/src/reel.ts). */
export function takeActions(section: Pick<SectionView, 'takes'>, take: TakeView): TakeActions {
  const hasVideo = Boolean(take.output) && (take.status === 'ready' || take.status === 'rejected');
  const approved = section.takes.find((t) => t.status === 'approved');
  const blockedBy = hasVideo && approved && approved.id !== take.id ? approved.id : undefined;
  return {
    approve: hasVideo && !blockedBy,
    approveBlockedBy: blockedBy,
    reject: take.status === 'ready' || take.status === 'approved',
  };
}

/** A live change is news when it is newer than the reel shown (the stream's first message is the reel itself). */
export function isNewer(update: Pick<ReelUpdate, 'revision'>, shown: Pick<ReelView, 'revision'> | undefined) {
  return !shown || update.revision > shown.revision;
}

/** A live change in words, for the page's status line ("Take t2 of section 2 is ready."). */
export function changeText(update: ReelUpdate, reel: Pick<ReelView, 'sections'>): string {
  const where = update.sectionId ? ` of ${sectionInText(reel, update.sectionId)}` : '';
  const take = update.takeId ? `Take ${update.takeId}${where}` : 'A take';
  const by = update.by ? ` by ${update.by}` : '';
  switch (update.change) {
    case 'take.added':
      return `${take} is being generated${by}.`;
    case 'take.ready':
      return `${take} is ready for review.`;
    case 'take.failed':
      return `${take} failed.`;
    case 'take.approved':
      return `${take} was approved${by}.`;
    case 'take.rejected':
      return `${take} was rejected${by}.`;
    case 'sections.reordered':
      return `The sections were changed${by}.`;
    case 'compile.started':
      return `A compile started${by}.`;
    case 'compile.completed':
      return 'The compile finished: the video is below.';
    case 'compile.failed':
      return 'The compile failed.';
    default:
      return `${label(update.change)}.`;
  }
}

/**
 * The params a regenerate sends: those whose value differs from the section's (a regenerate merges its
 * params over the section's), compared as JSON.
 */
export function changedParams(
  params: Record<string, unknown>,
  base: Record<string, unknown>,
): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(params).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(base[k])),
  );
}

/** The section ids with `sectionId` moved one place `by` (-1 earlier, +1 later); undefined at an end. */
export function movedOrder(
  reel: Pick<ReelView, 'sections'>,
  sectionId: string,
  by: -1 | 1,
): string[] | undefined {
  const ids = reel.sections.map((s) => s.id);
  const from = ids.indexOf(sectionId);
  const to = from + by;
  if (from < 0 || to < 0 || to >= ids.length) return undefined;
  [ids[from], ids[to]] = [ids[to]!, ids[from]!];
  return ids;
}

/** A section's stored params as the values of its params form (what a regenerate form starts from). */
export function paramValuesOf(fields: ParamField[], params: Record<string, unknown>): ParamValues {
  return Object.fromEntries(
    fields.map((f) => {
      const v = params[f.name];
      if (v === undefined || v === null) return [f.name, f.initial];
      if (f.kind === 'boolean') return [f.name, v === true];
      if (f.kind === 'json' || (f.kind === 'choice' && typeof v !== 'string'))
        return [f.name, JSON.stringify(v)];
      return [f.name, String(v)];
    }),
  );
}

/**
 * Whether the latest compile joined the takes approved now, in the current order (after a new approval
 * or a re-order, compiling again gives another video).
 */
export function compileIsCurrent(reel: ReelView): boolean {
  const done = reel.compile?.takes ?? [];
  return (
    done.length === reel.sections.length &&
    reel.sections.every((s, i) => done[i]?.sectionId === s.id && done[i]?.takeId === s.approvedTakeId)
  );
}

/** Seconds a signed link still works (its `expires`, unix seconds), 0 when it has none or cannot be read. */
export function linkSecondsLeft(link: string | undefined, nowMs: number): number {
  if (!link) return 0;
  try {
    const expires = Number(new URL(link, 'http://base.invalid').searchParams.get('expires'));
    return Number.isFinite(expires) ? Math.max(0, expires - nowMs / 1000) : 0;
  } catch {
    return 0;
  }
}

/** A link that still works this long is kept rather than replaced (the API signs links for an hour by default). */
const KEEP_LINK_MIN_SEC = 300;

/**
 * `next` with the signed video links of `prev` kept wherever they point at the same video and still work
 * for a while: every read of the reel signs fresh links, and a `<video>` whose `src` changes reloads,
 * stopping whoever is watching that take when another reviewer approves something.
 */
export function keepVideoLinks(prev: ReelView | undefined, next: ReelView, nowMs: number): ReelView {
  if (!prev) return next;
  const keep = <T extends { links: { video?: string | undefined } }>(old: T | undefined, cur: T): T =>
    old?.links.video && cur.links.video && linkSecondsLeft(old.links.video, nowMs) > KEEP_LINK_MIN_SEC
      ? { ...cur, links: { ...cur.links, video: old.links.video } }
      : cur;
  const takes = new Map(
    prev.sections.flatMap((s) => s.takes.map((t) => [`${s.id}/${t.id}/${t.jobId}`, t] as const)),
  );
  const compile =
    next.compile && prev.compile?.jobId === next.compile.jobId
      ? keep(prev.compile, next.compile)
      : next.compile;
  return {
    ...next,
    sections: next.sections.map((s) => ({
      ...s,
      takes: s.takes.map((t) => keep(takes.get(`${s.id}/${t.id}/${t.jobId}`), t)),
    })),
    ...(compile ? { compile } : {}),
  };
}
