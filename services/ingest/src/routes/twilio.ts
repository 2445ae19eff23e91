import formbody from '@fastify/formbody';
import { newJob, type EventDataInput } from '@reelbus/contracts';
import type { FastifyInstance } from 'fastify';
import { currentTraceId } from '@reelbus/kit';
// The webhook module alone: \`import twilio from 'twilio'\` loads the whole REST client (~24 MB resident).
import { validateRequest } from 'twilio/lib/webhooks/webhooks.js';
import { z } from 'zod';
import type { RouteContext } from '../app.ts';
import { checkCallbackUrl } from '../callback-url.ts';
import { HttpError, badRequest } from '../errors.ts';

export const TWILIO_RECORDING_PATH = '/v1/webhooks/twilio/recording';

/** The fields of Twilio's recording status callback that reelbus reads (all arrive as strings). */
export const TwilioRecordingCallback = z.object({
  AccountSid: z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'must be a Twilio Account SID (AC…)'),
  CallSid: z.string().min(1, 'is required'),
  RecordingSid: z.string().regex(/^RE[0-9a-fA-F]{32}$/, 'must be a Twilio Recording SID (RE…)'),
  RecordingUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  RecordingStatus: z.string().min(1, 'is required'),
  RecordingDuration: z.coerce.number().nonnegative().optional(),
  RecordingChannels: z.coerce.number().int().min(1).max(2).optional(),
});
export type TwilioRecordingCallback = z.infer<typeof TwilioRecordingCallback>;

/** Deterministic: Twilio's retries of one recording land on one job. */
export const twilioJobId = (recordingSid: string) => `call_${recordingSid}`;

export async function twilioRoutes(app: FastifyInstance, { ctx }: { ctx: RouteContext }) {
  const { config, bus, jobs } = ctx;
  await app.register(formbody, { bodyLimit: 64 * 1024 });

  app.post(TWILIO_RECORDING_PATH, async (req, reply) => {
    if (!config.twilioAuthToken) {
      throw new HttpError({
        statusCode: 503,
        code: 'not_configured',
        message: 'Twilio webhook not configured (set TWILIO_AUTH_TOKEN)',
      });
    }
    const params = normaliseParams(req.body);
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

    const parsed = TwilioRecordingCallback.safeParse(params);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = String(issue?.path[0] ?? 'body');
      throw badRequest(field, issue?.message ?? 'invalid');
    }
    const cb = parsed.data;
    if (cb.RecordingStatus !== 'completed') {
      req.log.info(
        { recordingSid: cb.RecordingSid, status: cb.RecordingStatus },
        'ignoring Twilio recording callback that is not "completed"',
      );
      return reply.code(200).send({ ignored: true, reason: `RecordingStatus is "${cb.RecordingStatus}"` });
    }

    const query = req.query as Record<string, unknown>;
    const callbackUrl = checkCallbackUrl({
      value: query.callbackUrl,
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

    const { created, job } = await jobs.create(
      newJob({
        id: jobId,
        kind: 'call',
        dedupeKey: `twilio:${cb.RecordingSid}`,
        traceId: currentTraceId(),
        input: data,
        ...(callbackUrl ? { callbackUrl } : {}),
      }),
    );
    // A job still queued may have missed its event (crash between create and publish): publish again,
    // with the same id, so JetStream drops it if the first one did go out.
    if (created || job.status === 'queued') {
      try {
        await bus.publish('recording.received', job.id, data, { id: `recording.received:${job.id}` });
      } catch (err) {
        req.log.error({ err, jobId: job.id }, 'publishing recording.received failed');
        throw new HttpError({
          statusCode: 503,
          code: 'bus_unavailable',
          message: 'cannot queue the job right now; Twilio will retry',
          cause: err,
        });
      }
    }
    req.log.info(
      { jobId: job.id, created, status: job.status },
      created ? 'job created from Twilio' : 'Twilio retry of a known recording',
    );
    return reply.code(200).send({ jobId: job.id, created });
  });
}

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
