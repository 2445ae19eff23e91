import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newestMtimeMs, studioBuildNeeded } from './studio-build.ts';

describe('studio build', () => {
  it('builds when there is no build or a source is newer than it', () => {
    expect(studioBuildNeeded({ builtAtMs: undefined, newestSourceMs: 0 })).toBe(true);
    expect(studioBuildNeeded({ builtAtMs: 2000, newestSourceMs: 3000 })).toBe(true);
    expect(studioBuildNeeded({ builtAtMs: 3000, newestSourceMs: 2000 })).toBe(false);
  });

  it('finds the newest file under folders, ignoring paths that do not exist', () => {
    const dir = mkdtempSync(join(tmpdir(), 'reelbus-mtime-'));
    try {
      mkdirSync(join(dir, 'src', 'pages'), { recursive: true });
      const old = join(dir, 'src', 'a.ts');
      const recent = join(dir, 'src', 'pages', 'b.tsx');
      writeFileSync(old, '');
      writeFileSync(recent, '');
      utimesSync(old, 1000, 1000);
      utimesSync(recent, 5000, 5000);
      utimesSync(join(dir, 'src', 'pages'), 100, 100);
      utimesSync(join(dir, 'src'), 100, 100);
      expect(newestMtimeMs([join(dir, 'src'), join(dir, 'missing')])).toBe(5_000_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
