import {
  propagation,
  ROOT_CONTEXT,
  type Context,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import type { JsMsg } from '@nats-io/jetstream';
import { Match, type MsgHdrs } from '@nats-io/transport-node';
import { HEADERS } from '@reelbus/contracts';

const setter: TextMapSetter<MsgHdrs> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

const getter: TextMapGetter<MsgHdrs | undefined> = {
  keys: (carrier) => (carrier ? carrier.keys() : []),
  get: (carrier, key) => {
    if (!carrier || !carrier.has(key, Match.IgnoreCase)) return undefined;
    return carrier.get(key, Match.IgnoreCase) || undefined;
  },
};

/** Writes `traceparent` / `tracestate` (the registered propagator's fields) of `ctx` into `headers`. */
export function injectTrace(ctx: Context, headers: MsgHdrs): void {
  propagation.inject(ctx, headers, setter);
}

/** The trace context carried by message headers (the root context when there is none). */
export function extractTrace(headers: MsgHdrs | undefined): Context {
  return propagation.extract(ROOT_CONTEXT, headers, getter);
}

/**
 * OpenTelemetry messaging attributes of the CONSUMER span of one delivery (semantic conventions
 * v1.2x: system, operation, destination, message id, consumer group; NATS specifics under
 * `messaging.nats.*`, as other systems put theirs under `messaging.<system>.*`).
 */
export function consumerSpanAttributes(opts: {
  msg: JsMsg;
  service: string;
  consumer: string;
}): Record<string, string | number> {
  const { msg, service, consumer } = opts;
  return {
    'messaging.system': 'nats',
    'messaging.operation.type': 'process',
    'messaging.operation.name': 'process',
    'messaging.destination.name': msg.subject,
    'messaging.destination.subscription.name': consumer,
    'messaging.consumer.group.name': consumer,
    'messaging.client.id': service,
    'messaging.message.id': msg.headers?.get(HEADERS.msgId) || msg.headers?.get(HEADERS.originalMsgId) || '',
    'messaging.message.body.size': msg.data.length,
    'messaging.nats.message.delivery_count': msg.info.deliveryCount,
    'messaging.nats.stream': msg.info.stream,
    'messaging.nats.stream_sequence': msg.info.streamSequence,
  };
}
