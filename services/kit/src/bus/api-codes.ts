import { JetStreamApiError } from '@nats-io/jetstream';

/**
 * The JetStream API error codes reelbus reacts to (nats-server's `err_code`, in
 * `server/errors.json`). nats.js exports only some of them (`JetStreamApiCodes`); this is the one
 * place the raw numbers appear.
 */
export const JS_API_CODE = {
  /** A consumer with that name does not exist (deleted, or never created on this server). */
  ConsumerNotFound: 10014,
  /** No message at that sequence / for that subject. */
  NoMessageFound: 10037,
  /** No message at that sequence, answered for a sequence inside the stream's range that was deleted. */
  SequenceNotFound: 10043,
  /** Deleting a message failed (nats-server answers this when there is no message at the sequence). */
  MessageDeleteFailed: 10057,
  /** A stream with that name exists with another configuration. */
  StreamNameInUse: 10058,
  /** No stream with that name. */
  StreamNotFound: 10059,
  /** A compare-and-set write lost: the subject's last sequence was not the expected one. */
  StreamWrongLastSequence: 10071,
  /** The same, answered by servers that cannot tell the actual sequence. */
  StreamWrongLastSequenceUnknown: 10164,
} as const;

export type JsApiCode = (typeof JS_API_CODE)[keyof typeof JS_API_CODE];

/** True when `err` is a JetStream API error with one of `codes`. */
export function isJsApiError(err: unknown, ...codes: JsApiCode[]): err is JetStreamApiError {
  return err instanceof JetStreamApiError && codes.includes(err.code as JsApiCode);
}
