export * from './nats.ts';
export * from './fixtures.ts';
export * from './media.ts';
export * from './mongo-wire.ts';
export * from './cluster.ts';
export * from './handler-context.ts';
export * from './spans.ts';
export * from './damaged.ts';
