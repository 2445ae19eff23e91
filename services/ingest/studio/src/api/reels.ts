// The reel routes of the /v1 API (issue 12 §3) as the studio calls them. A reel's types are the
// contracts' own (type-only: nothing of @reelbus/contracts is bundled); the view adds what ingest adds.
import type { EventOf, Reel, ReelCompile, ReelSection, ReelTake } from '@reelbus/contracts';
import type { ApiClient } from './client.ts';
import type { JobAccepted } from './types.ts';

/** Signed links a take or a compile carries: its job, and its video once there is one (no key needed). */
export interface MediaLinks {
  job: string;
  video?: string;
}

export type TakeView = ReelTake & { links: MediaLinks };
export type SectionView = Omit<ReelSection, 'takes'> & { approvedTakeId?: string; takes: TakeView[] };

/** `GET /v1/reels/:id` (and every route that changes a reel). */
export type ReelView = Omit<Reel, 'sections' | 'compile'> & {
  id: string;
  revision: number;
  createdAt: string;
  updatedAt: string;
  sections: SectionView[];
  compile?: ReelCompile & { links: MediaLinks };
  links: { self: string; events: string; compile: string };
};

/** One reel of `GET /v1/reels`. */
export interface ReelSummary {
  id: string;
  revision: number;
  title: string;
  createdAt: string;
  updatedAt: string;
  sections: Array<{ id: string; title?: string; approvedTakeId?: string; takes: number }>;
  compile?: { jobId: string; status: string };
}

/** The `data` of a `reel.updated` message on the reel's event stream. */
export type ReelUpdate = EventOf<'reel.updated'>['data'];

/** A section as `POST /v1/reels` takes it. */
export interface NewSection {
  title?: string;
  model: string;
  params: Record<string, unknown>;
}

const reelPath = (id: string) => `/v1/reels/${encodeURIComponent(id)}`;
const takePath = (ref: { reelId: string; sectionId: string; takeId: string }) =>
  `${reelPath(ref.reelId)}/sections/${encodeURIComponent(ref.sectionId)}/takes/${encodeURIComponent(ref.takeId)}`;

export function listReels(client: ApiClient, signal?: AbortSignal): Promise<{ reels: ReelSummary[] }> {
  return client.request('/v1/reels?limit=100', signal ? { signal } : {});
}

export function getReel(client: ApiClient, id: string, signal?: AbortSignal): Promise<ReelView> {
  return client.request(reelPath(id), signal ? { signal } : {});
}

export function createReel(
  client: ApiClient,
  body: { title: string; sections: NewSection[] },
): Promise<ReelView> {
  return client.request('/v1/reels', { method: 'POST', json: body });
}

/**
 * Approve and reject send no `If-Match`: the reel's own rules decide (one approved take per section; of
 * two reviewers approving at once one gets 409), so a change elsewhere in the reel does not refuse them.
 */
export function approveTake(
  client: ApiClient,
  ref: { reelId: string; sectionId: string; takeId: string },
): Promise<ReelView> {
  return client.request(`${takePath(ref)}/approve`, { method: 'POST', json: {} });
}

export function rejectTake(
  client: ApiClient,
  ref: { reelId: string; sectionId: string; takeId: string; reason?: string | undefined },
): Promise<ReelView> {
  return client.request(`${takePath(ref)}/reject`, {
    method: 'POST',
    json: ref.reason ? { reason: ref.reason } : {},
  });
}

export function regenerateSection(
  client: ApiClient,
  ref: { reelId: string; sectionId: string; params: Record<string, unknown> },
): Promise<JobAccepted & { takeId: string; revision: number }> {
  return client.request(`${reelPath(ref.reelId)}/sections/${encodeURIComponent(ref.sectionId)}/regenerate`, {
    method: 'POST',
    json: { params: ref.params },
  });
}

/**
 * A new section order, at the revision it was computed from (`If-Match`): a reorder made on an order
 * another reviewer has changed meanwhile is refused (409) instead of undoing theirs.
 */
export function reorderSections(
  client: ApiClient,
  ref: { reelId: string; order: string[]; revision: number },
): Promise<ReelView> {
  return client.request(reelPath(ref.reelId), {
    method: 'PATCH',
    json: { sectionOrder: ref.order },
    headers: { 'if-match': `"${ref.revision}"` },
  });
}

export function compileReel(
  client: ApiClient,
  reelId: string,
): Promise<JobAccepted & { reelId: string; revision: number; videoCount: number }> {
  return client.request(`${reelPath(reelId)}/compile`, { method: 'POST', json: {} });
}
