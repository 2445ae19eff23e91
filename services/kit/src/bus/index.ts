export * from './types.ts';
export { Bus, buildEnvelope, type BusConnectOptions, type CancelJobResult } from './bus.ts';
export { CancelledJobs, CancelRecord, CANCELLED_MAX_AGE_MS } from './cancellation.ts';
export { JS_API_CODE, isJsApiError, type JsApiCode } from './api-codes.ts';
export {
  REPLAY_FOR_HEADER,
  ORIGINAL_MSG_ID_HEADER,
  listDeadLetters,
  getDeadLetter,
  replayDeadLetter,
  deleteDeadLetter,
  DeadLetterReplayError,
  deleteJobDeadLetters,
  type DeadLetter,
  type DeadLetterBus,
  type ReplayResult,
} from './dead-letters.ts';
export { retryJob, reopenFailedJob, type RetryJobResult } from './retry-job.ts';
export {
  streamConfigs,
  consumerConfig,
  infraStreamFiles,
  type StreamDefinition,
  type ConsumerDefinition,
} from './streams.ts';
