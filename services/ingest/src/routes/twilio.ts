import formbody from '@fastify/formbody';
import type { EventDataInput } from '@reelbus/contracts';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
// The webhook module alone: `import twilio from 'twilio'` loads the whole REST client (~24 MB resident).
import { validateRequest } from 'twilio/lib/webhooks/webhooks.js';
import { z } from 'zod';
import type { RouteContext } from '../app.ts';
import { checkCallbackUrl } from '../callback-url.ts';
import { HttpError } from '../errors.ts';
import { ErrorBody } from '../http/schemas.ts';

export const TWILIO_RECORDING_PATH = '/v1/webhooks/twilio/recording';

/** The fields of Twilio's recording status callback that reelbus reads (all arrive as strings; others are ignored). */
export const TwilioRecordingCallback = z.object({
  AccountSid: z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'must be a Twilio Account SID (AC…)'),
  CallSid: z.string().min(1, 'is required'),
  RecordingSid: z.string().regex(/^RE[0-9a-fA-F]{32}$/, 'must be a Twilio Recording SID (RE…)'),
  RecordingUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  RecordingStatus: z.string().min(1, 'is required').describe('Only `completed` makes a job'),
  RecordingDuration: z.coerce.number().nonnegative().optional(),
  RecordingChannels: z.coerce.number().int().min(1).max(2).optional(),
});
export type TwilioRecordingCallback = z.infer<typeof TwilioRecordingCallback>;

const TwilioQuery = z.object({
  callbackUrl: z
    .string()
    .optional()
    .describe('Where the notifier POSTs the result webhook (part of the URL Twilio signs)'),
});

const TwilioAnswer = z.union([
  z.object({ jobId: z.string(), created: z.boolean().describe('False for a retry of a known recording') }),
  z.object({ ignored: z.literal(true), reason: z.string() }),
]);

/** Deterministic: Twilio's retries of one recording land on one job. */
export const twilioJobId = (recordingSid: string) => `call_${recordingSid}`;

export const twilioRoutes: FastifyPluginAsyncZod<{ ctx: RouteContext }> = async (app, { ctx }) => {
  const { config } = ctx;
  await app.register(formbody, { bodyLimit: 64 * 1024 });

  /** Before validation: an unsigned request learns nothing about what its body should hold. */
  const checkSignature = async (req: FastifyRequest) => {
    if (!config.twilioAuthToken) {
      throw new HttpError({
        statusCode: 503,
        code: 'not_configured',
        message: 'Twilio webhook not configured (set TWILIO_AUTH_TOKEN)',
      });
    }
    const params = normaliseParams(req.body);
    req.body = params;
    const signature = req.headers['x-twilio-signature'];
    // Twilio signs the URL it called: the public one, not the Host a proxy hands us.
    const url = config.publicBaseUrl + req.url;
    if (typeof signature !== 'string' || !validateRequest(config.twilioAuthToken, signature, url, params)) {
      req.log.warn({ url, hasSignature: typeof signature === 'string' }, 'Twilio signature rejected');
      throw new HttpError({
        statusCode: 403,
        code: 'bad_signature',
        message: `X-Twilio-Signature is missing or does not match ${url} (check PUBLIC_BASE_URL and TWILIO_AUTH_TOKEN)`,
      });
    }
  };

  app.route({
    method: 'POST',
    url: TWILIO_RECORDING_PATH,
    // Twilio sends no API key: the X-Twilio-Signature over PUBLIC_BASE_URL + path + form is the check.
    config: { access: 'public', rateLimit: false },
    preValidation: checkSignature,
    schema: {
      summary: "Twilio's recording status callback (signed with X-Twilio-Signature)",
      description:
        'Point the recording status callback at this URL (method POST, `RecordingStatusCallbackEvent=completed`). `completed` makes one job per RecordingSid (`call_<RecordingSid>`); other statuses are ignored. A bad signature is a 403 and nothing is published.',
      tags: ['webhooks'],
      querystring: TwilioQuery,
      consumes: ['application/x-www-form-urlencoded'],
      body: TwilioRecordingCallback,
      response: { 200: TwilioAnswer, '4xx': ErrorBody, 503: ErrorBody },
    },
    handler: async (req, reply) => {
      const cb = req.body;
      if (cb.RecordingStatus !== 'completed') {
        req.log.info(
          { recordingSid: cb.RecordingSid, status: cb.RecordingStatus },
          'ignoring Twilio recording callback that is not "completed"',
        );
        return reply
          .code(200)
          .send({ ignored: true as const, reason: `RecordingStatus is "${cb.RecordingStatus}"` });
      }

      const callbackUrl = checkCallbackUrl({
        value: req.query.callbackUrl,
        allowPrivate: config.allowPrivateCallbacks,
      });
      const jobId = twilioJobId(cb.RecordingSid);
      const data = {
        source: 'twilio',
        recording: { url: cb.RecordingUrl },
        twilio: {
          accountSid: cb.AccountSid,
          callSid: cb.CallSid,
          recordingSid: cb.RecordingSid,
          ...(cb.RecordingDuration !== undefined ? { durationSec: cb.RecordingDuration } : {}),
          ...(cb.RecordingChannels !== undefined ? { channels: cb.RecordingChannels } : {}),
        },
        ...(callbackUrl ? { callbackUrl } : {}),
      } satisfies EventDataInput<'recording.received'>;

      const { created, job } = await ctx.submitJob({
        job: {
          id: jobId,
          kind: 'call',
          dedupeKey: `twilio:${cb.RecordingSid}`,
          input: data,
          ...(callbackUrl ? { callbackUrl } : {}),
        },
        event: { type: 'recording.received', data },
        principal: undefined,
      });
      req.log.info(
        { jobId: job.id, created, status: job.status },
        created ? 'job created from Twilio' : 'Twilio retry of a known recording',
      );
      return reply.code(200).send({ jobId: job.id, created });
    },
  });
};

/** Form fields as Twilio signs them: one string per name. */
function normaliseParams(body: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!body || typeof body !== 'object') return out;
  for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
    if (typeof v === 'string') out[k] = v;
    else if (Array.isArray(v) && typeof v[0] === 'string') out[k] = v[0];
  }
  return out;
}
