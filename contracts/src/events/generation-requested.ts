import { z } from 'zod';
import { HttpUrl } from '../common.ts';
import { defineEvent } from '../envelope.ts';
import { JobOrigin } from '../job.ts';

/** One run of a model from the registry (infra/models.yaml) should be made. */
export const GenerationRequestedV1 = defineEvent({
  type: 'generation.requested',
  version: 1,
  description:
    "Run one model of the registry with these params (already checked against the model's schema, defaults filled in); the ai-generator stores the result in blob storage and completes the job. Media params are blob keys or http(s) URLs. `origin` says which document the run is for (a reel's take).",
  data: z.object({
    /** A model id from the registry (`GET /v1/models`). */
    model: z.string().min(1).max(100),
    params: z.record(z.string(), z.unknown()),
    callbackUrl: HttpUrl.optional(),
    origin: JobOrigin.optional(),
  }),
});
