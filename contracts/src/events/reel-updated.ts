import { z } from 'zod';
import { defineEvent } from '../envelope.ts';
import { REEL_CHANGES, TakeStatus } from '../reel.ts';

/**
 * A reel document changed (a take finished, was approved or rejected, sections were re-ordered, a compile
 * started or ended). The envelope's `jobId` is the reel's id: a reel's events are followed like a job's
 * (ingest's `GET /v1/reels/:id/events` streams them). Its id is `reel.updated:<reelId>:<revision>`, so a
 * redelivered change is published once.
 */
export const ReelUpdatedV1 = defineEvent({
  type: 'reel.updated',
  version: 1,
  description:
    "A reel changed and is now at `revision`: `change` says what (take.ready, take.failed, take.approved, take.rejected, take.added, sections.reordered, compile.*). The envelope's jobId is the reel id. Read the reel (GET /v1/reels/:id) for the whole document.",
  data: z.object({
    reelId: z.string().min(1).max(128),
    revision: z.number().int().positive(),
    change: z.enum(REEL_CHANGES),
    sectionId: z.string().max(16).optional(),
    takeId: z.string().max(16).optional(),
    /** The take's status after the change. */
    takeStatus: TakeStatus.optional(),
    /** The job the change is about (a take's generation, the compile). */
    jobId: z.string().max(128).optional(),
    /** Who made the change (the API key's name), for changes made through the API. */
    by: z.string().max(100).optional(),
  }),
});
