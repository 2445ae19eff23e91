/**
 * The BlobStore contract: every store (fs, S3 on s3rver, a real S3) runs this same suite.
 * Test-only (imports vitest); not exported from the blob barrel.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPermanent } from '../errors.ts';
import { withLocalFile } from './create.ts';
import { isBlobNotFound } from './errors.ts';
import type { BlobStore } from './types.ts';

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export function blobStoreContract(name: string, makeStore: () => Promise<BlobStore>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let store: BlobStore;
    let work: string;
    // Every test writes under its own random prefix so a shared bucket is never polluted across runs.
    const base = `contract-${randomBytes(4).toString('hex')}`;
    let n = 0;
    const prefix = () => `${base}/t${++n}`;

    beforeAll(async () => {
      store = await makeStore();
      work = await mkdtemp(join(tmpdir(), 'reelbus-blob-contract-'));
    });

    afterAll(async () => {
      if (store) {
        for (const b of await store.list(`${base}/`)) await store.delete(b.key);
        for (const b of await store.list(`jobs/${base}-`)) await store.delete(b.key);
        await store.close?.();
      }
      if (work) await rm(work, { recursive: true, force: true });
    });

    it('round-trips a stream, bytes and a string', async () => {
      const p = prefix();
      const chunks = [randomBytes(70_000), randomBytes(3), randomBytes(100_000)];
      const info = await store.put(`${p}/stream.bin`, Readable.from(chunks));
      expect(info.size).toBe(170_003);
      expect(sha(await readAll(await store.get(`${p}/stream.bin`)))).toBe(sha(Buffer.concat(chunks)));

      const bytes = new Uint8Array(randomBytes(1234));
      expect((await store.put(`${p}/bytes.bin`, bytes)).size).toBe(1234);
      expect(sha(await readAll(await store.get(`${p}/bytes.bin`)))).toBe(sha(bytes));

      await store.put(`${p}/text.json`, '{"hello":"wörld"}');
      expect((await readAll(await store.get(`${p}/text.json`))).toString('utf8')).toBe('{"hello":"wörld"}');
    });

    it('stores a 5 MB file with putFile and downloads it back intact', async () => {
      const p = prefix();
      const data = randomBytes(5 * 1024 * 1024);
      const src = join(work, 'five-mb.bin');
      await writeFile(src, data);
      const info = await store.putFile(`${p}/five-mb.bin`, src);
      expect(info.size).toBe(data.length);
      expect((await store.stat(`${p}/five-mb.bin`))?.size).toBe(data.length);
      const back = join(work, 'five-mb.back.bin');
      await store.download(`${p}/five-mb.bin`, back);
      expect(sha(await readFile(back))).toBe(sha(data));
    });

    it('streams a big upload of unknown length (multipart on S3), tagged with its retention class', async () => {
      const key = `jobs/${base}-big/chunks/big.bin`;
      const parts = Array.from({ length: 12 }, () => randomBytes(1024 * 1024));
      const info = await store.put(key, Readable.from(parts), { retention: 'output' });
      expect(info.size).toBe(12 * 1024 * 1024);
      expect(sha(await readAll(await store.get(key)))).toBe(sha(Buffer.concat(parts)));
      // chunks/ is an intermediate by name; the writer said output, and that is what was stored
      expect(await store.retentionOf(key)).toBe('output');
    });

    it("keeps each blob's retention class: the writer's, else its name's; none outside jobs/", async () => {
      const j = `jobs/${base}-retention`;
      const src = join(work, 'chunk.mp4');
      await writeFile(src, randomBytes(50));
      await store.put(`${j}/split/caller.wav`, 'RIFF....');
      await store.put(`${j}/final.mp4`, randomBytes(10));
      await store.put(`${j}/hls/720p/seg-001.ts`, randomBytes(10));
      await store.put(`${j}/clips/caller.mp4`, randomBytes(10), { retention: 'output' });
      await store.put(`${j}/generate/caller-face.png`, Readable.from([randomBytes(100)]), {
        retention: 'intermediate',
      });
      await store.putFile(`${j}/encode/out.mp4`, src, { retention: 'output', contentType: 'video/mp4' });
      const p = prefix();
      await store.put(`${p}/music.mp3`, randomBytes(10));

      expect(await store.retentionOf(`${j}/split/caller.wav`)).toBe('intermediate');
      expect(await store.retentionOf(`${j}/final.mp4`)).toBe('output');
      expect(await store.retentionOf(`${j}/hls/720p/seg-001.ts`)).toBe('output');
      expect(await store.retentionOf(`${j}/clips/caller.mp4`)).toBe('output');
      expect(await store.retentionOf(`${j}/generate/caller-face.png`)).toBe('intermediate');
      expect(await store.retentionOf(`${j}/encode/out.mp4`)).toBe('output');
      expect((await store.stat(`${j}/encode/out.mp4`))?.contentType).toBe('video/mp4');
      expect(await store.retentionOf(`${p}/music.mp3`)).toBeUndefined();
      expect(await store.retentionOf(`${j}/nothing-here.wav`)).toBeUndefined();
      // a rewrite states the class again
      await store.put(`${j}/clips/caller.mp4`, randomBytes(10));
      expect(await store.retentionOf(`${j}/clips/caller.mp4`)).toBe('intermediate');
    });

    it('reads byte ranges: the first bytes, the middle and to the end', async () => {
      const p = prefix();
      const data = randomBytes(10_000);
      await store.put(`${p}/ranged.bin`, data);
      const read = async (range: { start: number; end?: number }) =>
        readAll(await store.get(`${p}/ranged.bin`, { range }));
      expect((await read({ start: 0, end: 9 })).toString('hex')).toBe(data.subarray(0, 10).toString('hex'));
      expect((await read({ start: 4000, end: 4999 })).toString('hex')).toBe(
        data.subarray(4000, 5000).toString('hex'),
      );
      expect((await read({ start: 9950 })).toString('hex')).toBe(data.subarray(9950).toString('hex'));
    });

    it('stats size and type, and answers undefined for an absent key', async () => {
      const p = prefix();
      await store.put(`${p}/clip.mp4`, randomBytes(321));
      const info = await store.stat(`${p}/clip.mp4`);
      expect(info).toMatchObject({ key: `${p}/clip.mp4`, size: 321, contentType: 'video/mp4' });
      await store.put(`${p}/notes`, 'x', { contentType: 'text/plain' });
      expect((await store.stat(`${p}/notes`))?.contentType).toMatch(/^text\/plain/);
      expect(await store.stat(`${p}/absent.mp4`)).toBeUndefined();
    });

    it('lists every blob under a prefix, recursively', async () => {
      const p = prefix();
      for (const k of ['a/1.wav', 'a/2.wav', 'a/sub/3.wav', 'ab/4.wav', 'b/5.wav'])
        await store.put(`${p}/${k}`, k);
      const keys = async (pre: string) => (await store.list(pre)).map((b) => b.key).sort();
      expect(await keys(`${p}/a/`)).toEqual([`${p}/a/1.wav`, `${p}/a/2.wav`, `${p}/a/sub/3.wav`]);
      expect(await keys(`${p}/a`)).toEqual([
        `${p}/a/1.wav`,
        `${p}/a/2.wav`,
        `${p}/a/sub/3.wav`,
        `${p}/ab/4.wav`,
      ]);
      expect((await store.list(`${p}/a/sub/`))[0]).toMatchObject({ key: `${p}/a/sub/3.wav`, size: 11 });
      expect(await keys(`${p}/nothing/`)).toEqual([]);
    });

    it('deletes a blob, and deleting it again is no error', async () => {
      const p = prefix();
      await store.put(`${p}/gone.txt`, 'bye');
      await store.delete(`${p}/gone.txt`);
      expect(await store.stat(`${p}/gone.txt`)).toBeUndefined();
      await expect(store.delete(`${p}/gone.txt`)).resolves.toBeUndefined();
      expect(await store.list(`${p}/`)).toEqual([]);
    });

    it('overwrites the blob at the same key', async () => {
      const p = prefix();
      await store.put(`${p}/final.mp4`, 'first version, longer than the second');
      await store.put(`${p}/final.mp4`, 'second');
      expect((await readAll(await store.get(`${p}/final.mp4`))).toString()).toBe('second');
      expect((await store.stat(`${p}/final.mp4`))?.size).toBe(6);
    });

    it('throws BlobNotFoundError for a missing key on get and download', async () => {
      const p = prefix();
      const err = await store.get(`${p}/missing.wav`).catch((e: unknown) => e);
      expect(isBlobNotFound(err)).toBe(true);
      expect(isPermanent(err)).toBe(true);
      expect((err as Error).message).toContain(`${p}/missing.wav`);
      expect(
        isBlobNotFound(
          await store.download(`${p}/missing.wav`, join(work, 'x.wav')).catch((e: unknown) => e),
        ),
      ).toBe(true);
    });

    it('refuses keys that try to escape the root, naming the key', async () => {
      for (const bad of ['../outside.txt', `${base}/../../etc/passwd`, '/etc/passwd', 'a\\..\\b', '']) {
        const err = await store.put(bad, 'x').catch((e: unknown) => e);
        expect(isPermanent(err), `key ${JSON.stringify(bad)}`).toBe(true);
        expect((err as Error).message).toContain(`"${bad}"`);
      }
    });

    it('presigns a URL that plain fetch can read (S3), or answers undefined (fs)', async () => {
      const p = prefix();
      const data = randomBytes(2048);
      await store.put(`${p}/shared.mp4`, data);
      const url = await store.presign(`${p}/shared.mp4`, { expiresInSec: 120 });
      if (store.kind === 'fs') {
        expect(url).toBeUndefined();
        return;
      }
      expect(url).toMatch(/^https?:\/\//);
      const res = await fetch(url!);
      expect(res.status).toBe(200);
      expect(sha(Buffer.from(await res.arrayBuffer()))).toBe(sha(data));
    });

    it('withLocalFile gives a readable local file (the blob itself on fs, a temp copy on S3)', async () => {
      const p = prefix();
      await store.put(`${p}/in.wav`, 'RIFF....');
      const tmp = join(work, 'wlf-ok');
      const seen = await withLocalFile({ blobs: store, key: `${p}/in.wav`, tmpDir: tmp }, async (path) => {
        expect(await readFile(path, 'utf8')).toBe('RIFF....');
        expect(path.endsWith('in.wav')).toBe(true);
        return path;
      });
      if (store.kind === 'fs') {
        expect(seen).toBe(store.localPath(`${p}/in.wav`));
        expect(existsSync(seen)).toBe(true);
      } else {
        expect(existsSync(seen)).toBe(false);
        expect(await readdir(tmp)).toEqual([]);
      }
    });

    it('withLocalFile removes its temp file even when fn throws', async () => {
      const p = prefix();
      await store.put(`${p}/in.wav`, 'RIFF....');
      const tmp = join(work, 'wlf-throw');
      let seen = '';
      const err = await withLocalFile({ blobs: store, key: `${p}/in.wav`, tmpDir: tmp }, async (path) => {
        seen = path;
        throw new Error('ffmpeg exploded');
      }).catch((e: unknown) => e);
      expect((err as Error).message).toBe('ffmpeg exploded');
      expect(seen).not.toBe('');
      if (store.kind === 'fs') {
        expect(existsSync(seen)).toBe(true); // the blob itself, never removed
      } else {
        expect(existsSync(seen)).toBe(false);
        expect(await readdir(tmp)).toEqual([]);
      }
      expect(
        isBlobNotFound(
          await withLocalFile({ blobs: store, key: `${p}/nope.wav`, tmpDir: tmp }, () => 1).catch(
            (e: unknown) => e,
          ),
        ),
      ).toBe(true);
    });
  });
}
