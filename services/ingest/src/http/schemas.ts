import { JobId } from '@reelbus/contracts';
import { z } from 'zod';
import { badRequest } from '../errors.ts';

/**
 * Zod schemas every route shares. Ids given with `.meta({ id })` become named components of the
 * OpenAPI document (`#/components/schemas/Error`).
 */

export const FieldIssueSchema = z.object({
  field: z
    .string()
    .describe('JSON path of the bad field, e.g. `tracks[1].clips[3].source`, or a query/form field name'),
  message: z.string(),
});

/** Every error answer: `{ error: { code, message, field?, issues? } }`. */
export const ErrorBody = z
  .object({
    error: z.object({
      code: z
        .string()
        .describe(
          'Machine-readable: invalid_input, unauthorized, forbidden, not_found, rate_limited, too_many_active_jobs, too_large, unsupported_media_type, bus_unavailable, …',
        ),
      message: z.string().describe('What was wrong and what to do, for a person'),
      field: z.string().optional().describe('The (first) bad field'),
      issues: z.array(FieldIssueSchema).optional().describe('Every bad field (400 invalid_input)'),
      currentRevision: z
        .number()
        .int()
        .optional()
        .describe(
          'The current revision of a document changed since the client read it (409 revision_conflict)',
        ),
    }),
  })
  .meta({ id: 'Error', description: 'An error: `{ error: { code, message, field?, issues? } }`' });

/** `:id` of the job routes. */
export const JobIdParams = z.object({ id: JobId.describe('The job id') });

/** A route that takes no query parameters (unknown ones are ignored). */
export const NoQuery = z.object({});

/** The answer of every job-creating route (routes add their own fields with `.extend`). */
export const JobAccepted = z
  .object({
    jobId: JobId,
    statusUrl: z.url().describe('GET it for the job document'),
    eventsUrl: z.url().describe('GET it for live server-sent events'),
  })
  .meta({
    id: 'JobAccepted',
    description: 'The job was created (or found, for a retried request) and queued',
  });

/** `statusUrl` and `eventsUrl` of a job. */
export function jobLinks(publicBaseUrl: string, jobId: string): { statusUrl: string; eventsUrl: string } {
  const statusUrl = `${publicBaseUrl}/v1/jobs/${jobId}`;
  return { statusUrl, eventsUrl: `${statusUrl}/events` };
}

/** The longest a signed link (video or HLS) may work: 7 days. */
export const MAX_LINK_TTL_SEC = 7 * 86_400;

/** The body of the routes that make a signed link (`POST /v1/jobs/:id/links`, `…/hls/links`). */
export const LinkRequest = z
  .strictObject({
    ttlSec: z
      .number()
      .int(`must be a whole number of seconds from 1 to ${MAX_LINK_TTL_SEC}`)
      .min(1, `must be a whole number of seconds from 1 to ${MAX_LINK_TTL_SEC}`)
      .max(MAX_LINK_TTL_SEC, `must be a whole number of seconds from 1 to ${MAX_LINK_TTL_SEC}`)
      .optional()
      .describe('How long the link works (default VIDEO_LINK_TTL_SEC)'),
  })
  .optional();

/** A signed, expiring link. */
export const SignedLinkBody = z.object({
  url: z.url().describe('The URL with its expiry and signature'),
  expiresAt: z.iso.datetime(),
});

/** A multipart file field in the OpenAPI document (`format: binary`). */
export const FilePart = () => z.file();

/** The `testMode` field of a submit request (issue 15 §4), for JSON bodies. */
export const TestModeField = z
  .boolean({ error: 'must be true or false' })
  .optional()
  .describe(
    'A test run: same pipeline, tagged in the job document, metrics, traces and webhook (`testMode: true`), left out of success-rate and cost figures; uses the `local` provider unless the request names another',
  );

/**
 * Reads `testMode` from a JSON value or a multipart text field: true, false, "true", "false", absent.
 * Throws a 400 naming `field` for anything else.
 */
export function readTestMode(value: unknown, field = 'testMode'): boolean {
  if (value === undefined || value === false || value === 'false') return false;
  if (value === true || value === 'true') return true;
  throw badRequest(field, `must be true or false (got ${JSON.stringify(value)})`);
}
