import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isPermanent } from '../errors.ts';
import { InvalidDocumentError, isInvalidListOptions, isRevisionConflict } from './errors.ts';
import {
  decideUpdate,
  DocumentCodec,
  encodeCursor,
  newestFirst,
  nextTimestamp,
  pageOf,
  parseListOptions,
} from './shared.ts';
import type { StoredDocument } from './types.ts';

const Doc = z.object({ title: z.string().min(1), items: z.array(z.object({ n: z.number() })).default([]) });
type Doc = z.output<typeof Doc>;
const codec = new DocumentCodec<Doc, z.input<typeof Doc>>('things', Doc, 1024);

const stored = (over: Partial<StoredDocument<Doc>> = {}): StoredDocument<Doc> => ({
  id: 'd1',
  doc: { title: 'a', items: [] },
  revision: 3,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:05.000Z',
  ...over,
});

describe('DocumentCodec', () => {
  it('fills defaults and gives back the JSON it will store', () => {
    expect(codec.encode('d1', { title: 'x' })).toEqual({
      doc: { title: 'x', items: [] },
      json: '{"title":"x","items":[]}',
    });
  });

  it('names every bad field of a document, and a bad id with them', () => {
    const err = (() => {
      try {
        codec.encodeNew('no way', { title: '', items: [{ n: 'one' }] } as never);
      } catch (e) {
        return e as InvalidDocumentError;
      }
    })();
    expect(err?.issues.map((i) => i.path)).toEqual(['id', 'title', 'items[0].n']);
    expect(err?.message).toMatch(/^things: document "no way" is invalid: id: must be 1-128 letters/);
    expect(isPermanent(err)).toBe(true);
  });

  it('measures size in bytes of UTF-8', () => {
    expect(() => codec.encode('d1', { title: 'é'.repeat(510) })).toThrow(
      /is 1\.0 KiB of JSON; this store takes at most 1\.0 KiB/,
    );
    expect(codec.encode('d1', { title: 'e'.repeat(510) }).doc.title).toHaveLength(510);
  });

  it('reports a stored document that no longer fits, naming the id, the place and the field', () => {
    expect(() => codec.decode('d9', { title: 7 }, 'KV bucket b')).toThrow(
      'things: stored document "d9" in KV bucket b does not fit the schema: title: Invalid input: expected string, received number',
    );
  });
});

describe('decideUpdate', () => {
  const now = new Date('2026-01-01T00:00:10.000Z');

  it('writes the next revision, keeping createdAt and moving updatedAt', () => {
    const d = decideUpdate({ current: stored(), mutate: (doc) => ({ ...doc, title: 'b' }), codec, now });
    expect(d).toEqual({
      action: 'write',
      json: '{"title":"b","items":[]}',
      next: { ...stored(), doc: { title: 'b', items: [] }, revision: 4, updatedAt: now.toISOString() },
    });
  });

  it('keeps the document when the mutation returns undefined or an equal document', () => {
    expect(decideUpdate({ current: stored(), mutate: () => undefined, codec, now })).toEqual({
      action: 'keep',
    });
    expect(decideUpdate({ current: stored(), mutate: (d) => d, codec, now })).toEqual({ action: 'keep' });
  });

  it('conflicts on a stale expected revision without running the mutation', () => {
    let ran = false;
    const d = decideUpdate({
      current: stored(),
      mutate: () => {
        ran = true;
        return undefined;
      },
      expectedRevision: 2,
      codec,
      now,
    });
    expect(d.action).toBe('conflict');
    const error = d.action === 'conflict' ? d.error : undefined;
    expect(isRevisionConflict(error)).toBe(true);
    expect(error).toMatchObject({ collection: 'things', id: 'd1', expectedRevision: 2, currentRevision: 3 });
    expect(ran).toBe(false);
  });

  it('gives the mutation a copy, so a change it then refuses leaves the current document as it was', () => {
    const current = stored();
    expect(() =>
      decideUpdate({
        current,
        mutate: (doc) => {
          doc.title = 'scribbled';
          throw new Error('refused');
        },
        codec,
        now,
      }),
    ).toThrow('refused');
    expect(current.doc.title).toBe('a');
  });
});

describe('nextTimestamp', () => {
  it('is now, or a millisecond after the previous one when the clock is behind', () => {
    expect(nextTimestamp('2026-01-01T00:00:00.000Z', new Date('2026-01-01T00:00:01.000Z'))).toBe(
      '2026-01-01T00:00:01.000Z',
    );
    expect(nextTimestamp('2026-01-01T00:00:05.000Z', new Date('2026-01-01T00:00:01.000Z'))).toBe(
      '2026-01-01T00:00:05.001Z',
    );
    expect(nextTimestamp('2026-01-01T00:00:05.000Z', new Date('2026-01-01T00:00:05.000Z'))).toBe(
      '2026-01-01T00:00:05.001Z',
    );
  });
});

describe('listing', () => {
  const at = (id: string, createdAt: string) => stored({ id, createdAt });
  const docs = [
    at('a', '2026-01-01T00:00:01.000Z'),
    at('c', '2026-01-01T00:00:02.000Z'),
    at('b', '2026-01-01T00:00:02.000Z'),
    at('d', '2026-01-01T00:00:03.000Z'),
  ];

  it('orders newest first, then by id descending', () => {
    expect([...docs].sort(newestFirst).map((d) => d.id)).toEqual(['d', 'c', 'b', 'a']);
  });

  it('pages after a cursor with a next cursor only when more follow', () => {
    const p1 = pageOf(docs, 2, undefined);
    expect(p1.items.map((d) => d.id)).toEqual(['d', 'c']);
    expect(p1.nextCursor).toBe(encodeCursor({ id: 'c', createdAt: '2026-01-01T00:00:02.000Z' }));
    const { after } = parseListOptions('things', { cursor: p1.nextCursor! });
    const p2 = pageOf(docs, 2, after);
    expect(p2.items.map((d) => d.id)).toEqual(['b', 'a']);
    expect(p2.nextCursor).toBeUndefined();
    expect(pageOf([], 2, undefined)).toEqual({ items: [] });
  });

  it('defaults the page to 100 and names a bad limit or cursor', () => {
    expect(parseListOptions('things', {})).toEqual({ limit: 100, after: undefined });
    for (const [opts, field] of [
      [{ limit: 0 }, 'limit'],
      [{ limit: 1001 }, 'limit'],
      [{ limit: Number.NaN }, 'limit'],
      [{ cursor: 'abc' }, 'cursor'],
      [{ cursor: Buffer.from('["yesterday","a"]').toString('base64url') }, 'cursor'],
      [{ cursor: Buffer.from('["2026-01-01T00:00:02.000Z","../x"]').toString('base64url') }, 'cursor'],
    ] as const) {
      let err: unknown;
      try {
        parseListOptions('things', opts);
      } catch (e) {
        err = e;
      }
      expect(isInvalidListOptions(err), JSON.stringify(opts)).toBe(true);
      expect(err).toMatchObject({ field });
      expect((err as Error).message).toMatch(new RegExp(`^things: list ${field} `));
    }
  });
});
