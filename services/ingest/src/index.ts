export { buildApp, type BuildAppOptions, type RouteContext, type RouteInfo } from './app.ts';
export { IngestEnv, loadIngestConfig, toIngestConfig, type IngestConfig, type RateLimits } from './config.ts';
export {
  hashApiKey,
  parseApiKeys,
  legacyKeyName,
  ApiKeyConfig,
  KeyRing,
  ROLES,
  type Role,
} from './api-keys.ts';
export { signLink, verifyLink, linkSignature, type SignedLink } from './links.ts';
export { TwilioRecordingCallback, TWILIO_RECORDING_PATH, twilioJobId } from './routes/twilio.ts';
export { submitJob, type SubmitJobRequest, type SubmittedJob } from './jobs/submit.ts';
export { KvCasMap, MemoryCasMap, type CasMap } from './limits/cas-map.ts';
export { usageBuckets } from './limits/buckets.ts';
export { ErrorBody, JobAccepted, JobIdParams, NoQuery, jobLinks } from './http/schemas.ts';
export type { Access } from './http/access.ts';
export type { IngestBus, IngestDeps, JobWatch, LimitStores } from './deps.ts';
