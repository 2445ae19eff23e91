import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobStoreContract } from './contract.ts';
import { createBlobStore } from './create.ts';
import { FsBlobStore } from './fs.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'reelbus-fsblob-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

blobStoreContract('FsBlobStore', async () => new FsBlobStore({ root: join(root, 'contract') }));

describe('FsBlobStore', () => {
  it('maps keys to files under the root and refuses its reserved names', async () => {
    const store = createBlobStore({ kind: 'fs', root: join(root, 'layout') });
    await store.put('jobs/j1/final.mp4', 'mp4');
    const path = store.localPath('jobs/j1/final.mp4');
    expect(path).toBe(join(root, 'layout', 'jobs', 'j1', 'final.mp4'));
    expect(await readFile(path!, 'utf8')).toBe('mp4');
    expect(() => store.localPath('.reelbus-meta/x.json')).toThrow(/reserved/);
  });

  it('moves a file from outside the root into place and copies one that is already a blob', async () => {
    const store = new FsBlobStore({ root: join(root, 'moves') });
    const src = join(root, 'render-out.mp4');
    await writeFile(src, 'rendered');
    await store.putFile('jobs/j2/final.mp4', src);
    expect(existsSync(src)).toBe(false);
    await store.putFile('jobs/j2/copy.mp4', store.localPath('jobs/j2/final.mp4'));
    expect(await readFile(store.localPath('jobs/j2/final.mp4'), 'utf8')).toBe('rendered');
    expect(await readFile(store.localPath('jobs/j2/copy.mp4'), 'utf8')).toBe('rendered');
  });

  it('keeps a content type given at put in a sidecar that list never shows', async () => {
    const store = new FsBlobStore({ root: join(root, 'meta') });
    await store.put('a/data.bin', 'x', { contentType: 'application/x-reelbus' });
    expect((await store.stat('a/data.bin'))?.contentType).toBe('application/x-reelbus');
    expect((await store.list('')).map((b) => b.key)).toEqual(['a/data.bin']);
    await store.put('a/data.bin', 'y');
    expect((await store.stat('a/data.bin'))?.contentType).toBeUndefined();
  });

  it('leaves no temp file behind when the source stream fails', async () => {
    const store = new FsBlobStore({ root: join(root, 'failing') });
    const { Readable } = await import('node:stream');
    const failing = new Readable({
      read() {
        this.push(Buffer.from('partial'));
        this.destroy(new Error('upstream reset'));
      },
    });
    await expect(store.put('x/broken.wav', failing)).rejects.toThrow(/upstream reset/);
    expect(await store.list('')).toEqual([]);
    expect(await store.stat('x/broken.wav')).toBeUndefined();
  });
});
