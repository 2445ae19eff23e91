/**
 * Writes the stream and consumer definitions to infra/streams/ (the same objects `ensureStreams`
 * sends): `node --import tsx services/kit/src/bus/write-infra-streams.ts`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { names } from '@reelbus/contracts';
import { infraStreamFiles } from './streams.ts';

export const INFRA_STREAMS_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../../../infra/streams');

export function renderInfraStreamFile(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [file, value] of Object.entries(infraStreamFiles({ names: names() }))) {
    const path = join(INFRA_STREAMS_DIR, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, renderInfraStreamFile(value));
    console.log(`wrote ${path}`);
  }
}
