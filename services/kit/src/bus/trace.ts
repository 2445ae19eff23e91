import {
  propagation,
  ROOT_CONTEXT,
  type Context,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import { Match, type MsgHdrs } from '@nats-io/transport-node';

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
