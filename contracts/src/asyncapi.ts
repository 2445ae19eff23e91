import { stringify } from 'yaml';
import { z } from 'zod';
import { catalogue } from './catalogue.ts';
import { EnvelopeBase } from './envelope.ts';
import { DEFAULT_NAMESPACE, HEADERS, names } from './subjects.ts';

/**
 * The event catalogue as an AsyncAPI 3.1 document (`contracts/asyncapi.yaml`, written by
 * `npm run schemas`): one channel per event type (its NATS subject), one message per version (its
 * JSON Schema), the headers every event carries, and the streams that keep them. A publisher in any
 * language can start a job from it (`recording.received`) without reelbus code.
 */

const VERSION = '1.0.0';

/** Entry points: events reelbus accepts from any publisher, not only from its own services. */
export const ENTRY_EVENTS = ['recording.received', 'story.received'] as const;

/** `recording.received` → `RecordingReceived` (operation ids). */
const pascal = (type: string) =>
  type
    .split(/[._-]/)
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');

/**
 * JSON Schema draft-07 (what AsyncAPI's default schema format builds on) of what a publisher sends:
 * fields with defaults are optional.
 */
function payloadSchema(schema: z.ZodType): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-7' }) as Record<
    string,
    unknown
  >;
  delete json.$schema;
  return json;
}

/** Builds the AsyncAPI 3.1 document (a plain object). */
export function asyncApiDocument(): Record<string, unknown> {
  const n = names(DEFAULT_NAMESPACE);
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const types = [...new Set(catalogue.map((d) => d.type))];

  for (const type of types) {
    const versions = catalogue.filter((d) => d.type === type);
    const channelMessages: Record<string, unknown> = {};
    for (const def of versions) {
      const id = `${def.type}.v${def.version}`;
      messages[id] = {
        name: def.type,
        title: `${def.type} v${def.version}`,
        summary: def.description,
        contentType: 'application/json',
        headers: { $ref: '#/components/schemas/EventHeaders' },
        payload: payloadSchema(def.envelope),
        'x-reelbus-json-schema': `contracts/schemas/${id}.json`,
      };
      channelMessages[id] = { $ref: `#/components/messages/${id}` };
    }
    const entry = (ENTRY_EVENTS as readonly string[]).includes(type);
    channels[type] = {
      address: n.eventSubject(type),
      title: type,
      description:
        `Events of type \`${type}\`, kept in the stream \`${n.eventsStream}\` (subjects \`${n.allEvents}\`).` +
        (entry ? ' An entry point: any publisher may send it to start a job.' : ''),
      messages: channelMessages,
      'x-reelbus-stream': n.eventsStream,
    };
    const channelRef = { $ref: `#/channels/${type}` };
    const messageRefs = versions.map((d) => ({
      $ref: `#/channels/${type}/messages/${d.type}.v${d.version}`,
    }));
    operations[`publish${pascal(type)}`] = {
      action: 'send',
      channel: channelRef,
      title: `Publish ${type}`,
      summary: entry
        ? `Start a job: any NATS client may publish ${type} (JetStream publish, Nats-Msg-Id = the envelope id).`
        : `A reelbus service publishes ${type}.`,
      messages: messageRefs,
    };
    operations[`receive${pascal(type)}`] = {
      action: 'receive',
      channel: channelRef,
      title: `Receive ${type}`,
      summary: `reelbus services read ${type} through durable pull consumers (\`<service>__${type.replace(/\./g, '_')}\`); anyone may subscribe to follow jobs.`,
      messages: messageRefs,
    };
  }

  channels.deadLetters = {
    address: `${n.namespace}.dlq.{service}.{type}`,
    title: 'dead letters',
    description: `A message a service gave up on (bad input, a permanent error, out of attempts): the original bytes and headers plus \`Reelbus-Dlq-*\` headers with the reason, in the stream \`${n.deadLetterStream}\` (subjects \`${n.allDeadLetters}\`). \`reelbus dlq list|show|replay\` reads them.`,
    parameters: {
      service: { description: 'The service that gave up, e.g. `audio-splitter`' },
      type: { description: 'The event type of the message, e.g. `recording.received`' },
    },
    messages: { deadLetter: { $ref: '#/components/messages/deadLetter' } },
    'x-reelbus-stream': n.deadLetterStream,
  };
  operations.receiveDeadLetters = {
    action: 'receive',
    channel: { $ref: '#/channels/deadLetters' },
    title: 'Receive dead letters',
    summary: 'Operators (and the CLI) read what failed, and may replay it.',
    messages: [{ $ref: '#/channels/deadLetters/messages/deadLetter' }],
  };
  messages.deadLetter = {
    name: 'deadLetter',
    title: 'A dead-lettered event',
    summary: 'The original message, kept with the reason it was given up on.',
    contentType: 'application/json',
    headers: { $ref: '#/components/schemas/DeadLetterHeaders' },
    payload: {
      ...payloadSchema(EnvelopeBase),
      description:
        'The original bytes: usually an event envelope, possibly not valid JSON at all (that may be why it is here).',
    },
  };

  const entryList = ENTRY_EVENTS.map((t) => `\`${n.eventSubject(t)}\``).join(' and ');
  return {
    asyncapi: '3.1.0',
    info: {
      title: 'reelbus events',
      version: VERSION,
      description: [
        'The events reelbus services exchange on NATS JetStream, generated from `contracts/` (`npm run schemas`).',
        '',
        `**Start a job from anywhere.** Publish a JSON envelope to ${entryList} with a JetStream publish (so the`,
        'stream acknowledges it), e.g. with the plain `@nats-io/jetstream` client',
        '(`tools/examples/publish-recording.mjs` does it with no reelbus code):',
        '',
        '```json',
        '{ "id": "<unique id>", "type": "recording.received", "version": 1, "jobId": "my-job-1",',
        '  "occurredAt": "2026-01-01T12:00:00Z",',
        '  "data": { "source": "bus", "recording": { "key": "jobs/my-job-1/input/call.wav" } } }',
        '```',
        '',
        `- Set the header \`${HEADERS.msgId}\` to the envelope's \`id\`: JetStream stores a message id once within`,
        '  its duplicate window, so a publish retried after a timeout makes one job.',
        `- Optionally \`${HEADERS.traceparent}\` (W3C Trace Context): the job's trace continues yours.`,
        `- Optionally \`${HEADERS.jobId}\` (the envelope's \`jobId\`): \`GET /v1/jobs/:id/events\` shows live only`,
        '  events that carry it (reelbus services always set it).',
        '- `data` carries blob keys or URLs, never media (claim check). The recording must be in blob storage',
        '  under that key, or at an https URL the audio-splitter can fetch.',
        '',
        `**Subjects** are \`<namespace>.evt.<type>\`; the namespace is \`${DEFAULT_NAMESPACE}\` unless`,
        '`REELBUS_NAMESPACE` says otherwise. Every event is kept in the stream `<NAMESPACE>_EVENTS`',
        `(\`${n.eventsStream}\`; limits retention, see \`infra/streams/\`). A message that does not match its`,
        'schema is never dropped silently: it is dead-lettered with the reason and the job fails.',
        '',
        'Each message payload is the whole envelope; `data` is the event-specific part. The same schemas',
        'as JSON Schema 2020-12 files are in `contracts/schemas/<type>.v<version>.json`.',
      ].join('\n'),
    },
    defaultContentType: 'application/json',
    servers: {
      embedded: {
        host: '127.0.0.1:4222',
        protocol: 'nats',
        description:
          'The embedded profile (`npm run stack`); elsewhere the servers in `NATS_URL`. JetStream must be on.',
      },
    },
    channels,
    operations,
    components: {
      schemas: {
        EventHeaders: {
          type: 'object',
          required: [HEADERS.msgId],
          properties: {
            [HEADERS.msgId]: {
              type: 'string',
              description:
                "The envelope's `id`. JetStream keeps the first message with an id within the stream's duplicate window and drops the rest.",
            },
            [HEADERS.traceparent]: {
              type: 'string',
              pattern: '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$',
              description: 'W3C Trace Context: the trace the event belongs to (one job = one trace).',
            },
            [HEADERS.tracestate]: { type: 'string', description: 'W3C Trace Context vendor state.' },
            [HEADERS.type]: {
              type: 'string',
              description: "The envelope's `type` (set by reelbus services).",
            },
            [HEADERS.version]: {
              type: 'string',
              description: "The envelope's `version` as text (set by reelbus services).",
            },
            [HEADERS.jobId]: {
              type: 'string',
              description: "The envelope's `jobId`; live event streams of a job select on it.",
            },
          },
        },
        DeadLetterHeaders: {
          type: 'object',
          properties: {
            [HEADERS.dlqReason]: { type: 'string', description: 'Why the message was given up on' },
            [HEADERS.dlqService]: { type: 'string', description: 'The service that gave up' },
            [HEADERS.dlqStep]: { type: 'string', description: 'The pipeline step' },
            [HEADERS.dlqSubject]: { type: 'string', description: 'The subject it was read from' },
            [HEADERS.dlqStreamSeq]: { type: 'string', description: 'Its sequence in the events stream' },
            [HEADERS.dlqDeliveries]: { type: 'string', description: 'How often it was delivered' },
            [HEADERS.dlqAt]: { type: 'string', format: 'date-time', description: 'When it was given up on' },
            [HEADERS.originalMsgId]: { type: 'string', description: "The original message's Nats-Msg-Id" },
          },
        },
      },
      messages,
    },
  };
}

/** The AsyncAPI document as YAML text, as `contracts/asyncapi.yaml` holds it. */
export function renderAsyncApi(): string {
  return (
    '# Generated from contracts/ by `npm run schemas` (contracts/src/asyncapi.ts): do not edit.\n' +
    stringify(asyncApiDocument(), { lineWidth: 0, aliasDuplicateObjects: false })
  );
}
