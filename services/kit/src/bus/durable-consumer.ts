import type { ConsumerConfig } from '@nats-io/jetstream';
import { isJsApiError, JS_API_CODE } from './api-codes.ts';
import type { Bus } from './bus.ts';
import { consumerConfig } from './streams.ts';

/**
 * Creates the durable pull consumer of (service, type), or brings its AckWait / MaxDeliver /
 * description up to date. Safe from every replica at once. Returns its name.
 */
export async function ensureConsumer(opts: {
  bus: Bus;
  service: string;
  type: string;
  ackWaitMs: number;
  maxDeliver: number;
}): Promise<string> {
  const { bus, service, type, ackWaitMs, maxDeliver } = opts;
  const def = consumerConfig({ names: bus.names, service, type, ackWaitMs, maxDeliver });
  const stream = bus.names.eventsStream;
  try {
    const info = await bus.jsm.consumers.info(stream, def.durable_name);
    const c = info.config;
    if (
      c.ack_wait !== def.ack_wait ||
      c.max_deliver !== def.max_deliver ||
      c.description !== def.description
    ) {
      await bus.jsm.consumers.update(stream, def.durable_name, {
        ack_wait: def.ack_wait,
        max_deliver: def.max_deliver,
        description: def.description,
      });
      bus.logger.info({ consumer: def.durable_name }, 'consumer config updated');
    }
    if (c.filter_subject !== def.filter_subject) {
      bus.logger.warn(
        { consumer: def.durable_name, has: c.filter_subject, wants: def.filter_subject },
        'consumer filter differs and cannot be changed on this server; delete the consumer to recreate it',
      );
    }
    return def.durable_name;
  } catch (err) {
    if (!isJsApiError(err, JS_API_CODE.ConsumerNotFound)) throw err;
  }
  try {
    await bus.jsm.consumers.add(stream, def as unknown as Partial<ConsumerConfig>);
  } catch (err) {
    // another replica created it at the same moment
    await bus.jsm.consumers.info(stream, def.durable_name).catch(() => {
      throw err;
    });
  }
  bus.logger.info({ consumer: def.durable_name, filter: def.filter_subject }, 'consumer created');
  return def.durable_name;
}
