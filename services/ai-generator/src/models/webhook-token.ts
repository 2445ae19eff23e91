import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The token in a provider webhook URL: HMAC-SHA256 of the provider and the job id with
 * GENERATION_WEBHOOK_SECRET (shared by ingest and the ai-generator). A callback URL is only valid for the
 * job (and provider) it was made for, so a webhook can only finish its own generation.
 */
export function signWebhookToken(opts: { secret: string; provider: string; jobId: string }): string {
  const { secret, provider, jobId } = opts;
  return createHmac('sha256', secret)
    .update(`reelbus-generation-webhook\n${provider}\n${jobId}`)
    .digest('base64url');
}

/** True when `token` is the signature of this provider and job id (constant-time compare). */
export function verifyWebhookToken(opts: {
  secret: string;
  provider: string;
  jobId: string;
  token: string | undefined;
}): boolean {
  const { token, ...rest } = opts;
  if (!token) return false;
  const expected = Buffer.from(signWebhookToken(rest));
  const got = Buffer.from(token);
  return got.length === expected.length && timingSafeEqual(got, expected);
}
