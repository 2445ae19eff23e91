// `reelbus reel …`: create a reel from a spec file, show it, approve, reject, regenerate, compile; and the
// offline `demo reel`. Decisions (which section, which take, how a reel prints) are pure functions here.
import { readFileSync } from 'node:fs';
import type { ReelTake } from '@reelbus/contracts';
import { ApiError, type ReelbusClient } from './client.ts';

/** A take as `GET /v1/reels/:id` shows it. */
export type TakeView = ReelTake & { links: { job: string; video?: string } };

/** A reel as `GET /v1/reels/:id` shows it (the fields the CLI reads). */
export interface ReelView {
  id: string;
  revision: number;
  title: string;
  sections: Array<{
    id: string;
    title?: string;
    model: string;
    approvedTakeId?: string;
    takes: TakeView[];
  }>;
  compile?: {
    jobId: string;
    status: 'running' | 'completed' | 'failed';
    output?: { key: string; durationSec: number; sizeBytes: number; videoCount?: number };
    error?: string;
    links: { job: string; video?: string };
  };
  links: { self: string; events: string };
}

/** The spec `reel create` reads: the body of `POST /v1/reels`. */
export interface ReelSpec {
  title: string;
  sections: Array<{ title?: string; model: string; params?: Record<string, unknown> }>;
  callbackUrl?: string;
}

/** Reads a reel spec file; throws naming the file and what is wrong with it. */
export function readReelSpec(file: string): ReelSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the reel spec ${file}: ${(err as Error).message}`);
  }
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch (err) {
    throw new Error(`the reel spec ${file} is not JSON: ${(err as Error).message}`);
  }
  const s = spec as Partial<ReelSpec>;
  if (!s || typeof s !== 'object' || typeof s.title !== 'string' || !Array.isArray(s.sections))
    throw new Error(
      `the reel spec ${file} must be { "title": "…", "sections": [{ "title"?, "model", "params" }, …], "callbackUrl"? }`,
    );
  return s as ReelSpec;
}

/**
 * A section named on the command line: its id (`s2`), its position in the reel (`2`), or its title.
 * Throws listing the sections when none matches.
 */
export function resolveSection(reel: ReelView, arg: string): ReelView['sections'][number] {
  const byId = reel.sections.find((s) => s.id === arg);
  if (byId) return byId;
  if (/^\d+$/.test(arg)) {
    const byPos = reel.sections[Number(arg) - 1];
    if (byPos) return byPos;
  }
  const byTitle = reel.sections.filter((s) => s.title?.toLowerCase() === arg.toLowerCase());
  if (byTitle.length === 1) return byTitle[0]!;
  throw new Error(
    `no section "${arg}" in reel ${reel.id}; its sections: ${reel.sections.map((s, i) => `${s.id} (${i + 1}${s.title ? `, "${s.title}"` : ''})`).join(', ')}`,
  );
}

/**
 * The take to approve when the command line names none: the newest ready take of the section. Throws
 * saying why there is none (still generating, failed, all rejected).
 */
export function takeToApprove(section: ReelView['sections'][number], arg?: string): TakeView {
  if (arg) {
    const take = section.takes.find((t) => t.id === arg || t.id === `t${arg}`);
    if (!take)
      throw new Error(
        `section ${section.id} has no take "${arg}" (it has ${section.takes.map((t) => t.id).join(', ')})`,
      );
    return take;
  }
  const ready = section.takes.filter((t) => t.status === 'ready');
  if (ready.length) return ready[ready.length - 1]!;
  const approved = section.takes.find((t) => t.status === 'approved');
  if (approved) return approved;
  const pending = section.takes.filter((t) => t.status === 'pending').length;
  throw new Error(
    `section ${section.id} has no ready take to approve${pending ? ` (${pending} still generating; try again when ready)` : ' (regenerate it)'}`,
  );
}

/** Whether every take of the reel has finished generating. */
export const takesSettled = (reel: ReelView): boolean =>
  reel.sections.every((s) => s.takes.every((t) => t.status !== 'pending'));

/** A reel as text: one line per section and take, marks for the approved take, the compile. */
export function formatReel(reel: ReelView, opts: { blobPath?: (key: string) => string } = {}): string {
  const { blobPath } = opts;
  const lines = [`reel ${reel.id}  "${reel.title}"  (revision ${reel.revision})`];
  reel.sections.forEach((s, i) => {
    lines.push(
      `  ${i + 1}. ${s.id}${s.title ? ` "${s.title}"` : ''}  ${s.model}${s.approvedTakeId ? `  approved: ${s.approvedTakeId}` : ''}`,
    );
    for (const t of s.takes) {
      const mark = t.status === 'approved' ? '*' : ' ';
      const detail =
        t.status === 'failed'
          ? (t.error ?? '')
          : t.output
            ? `${t.output.durationSec.toFixed(2)} s${t.output.width ? `, ${t.output.width}x${t.output.height}` : ''}`
            : '';
      const who =
        t.status === 'approved' && t.approvedBy
          ? `  by ${t.approvedBy.name}`
          : t.status === 'rejected' && t.rejectedBy
            ? `  by ${t.rejectedBy.name}${t.rejectReason ? `: ${t.rejectReason}` : ''}`
            : '';
      lines.push(`     ${mark} ${t.id.padEnd(4)} ${t.status.padEnd(9)} ${detail}${who}`);
      if (t.output)
        lines.push(`            ${blobPath ? blobPath(t.output.key) : (t.links.video ?? t.output.key)}`);
    }
  });
  if (reel.compile) {
    const c = reel.compile;
    lines.push(`  compile ${c.jobId}: ${c.status}${c.error ? ` (${c.error})` : ''}`);
    if (c.output)
      lines.push(
        `    ${c.output.durationSec.toFixed(2)} s, ${(c.output.sizeBytes / 1e6).toFixed(2)} MB, ${c.output.videoCount ?? '?'} takes: ${blobPath ? blobPath(c.output.key) : c.output.key}`,
      );
  }
  return lines.join('\n');
}

/** Waits until every take of the reel has finished (polling `GET /v1/reels/:id`), reporting each change. */
export async function waitForTakes(opts: {
  client: ReelbusClient;
  reelId: string;
  onChange?: (line: string) => void;
  pollMs?: number;
  timeoutMs?: number;
}): Promise<ReelView> {
  const { client, reelId, onChange, pollMs = 500, timeoutMs = 30 * 60_000 } = opts;
  const seen = new Map<string, string>();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reel = await client.getReel<ReelView>(reelId);
    for (const s of reel.sections)
      for (const t of s.takes) {
        const key = `${s.id}/${t.id}`;
        if (seen.get(key) !== t.status) {
          seen.set(key, t.status);
          onChange?.(
            `${s.id} ${t.id}: ${t.status}${t.status === 'failed' && t.error ? ` (${t.error})` : ''}`,
          );
        }
      }
    if (takesSettled(reel)) return reel;
    if (Date.now() > deadline)
      throw new Error(`takes of reel ${reelId} still generating after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Approves a take, naming the section and take in any refusal. */
export async function approve(opts: {
  client: ReelbusClient;
  reel: ReelView;
  section: string;
  take?: string | undefined;
}): Promise<ReelView> {
  const section = resolveSection(opts.reel, opts.section);
  const take = takeToApprove(section, opts.take);
  try {
    return await opts.client.reviewTake<ReelView>({
      reelId: opts.reel.id,
      sectionId: section.id,
      takeId: take.id,
      verdict: 'approve',
    });
  } catch (err) {
    if (err instanceof ApiError) throw new Error(`approving ${section.id} ${take.id}: ${err.message}`);
    throw err;
  }
}

/** The spec of `demo reel`: three short offline video sections. */
export function demoReelSpec(): ReelSpec {
  const size = { width: 640, height: 360 };
  return {
    title: 'A lighthouse, offline',
    sections: [
      {
        title: 'Dusk',
        model: 'local-video',
        params: { prompt: 'a lighthouse at dusk', duration: 3, ...size },
      },
      {
        title: 'Waves',
        model: 'local-video',
        params: { prompt: 'waves breaking on the rocks', duration: 2, ...size },
      },
      {
        title: 'Night',
        model: 'local-video',
        params: { prompt: 'the lamp turning at night', duration: 3, ...size },
      },
    ],
  };
}
