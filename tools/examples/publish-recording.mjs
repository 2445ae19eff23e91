// Starts the call pipeline by publishing `recording.received` with a plain NATS client: no reelbus
// code, only the event's JSON Schema (contracts/schemas/recording.received.v1.json).
//
//   NATS_URL=nats://127.0.0.1:4222 node tools/examples/publish-recording.mjs <jobId> <blob key or https URL>
//
// The recording must already be in blob storage under that key (or reachable at the URL).
import { randomUUID } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';

const [jobId, where] = process.argv.slice(2);
if (!jobId || !where) {
  console.error('usage: publish-recording.mjs <jobId> <blob key | https URL>');
  process.exit(2);
}
const namespace = process.env.REELBUS_NAMESPACE ?? 'reelbus';
const event = {
  id: randomUUID(),
  type: 'recording.received',
  version: 1,
  jobId,
  occurredAt: new Date().toISOString(),
  data: { source: 'bus', recording: where.startsWith('https://') ? { url: where } : { key: where } },
};

const nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' });
// The envelope id doubles as Nats-Msg-Id: publishing the same event twice is stored once.
const ack = await jetstream(nc).publish(`${namespace}.evt.recording.received`, JSON.stringify(event), {
  msgID: event.id,
});
console.log(`published ${event.type} for job ${jobId} (stream ${ack.stream}, seq ${ack.seq})`);
await nc.drain();
