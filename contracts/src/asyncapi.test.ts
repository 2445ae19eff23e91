import { Parser } from '@asyncapi/parser';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ENTRY_EVENTS, renderAsyncApi } from './asyncapi.ts';
import { catalogue } from './catalogue.ts';
import { HEADERS, names } from './subjects.ts';

const file = fileURLToPath(new URL('../asyncapi.yaml', import.meta.url));
const text = readFileSync(file, 'utf8');

describe('contracts/asyncapi.yaml', () => {
  it('is up to date (run `npm run schemas` after changing a contract)', () => {
    expect(text).toBe(renderAsyncApi());
  });

  it("is a valid AsyncAPI 3.1 document by the AsyncAPI project's own parser, without a warning", async () => {
    const { document, diagnostics } = await new Parser().parse(text);
    expect(diagnostics.map((d) => `${d.severity} ${d.path.join('.')}: ${d.message}`)).toEqual([]);
    expect(document?.version()).toBe('3.1.0');
  }, 60_000);

  it('has one channel per event type on its NATS subject, with a message per version and its schema', async () => {
    const { document } = await new Parser().parse(text);
    const channels = document!.channels();
    for (const def of catalogue) {
      const channel = channels.get(def.type);
      expect(channel?.address(), def.type).toBe(names().eventSubject(def.type));
      const message = channel!.messages().get(`${def.type}.v${def.version}`);
      expect(message, `${def.type} v${def.version}`).toBeDefined();
      const payload = message!.payload()!.json() as { properties: Record<string, { const?: unknown }> };
      expect(payload.properties.type?.const).toBe(def.type);
      expect(payload.properties.version?.const).toBe(def.version);
      expect(Object.keys(payload.properties).sort()).toEqual([
        'data',
        'id',
        'jobId',
        'occurredAt',
        'testMode',
        'type',
        'version',
      ]);
      const headers = message!.headers()!.json() as {
        required: string[];
        properties: Record<string, unknown>;
      };
      expect(headers.required).toEqual([HEADERS.msgId]);
      expect(Object.keys(headers.properties)).toEqual(
        expect.arrayContaining([HEADERS.msgId, HEADERS.traceparent]),
      );
    }
    expect(channels.get('deadLetters')?.address()).toBe('reelbus.dlq.{service}.{type}');
  }, 60_000);

  it('tells an outside publisher where and how to publish recording.received', () => {
    const doc = parse(text) as {
      info: { description: string };
      operations: Record<string, { action: string; channel: { $ref: string }; summary: string }>;
    };
    expect(ENTRY_EVENTS).toContain('recording.received');
    expect(doc.info.description).toContain('`reelbus.evt.recording.received`');
    expect(doc.info.description).toContain('Nats-Msg-Id');
    expect(doc.info.description).toContain('traceparent');
    expect(doc.operations.publishRecordingReceived).toMatchObject({
      action: 'send',
      channel: { $ref: '#/channels/recording.received' },
    });
    expect(doc.operations.publishRecordingReceived!.summary).toContain('any NATS client may publish');
  });
});
