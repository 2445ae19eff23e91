import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { names } from '@reelbus/contracts';
import { describe, expect, it } from 'vitest';
import { consumerConfig, infraStreamFiles, streamConfigs } from './streams.ts';
import { INFRA_STREAMS_DIR, renderInfraStreamFile } from './write-infra-streams.ts';

function jsonFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory()
      ? jsonFiles(p)
      : p.endsWith('.json')
        ? [relative(INFRA_STREAMS_DIR, p)]
        : [];
  });
}

describe('stream definitions', () => {
  it('keeps infra/streams/ equal to what ensureStreams sends (regenerate with write-infra-streams.ts)', () => {
    const expected = infraStreamFiles({ names: names() });
    expect(jsonFiles(INFRA_STREAMS_DIR).sort()).toEqual(Object.keys(expected).sort());
    for (const [file, value] of Object.entries(expected)) {
      expect(JSON.parse(readFileSync(join(INFRA_STREAMS_DIR, file), 'utf8')), file).toEqual(
        JSON.parse(renderInfraStreamFile(value)),
      );
    }
  });

  it('declares limits-retention file streams with a 10 minute dedupe window and the asked replicas', () => {
    const { events, deadLetters } = streamConfigs({ names: names('acme'), replicas: 3 });
    expect(events).toMatchObject({
      name: 'ACME_EVENTS',
      subjects: ['acme.evt.>'],
      retention: 'limits',
      storage: 'file',
      num_replicas: 3,
    });
    expect(events.duplicate_window).toBe(10 * 60 * 1e9);
    expect(deadLetters).toMatchObject({ name: 'ACME_DLQ', subjects: ['acme.dlq.>'], num_replicas: 3 });
    expect(deadLetters.max_age).toBeGreaterThan(events.max_age);
    expect(Object.keys(events)).not.toContain('sync_interval');
  });

  it('gives each (service, event type) one durable consumer with one filter subject', () => {
    const c = consumerConfig({
      names: names('acme'),
      service: 'compositor',
      type: 'clip.generated',
      ackWaitMs: 5_000,
      maxDeliver: 7,
    });
    expect(c).toMatchObject({
      durable_name: 'compositor__clip_generated',
      filter_subject: 'acme.evt.clip.generated',
      ack_policy: 'explicit',
      ack_wait: 5_000 * 1e6,
      max_deliver: 7,
    });
  });
});
