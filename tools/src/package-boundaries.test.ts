import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './e2e/harness.ts';

/** Every TypeScript/JavaScript file under `dir` (no node_modules). */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules') return [];
    if (statSync(path).isDirectory()) return sources(path);
    return /\.(m?[jt]s)$/.test(name) ? [path] : [];
  });
}

describe('tools/', () => {
  it('uses services through their package entry points (@reelbus/<service>), never their src/ files', () => {
    const offenders: string[] = [];
    for (const file of sources(join(ROOT, 'tools'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|reference\s+path=)['"`]([^'"`]+)['"`]/g)) {
        if (/(^|\/)services\/[^/]+\/src\//.test(m[1]!)) offenders.push(`${relative(ROOT, file)}: ${m[1]}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
