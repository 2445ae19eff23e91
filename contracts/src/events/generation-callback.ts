import { z } from 'zod';
import { defineEvent } from '../envelope.ts';

/**
 * A provider said a run finished, in a webhook ingest verified (Standard Webhooks signature for
 * Replicate, ED25519 for fal) and whose URL carried this job's signed id.
 */
export const GenerationCallbackV1 = defineEvent({
  type: 'generation.callback',
  version: 1,
  description:
    "A verified provider webhook (Replicate, fal) reporting that a generation's run ended. The ai-generator finishes the job from it unless polling already did: one completion either way.",
  data: z.object({
    provider: z.enum(['replicate', 'fal']),
    /** The provider's id of the run (Replicate prediction id, fal request id). */
    requestId: z.string().min(1).max(200),
    status: z.enum(['succeeded', 'failed', 'canceled']),
    /** The provider's result (Replicate `output`, fal `payload`): where the media URLs are. */
    output: z.unknown().optional(),
    /** The provider's own error message, when it failed. */
    error: z.string().max(4000).optional(),
    /** Billed compute time the provider reported (Replicate `metrics.predict_time`). */
    computeSec: z.number().nonnegative().optional(),
    /** When the provider says the run ended. */
    completedAt: z.iso.datetime({ offset: true }).optional(),
    /** When ingest received the webhook. */
    receivedAt: z.iso.datetime({ offset: true }),
    /** The webhook's own id (`webhook-id`, or fal's request id and timestamp). */
    webhookId: z.string().min(1).max(300),
  }),
});
