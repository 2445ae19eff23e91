export { applyEvent, overallProgress, kindOfEvent, notifierState } from './projection.ts';
export type { AnyEvent, NotifierState, WebhookState } from './projection.ts';
export {
  notifierHandlers,
  notifierConcurrency,
  pendingWebhook,
  projectEvent,
  jobFromEvent,
  PROJECTED_TYPES,
  NOTIFY_STEP,
  type NotifierDeps,
} from './handle-events.ts';
export {
  verifyWebhookSignature,
  signWebhook,
  webhookPayload,
  deliverWebhook,
  postOnce,
  isPrivateAddress,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  EVENT_ID_HEADER,
} from './webhook.ts';
export type {
  WebhookEvent,
  WebhookPayload,
  WebhookSettings,
  DeliveryResult,
  AttemptResult,
} from './webhook.ts';
export { NotifierEnv, toNotifierConfig, type NotifierConfig } from './config.ts';
