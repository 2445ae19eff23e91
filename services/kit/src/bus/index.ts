export * from './types.ts';
export { Bus, buildEnvelope, type BusConnectOptions } from './bus.ts';
export { REPLAY_FOR_HEADER, ORIGINAL_MSG_ID_HEADER } from './consume.ts';
export {
  listDeadLetters,
  getDeadLetter,
  replayDeadLetter,
  deleteDeadLetter,
  type DeadLetter,
} from './dead-letters.ts';
export {
  streamConfigs,
  consumerConfig,
  infraStreamFiles,
  type StreamDefinition,
  type ConsumerDefinition,
} from './streams.ts';
