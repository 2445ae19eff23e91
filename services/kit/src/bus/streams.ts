import type { Names } from '@reelbus/contracts';

/** Nanoseconds in one millisecond: the JetStream API counts time in nanoseconds. */
const NS_PER_MS = 1_000_000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** How long events are kept: the stream is the history of every job, and replays read from it. */
export const EVENTS_MAX_AGE_MS = 30 * DAY_MS;
/** Dead letters wait for an operator: keep them a year. */
export const DEAD_LETTERS_MAX_AGE_MS = 365 * DAY_MS;
/** Window in which a repeated `Nats-Msg-Id` is dropped (deterministic event ids rely on it). */
export const DUPLICATE_WINDOW_MS = 10 * 60 * 1000;

/**
 * A stream definition in the JetStream API's own JSON shape (what `nats stream add --config` reads
 * and what `jsm.streams.add` sends). Only fields nats-server 2.9 knows: no `sync_interval`.
 */
export interface StreamDefinition {
  name: string;
  description: string;
  subjects: string[];
  retention: 'limits';
  storage: 'file';
  discard: 'old';
  max_age: number;
  max_msgs: number;
  max_bytes: number;
  max_msg_size: number;
  max_msgs_per_subject: number;
  duplicate_window: number;
  num_replicas: number;
  allow_rollup_hdrs: boolean;
  deny_delete: boolean;
  deny_purge: boolean;
}

/** The two streams reelbus needs: every event, and the messages consumers gave up on. */
export function streamConfigs(opts: { names: Names; replicas?: number }): {
  events: StreamDefinition;
  deadLetters: StreamDefinition;
} {
  const { names, replicas = 1 } = opts;
  const common = {
    retention: 'limits',
    storage: 'file',
    discard: 'old',
    max_msgs: -1,
    max_bytes: -1,
    max_msg_size: -1,
    max_msgs_per_subject: -1,
    duplicate_window: DUPLICATE_WINDOW_MS * NS_PER_MS,
    num_replicas: replicas,
    allow_rollup_hdrs: false,
    deny_purge: false,
  } as const;
  return {
    events: {
      ...common,
      name: names.eventsStream,
      description: `reelbus events (${names.namespace}): every fact of every job, limits retention`,
      subjects: [names.allEvents],
      max_age: EVENTS_MAX_AGE_MS * NS_PER_MS,
      deny_delete: true,
    },
    deadLetters: {
      ...common,
      name: names.deadLetterStream,
      description: `reelbus dead letters (${names.namespace}): original messages a consumer gave up on, with the reason in headers`,
      subjects: [names.allDeadLetters],
      max_age: DEAD_LETTERS_MAX_AGE_MS * NS_PER_MS,
      // operators delete a dead letter once handled
      deny_delete: false,
    },
  };
}

/** Consumer settings the consume loop uses, in the JetStream API's JSON shape. */
export interface ConsumerDefinition {
  durable_name: string;
  description: string;
  filter_subject: string;
  ack_policy: 'explicit';
  deliver_policy: 'all';
  replay_policy: 'instant';
  ack_wait: number;
  max_deliver: number;
  max_ack_pending: number;
  max_waiting: number;
}

export const DEFAULT_ACK_WAIT_MS = 30_000;
export const DEFAULT_MAX_DELIVER = 5;

/** The durable pull consumer of `service` for events of `type` (one filter subject: nats-server 2.9). */
export function consumerConfig(opts: {
  names: Names;
  service: string;
  type: string;
  ackWaitMs?: number;
  maxDeliver?: number;
}): ConsumerDefinition {
  const { names, service, type, ackWaitMs = DEFAULT_ACK_WAIT_MS, maxDeliver = DEFAULT_MAX_DELIVER } = opts;
  return {
    durable_name: names.consumerName(service, type),
    description: `${service} handles ${type}`,
    filter_subject: names.eventSubject(type),
    ack_policy: 'explicit',
    deliver_policy: 'all',
    replay_policy: 'instant',
    ack_wait: Math.round(ackWaitMs * NS_PER_MS),
    max_deliver: maxDeliver,
    // the loop pulls only what it can work on, so this is only a safety net
    max_ack_pending: 1000,
    max_waiting: 512,
  };
}

/**
 * The JSON files in infra/streams/, keyed by path, for the default namespace: the embedded profile
 * (1 replica) and the cluster profile (3 replicas), plus one consumer as an example of what each
 * service creates at start.
 */
export function infraStreamFiles(opts: { names: Names }): Record<string, unknown> {
  const { names } = opts;
  const single = streamConfigs({ names, replicas: 1 });
  const cluster = streamConfigs({ names, replicas: 3 });
  return {
    'single/events.stream.json': single.events,
    'single/dead-letters.stream.json': single.deadLetters,
    'cluster/events.stream.json': cluster.events,
    'cluster/dead-letters.stream.json': cluster.deadLetters,
    'consumer.example.json': consumerConfig({ names, service: 'encoder', type: 'timeline.ready' }),
  };
}
