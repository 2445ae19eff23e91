export { buildApp, type BuildAppOptions, type RouteInfo } from './app.ts';
export { IngestEnv, loadIngestConfig, toIngestConfig, type IngestConfig } from './config.ts';
export { hashApiKey, signLink, verifyLink, linkSignature, type SignedLink } from './auth.ts';
export { TwilioRecordingCallback, TWILIO_RECORDING_PATH, twilioJobId } from './routes/twilio.ts';
export type { IngestBus, IngestDeps, JobWatch } from './deps.ts';
