import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleService, freshBundle, isFresh } from './service-bundle.ts';
import { serviceArgs } from './stack.ts';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

describe('isFresh', () => {
  it('is fresh only while every input exists and is older than the build', () => {
    expect(isFresh(1000, [10, 999, 1000])).toBe(true);
    expect(isFresh(1000, [10, 1001])).toBe(false);
    expect(isFresh(1000, [10, undefined])).toBe(false);
  });
});

describe('a service bundle', () => {
  // A repository of one service: its main imports a helper of its own and an npm package (zod, through
  // the real node_modules), and prints where import.meta.url says it is.
  let root: string;
  const src = () => join(root, 'services', 'demo', 'src');
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'reelbus-bundle-'));
    mkdirSync(src(), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
    writeFileSync(join(src(), 'where.ts'), 'export const where: string = import.meta.url;\n');
    writeFileSync(
      join(src(), 'main.ts'),
      [
        "import { z } from 'zod';",
        "import { where } from './where.ts';",
        'const port: number = z.coerce.number().parse(process.env.PORT);',
        'console.log(JSON.stringify({ port, where, main: import.meta.url }));',
      ].join('\n'),
    );
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('runs under plain node like its sources, with import.meta.url naming each source file', async () => {
    expect(freshBundle(root, 'demo')).toBeUndefined();
    const entry = await bundleService(root, 'demo');
    expect(freshBundle(root, 'demo')).toBe(entry);
    expect(serviceArgs(root, 'demo')).toEqual(['--enable-source-maps', entry]);

    const out = execFileSync(process.execPath, serviceArgs(root, 'demo'), {
      env: { ...process.env, PORT: '8080' },
      encoding: 'utf8',
    });
    expect(JSON.parse(out)).toEqual({
      port: 8080,
      where: new URL(`file://${join(src(), 'where.ts')}`).href,
      main: new URL(`file://${join(src(), 'main.ts')}`).href,
    });
  });

  it('is stale once a source it was built from changes, and then the service runs through tsx', async () => {
    await bundleService(root, 'demo');
    const later = new Date(Date.now() + 5_000);
    utimesSync(join(src(), 'where.ts'), later, later);
    expect(freshBundle(root, 'demo')).toBeUndefined();
    expect(serviceArgs(root, 'demo')).toEqual(['--import', 'tsx', join(src(), 'main.ts')]);
    expect(serviceArgs(root, 'demo', false)).toEqual(['--import', 'tsx', join(src(), 'main.ts')]);
  });
});
