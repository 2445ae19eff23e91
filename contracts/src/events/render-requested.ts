import { z } from 'zod';
import { HttpUrl } from '../common.ts';
import { defineEvent } from '../envelope.ts';
import { requestSources } from '../timeline-resolve.ts';
import { TimelineRequest } from '../timeline.ts';

/**
 * A user submitted a Timeline to render (`POST /v1/renders`). The compositor resolves it: URL sources
 * fetched into `jobs/<jobId>/input/`, every source probed, `"auto"` starts and durations filled in →
 * `timeline.ready` (kind `render`).
 */
export const RenderRequestedV1 = defineEvent({
  type: 'render.requested',
  version: 1,
  description:
    'A request Timeline (contracts/schemas/timeline-request.v1.json) to render as job kind `render`. Sources are blob keys or http(s) URLs; files uploaded with the request were stored by ingest and are `{ key }` here (an `{ upload }` source is refused). The compositor fetches the URLs, probes every source, resolves the `"auto"` values and publishes `timeline.ready`.',
  data: z.object({
    timeline: TimelineRequest.superRefine((t, ctx) => {
      for (const ref of requestSources(t)) {
        if ('upload' in ref.source) {
          ctx.addIssue({
            code: 'custom',
            path: pathOf(ref.path),
            message: `upload "${ref.source.upload}" was not stored: ingest replaces uploads with { key } before publishing`,
          });
        }
      }
    }),
    /** Where the notifier posts the signed webhook when the job ends. */
    callbackUrl: HttpUrl.optional(),
    /** Encoder backend (`ffmpeg`, `mediaconvert`); the encoder's default when absent. */
    backend: z.string().min(1).max(32).optional(),
  }),
});

/** `tracks[1].clips[3].source` → `['tracks', 1, 'clips', 3, 'source']`. */
function pathOf(jsonPath: string): Array<string | number> {
  return jsonPath
    .split(/\.|\[|\]/)
    .filter(Boolean)
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}
