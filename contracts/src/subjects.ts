/**
 * Every subject, stream, consumer and bucket name, from one place.
 * A namespace (default `reelbus`) prefixes them all, so several installs, or tests with random
 * names, can share one NATS server.
 */
export interface Names {
  namespace: string;
  /** Stream holding every event (limits retention): subjects `<ns>.evt.>`. */
  eventsStream: string;
  /** Dead-letter stream: subjects `<ns>.dlq.>`. */
  deadLetterStream: string;
  /** JetStream KV bucket of the embedded job store. */
  jobsBucket: string;
  /**
   * JetStream KV bucket of one document collection (reels, projects) in the embedded profile:
   * `<ns>_doc_<collection>`. Throws on a collection name that is not `DOCUMENT_COLLECTION_RE`.
   */
  documentBucket(collection: string): string;
  /** JetStream KV bucket of cancelled job ids (one key per job), which every consuming service watches. */
  cancelledBucket: string;
  /**
   * JetStream KV bucket of deleted job ids (`DELETE /v1/jobs/:id`): the notifier creates no document
   * for them again, and the retention sweeper removes blobs written after the deletion.
   */
  deletedBucket: string;
  /** Subject an event of `type` is published on. */
  eventSubject(type: string): string;
  /** Wildcard over every event subject. */
  allEvents: string;
  /** Subject a dead-lettered message of `type`, given up by `service`, is copied to. */
  deadLetterSubject(service: string, type: string): string;
  /** Wildcard over every dead-letter subject. */
  allDeadLetters: string;
  /** Durable consumer name of `service` for events of `type` (one filter subject per consumer: nats-server 2.9). */
  consumerName(service: string, type: string): string;
}

const NAMESPACE_RE = /^[a-z][a-z0-9_-]{0,31}$/;

/** A document collection's name (`reels`, `projects`): safe as a KV bucket and a MongoDB collection name. */
export const DOCUMENT_COLLECTION_RE = /^[a-z][a-z0-9_]{0,31}$/;

export const DEFAULT_NAMESPACE = 'reelbus';

export function names(namespace: string = DEFAULT_NAMESPACE): Names {
  if (!NAMESPACE_RE.test(namespace)) {
    throw new Error(`namespace "${namespace}" must match ${NAMESPACE_RE}`);
  }
  const upper = namespace.toUpperCase().replace(/-/g, '_');
  const token = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '_');
  return {
    namespace,
    eventsStream: `${upper}_EVENTS`,
    deadLetterStream: `${upper}_DLQ`,
    jobsBucket: `${namespace.replace(/-/g, '_')}_jobs`,
    documentBucket: (collection) => {
      if (!DOCUMENT_COLLECTION_RE.test(collection)) {
        throw new Error(`document collection "${collection}" must match ${DOCUMENT_COLLECTION_RE}`);
      }
      return `${namespace.replace(/-/g, '_')}_doc_${collection}`;
    },
    cancelledBucket: `${namespace.replace(/-/g, '_')}_cancelled`,
    deletedBucket: `${namespace.replace(/-/g, '_')}_deleted`,
    eventSubject: (type) => `${namespace}.evt.${type}`,
    allEvents: `${namespace}.evt.>`,
    deadLetterSubject: (service, type) => `${namespace}.dlq.${token(service)}.${type}`,
    allDeadLetters: `${namespace}.dlq.>`,
    consumerName: (service, type) => `${token(service)}__${token(type.replace(/\./g, '_'))}`,
  };
}

/** Message headers reelbus sets on every event. */
export const HEADERS = {
  msgId: 'Nats-Msg-Id',
  type: 'Reelbus-Type',
  version: 'Reelbus-Version',
  jobId: 'Reelbus-Job-Id',
  traceparent: 'traceparent',
  tracestate: 'tracestate',
  dlqReason: 'Reelbus-Dlq-Reason',
  dlqService: 'Reelbus-Dlq-Service',
  dlqStep: 'Reelbus-Dlq-Step',
  dlqSubject: 'Reelbus-Dlq-Subject',
  dlqStreamSeq: 'Reelbus-Dlq-Stream-Seq',
  dlqDeliveries: 'Reelbus-Dlq-Deliveries',
  dlqAt: 'Reelbus-Dlq-At',
  /** On a replayed dead letter: only this service handles it, the others ack and skip. */
  replayFor: 'Reelbus-Replay-For',
  originalMsgId: 'Reelbus-Original-Msg-Id',
} as const;
