// Writes contracts/schemas/*.json and contracts/asyncapi.yaml from the zod definitions: `npm run schemas`.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderAsyncApi } from './asyncapi.ts';
import { renderJsonSchemas } from './json-schema.ts';

const dir = fileURLToPath(new URL('../schemas/', import.meta.url));
mkdirSync(dir, { recursive: true });
const files = renderJsonSchemas();
for (const f of readdirSync(dir)) if (f.endsWith('.json') && !files.has(f)) rmSync(dir + f);
for (const [name, text] of files) writeFileSync(dir + name, text);
console.log(`wrote ${files.size} schemas to ${dir}`);

const asyncapi = fileURLToPath(new URL('../asyncapi.yaml', import.meta.url));
writeFileSync(asyncapi, renderAsyncApi());
console.log(`wrote ${asyncapi}`);
