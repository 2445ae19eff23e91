import { Reel, ReelCompile, ReelSection, ReelTake, approvedTake } from '@reelbus/contracts';
import type { StoredDocument } from '@reelbus/kit';
import { z } from 'zod';
import { signLink } from '../links.ts';

/** What the reel routes need to make links. */
export interface LinkSettings {
  publicBaseUrl: string;
  linkSigningSecret: string;
  /** How long a preview link works (VIDEO_LINK_TTL_SEC). */
  ttlSec: number;
}

const MediaLinks = z.object({
  job: z.string().describe('The job document (GET it with the API key)'),
  video: z
    .string()
    .optional()
    .describe('A signed, expiring link to the video (plays in a <video> tag without the key)'),
});

/** A take as `GET /v1/reels/:id` shows it: the stored take plus its job and, once it has a video, a signed preview link. */
export const TakeViewSchema = ReelTake.extend({ links: MediaLinks });
export type TakeView = z.infer<typeof TakeViewSchema>;

/** The answer of every reel route that returns the reel. */
export const ReelViewSchema = Reel.extend({
  id: z.string().describe('The reel id (reel_…)'),
  revision: z.number().int().describe('1 when created, one more on every change; also the ETag'),
  createdAt: z.string(),
  updatedAt: z.string(),
  sections: z.array(
    ReelSection.extend({
      approvedTakeId: z.string().optional().describe('The approved take of the section, if any'),
      takes: z.array(TakeViewSchema),
    }),
  ),
  compile: ReelCompile.extend({ links: MediaLinks }).optional(),
  links: z.object({ self: z.string(), events: z.string(), compile: z.string() }),
}).meta({
  id: 'Reel',
  description: 'A reel: sections in order, their takes with reviews and preview links, the latest compile',
});
export type ReelView = z.infer<typeof ReelViewSchema>;

/**
 * The reel as the API shows it: id, revision and times beside the document; per section the approved
 * take's id; per take its job and a signed, expiring link to its video that a `<video>` tag can play
 * without the API key (`/v1/jobs/<take job>/video.mp4?expires&signature`); the compile's MP4 likewise.
 */
export function reelView(opts: { stored: StoredDocument<Reel>; links: LinkSettings }): ReelView {
  const { stored, links } = opts;
  const { publicBaseUrl, linkSigningSecret, ttlSec } = links;
  const jobUrl = (jobId: string) => `${publicBaseUrl}/v1/jobs/${jobId}`;
  const video = (jobId: string) =>
    signLink({
      baseUrl: publicBaseUrl,
      path: `/v1/jobs/${jobId}/video.mp4`,
      secret: linkSigningSecret,
      ttlSec,
    }).url;
  const self = `${publicBaseUrl}/v1/reels/${stored.id}`;
  const { compile, ...doc } = stored.doc;
  return {
    id: stored.id,
    revision: stored.revision,
    createdAt: stored.createdAt,
    updatedAt: stored.updatedAt,
    ...doc,
    sections: doc.sections.map((s) => {
      const approved = approvedTake(s);
      return {
        ...s,
        ...(approved ? { approvedTakeId: approved.id } : {}),
        takes: s.takes.map((t): TakeView => ({
          ...t,
          links: { job: jobUrl(t.jobId), ...(t.output ? { video: video(t.jobId) } : {}) },
        })),
      };
    }),
    ...(compile
      ? {
          compile: {
            ...compile,
            links: { job: jobUrl(compile.jobId), ...(compile.output ? { video: video(compile.jobId) } : {}) },
          },
        }
      : {}),
    links: { self, events: `${self}/events`, compile: `${self}/compile` },
  };
}

/** `If-Match: "3"` (or `3`, `W/"3"`) → 3; absent → undefined; anything else → the reason it is not a revision. */
export function parseIfMatch(
  header: string | string[] | undefined,
): number | undefined | { invalid: string } {
  if (header === undefined) return undefined;
  const value = (Array.isArray(header) ? header[0] : header)?.trim() ?? '';
  const m = /^(?:W\/)?"?(\d{1,12})"?$/.exec(value);
  if (!m || Number(m[1]) < 1)
    return {
      invalid: `If-Match must be a reel revision, e.g. "3" (the ETag of GET /v1/reels/:id); got ${JSON.stringify(value)}`,
    };
  return Number(m[1]);
}
