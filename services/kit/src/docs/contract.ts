/**
 * The DocumentStore contract: the KV store and the MongoDB store both run this same suite.
 * Test-only (imports vitest); not exported from the docs barrel.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isPermanent } from '../errors.ts';
import {
  isDocumentExists,
  isDocumentNotFound,
  isInvalidDocument,
  isInvalidListOptions,
  isRevisionConflict,
  type InvalidDocumentError,
  type RevisionConflictError,
} from './errors.ts';
import type { DocumentStore, DocumentStoreOptions, StoredDocument } from './types.ts';

/** Opens a store on the backend under test. Two calls with one collection are two processes sharing it. */
export type OpenDocumentStore = <S extends z.ZodType>(
  opts: DocumentStoreOptions<S>,
) => Promise<DocumentStore<z.output<S>, z.input<S>>>;

// A reel-like document: sections holding takes that reviewers approve.
const Take = z.object({
  id: z.string(),
  status: z.enum(['pending', 'ready', 'approved', 'rejected']),
  approvedBy: z.string().optional(),
});
const Section = z.object({ id: z.string(), title: z.string().min(1), takes: z.array(Take).default([]) });
const Reel = z.object({
  title: z.string().min(1),
  sections: z.array(Section),
  notes: z.array(z.string()).default([]),
});
type Reel = z.output<typeof Reel>;

const reel = (title = 'My reel'): z.input<typeof Reel> => ({
  title,
  sections: [
    {
      id: 's1',
      title: 'Intro',
      takes: [
        { id: 't1', status: 'ready' },
        { id: 't2', status: 'ready' },
      ],
    },
    { id: 's2', title: 'Outro' },
  ],
});

/** A reviewer's approval, refused when the section has an approved take already (as issue 12 asks). */
class AlreadyApprovedError extends Error {
  override name = 'AlreadyApprovedError';
}
const approve =
  (sectionId: string, takeId: string, by: string) =>
  (doc: Reel): Reel => {
    const section = doc.sections.find((s) => s.id === sectionId)!;
    if (section.takes.some((t) => t.status === 'approved'))
      throw new AlreadyApprovedError(`section ${sectionId} has an approved take already`);
    const take = section.takes.find((t) => t.id === takeId)!;
    take.status = 'approved';
    take.approvedBy = by;
    return doc;
  };

const docId = (tag = 'd') => `${tag}_${randomBytes(6).toString('hex')}`;
const collectionName = () => `c${randomBytes(5).toString('hex')}`;

/** Settles both promises; returns the one that resolved and the reason of the one that rejected. */
async function oneWins<T>(a: Promise<T>, b: Promise<T>): Promise<{ won: T; lost: unknown; winner: 0 | 1 }> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  const fulfilled = [ra, rb].filter((r) => r.status === 'fulfilled');
  expect(fulfilled, 'exactly one of the two writers wins').toHaveLength(1);
  return ra.status === 'fulfilled' && rb.status === 'rejected'
    ? { won: ra.value, lost: rb.reason, winner: 0 }
    : { won: (rb as PromiseFulfilledResult<T>).value, lost: (ra as PromiseRejectedResult).reason, winner: 1 };
}

/** A clock that moves only when told to, so list order is exact. */
function manualClock(start = Date.parse('2026-03-01T10:00:00.000Z')) {
  let t = start;
  return { now: () => new Date(t), set: (ms: number) => void (t = start + ms) };
}

/** `open` is called for every store a test needs; each test uses fresh collections. */
export function documentStoreContract(name: string, open: OpenDocumentStore): void {
  describe(`DocumentStore contract: ${name}`, () => {
    const stores: Array<DocumentStore<unknown, unknown>> = [];
    const openStore: OpenDocumentStore = async (opts) => {
      const store = await open(opts);
      stores.push(store as DocumentStore<unknown, unknown>);
      return store;
    };
    afterEach(async () => {
      await Promise.all(stores.splice(0).map((s) => s.close()));
    });
    const reels = (collection = collectionName()) => openStore({ collection, schema: Reel });

    it('creates a document at revision 1 and gets back exactly it, defaults filled', async () => {
      const store = await reels();
      const id = docId();
      const created = await store.create(id, reel());
      expect(created).toMatchObject({ id, revision: 1, doc: { ...reel(), notes: [] } });
      expect(created.doc.sections[1]!.takes).toEqual([]);
      expect(created.updatedAt).toBe(created.createdAt);
      expect(Number.isNaN(Date.parse(created.createdAt))).toBe(false);
      expect(await store.get(id)).toEqual(created);
    });

    it('answers undefined for an absent id and for an id that could never exist', async () => {
      const store = await reels();
      expect(await store.get(docId('absent'))).toBeUndefined();
      expect(await store.get('../etc.passwd')).toBeUndefined();
      expect(await store.get('')).toBeUndefined();
    });

    it('refuses to create an id that exists, and of two concurrent creates exactly one wins', async () => {
      const collection = collectionName();
      const [a, b] = [await reels(collection), await reels(collection)];
      const id = docId();
      const first = await a.create(id, reel('first'));
      const again = await b.create(id, reel('second')).catch((e: unknown) => e);
      expect(isDocumentExists(again)).toBe(true);
      expect((again as Error).message).toContain(id);
      expect(isPermanent(again)).toBe(true);
      expect(await a.get(id)).toEqual(first);

      const raced = docId('race');
      const { won, lost, winner } = await oneWins(a.create(raced, reel('a')), b.create(raced, reel('b')));
      expect(isDocumentExists(lost)).toBe(true);
      expect(won.doc.title).toBe(winner === 0 ? 'a' : 'b');
      expect(await b.get(raced)).toEqual(won);
    });

    it('adds one to the revision on every change and returns it; updatedAt grows, createdAt stays', async () => {
      const store = await reels();
      const id = docId();
      const created = await store.create(id, reel());
      const seen: number[] = [];
      let prev: StoredDocument<Reel> = created;
      for (const note of ['a', 'b', 'c']) {
        const next = await store.update(id, (doc, meta) => {
          seen.push(meta.revision);
          return { ...doc, notes: [...doc.notes, note] };
        });
        expect(next.revision).toBe(prev.revision + 1);
        expect(Date.parse(next.updatedAt)).toBeGreaterThan(Date.parse(prev.updatedAt));
        expect(next.createdAt).toBe(created.createdAt);
        expect(await store.get(id)).toEqual(next);
        prev = next;
      }
      expect(seen).toEqual([1, 2, 3]);
      expect(prev).toMatchObject({ revision: 4, doc: { notes: ['a', 'b', 'c'] } });
    });

    it('writes nothing when the mutation returns undefined or an equal document', async () => {
      const store = await reels();
      const id = docId();
      const created = await store.create(id, reel());
      const kept = await store.update(id, (doc) => {
        doc.title = 'changed on the copy only';
        return undefined;
      });
      expect(kept).toEqual(created);
      expect(await store.update(id, (doc) => structuredClone(doc))).toEqual(created);
      // With an expected revision too: the precondition holds, and still nothing is written.
      expect(await store.update(id, () => undefined, { expectedRevision: 1 })).toEqual(created);
      expect(await store.get(id)).toEqual(created);
      // The next real change is revision 2: nothing above took a revision.
      expect((await store.update(id, (d) => ({ ...d, title: 'new' }))).revision).toBe(2);
    });

    it('lands all of 20 concurrent updates from two processes, each a revision of its own', async () => {
      const collection = collectionName();
      const [a, b] = [await reels(collection), await reels(collection)];
      const id = docId();
      await a.create(id, reel());
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? a : b).update(id, (doc) => ({ ...doc, notes: [...doc.notes, `n${i}`] })),
        ),
      );
      expect(new Set(results.map((r) => r.revision))).toEqual(
        new Set(Array.from({ length: 20 }, (_, i) => i + 2)),
      );
      const final = await a.get(id);
      expect(final?.revision).toBe(21);
      expect(new Set(final?.doc.notes)).toEqual(new Set(Array.from({ length: 20 }, (_, i) => `n${i}`)));
      expect(final?.doc.notes).toHaveLength(20);
    });

    it("lets one of two writers with the same expectedRevision win; the other gets the winner's revision", async () => {
      const collection = collectionName();
      const [a, b] = [await reels(collection), await reels(collection)];
      const id = docId();
      await a.create(id, reel());
      for (let round = 1; round <= 8; round++) {
        const { won, lost, winner } = await oneWins(
          a.update(id, (d) => ({ ...d, title: `a${round}` }), { expectedRevision: round }),
          b.update(id, (d) => ({ ...d, title: `b${round}` }), { expectedRevision: round }),
        );
        expect(isRevisionConflict(lost), String(lost)).toBe(true);
        const conflict = lost as RevisionConflictError;
        expect(conflict.expectedRevision).toBe(round);
        expect(conflict.currentRevision).toBe(won.revision);
        expect(conflict.message).toContain(`revision ${won.revision}, not ${round}`);
        expect(won).toMatchObject({
          revision: round + 1,
          doc: { title: `${winner === 0 ? 'a' : 'b'}${round}` },
        });
        expect(await b.get(id)).toEqual(won);
      }
    });

    it('refuses a stale expectedRevision without running the mutation or writing anything', async () => {
      const store = await reels();
      const id = docId();
      await store.create(id, reel());
      const current = await store.update(id, (d) => ({ ...d, title: 'tab 1' }));
      let ran = false;
      const err = await store
        .update(
          id,
          (d) => {
            ran = true;
            return { ...d, title: 'tab 2' };
          },
          { expectedRevision: 1 },
        )
        .catch((e: unknown) => e);
      expect(isRevisionConflict(err)).toBe(true);
      expect(err).toMatchObject({ expectedRevision: 1, currentRevision: 2, id });
      expect(isPermanent(err)).toBe(true);
      expect(ran).toBe(false);
      expect(await store.get(id)).toEqual(current);
      await expect(store.update(id, (d) => d, { expectedRevision: 0 })).rejects.toThrow(
        /expectedRevision: must be a whole number ≥ 1/,
      );
    });

    it('two reviewers approving different takes of one section at once: one wins, the other sees it and refuses', async () => {
      const collection = collectionName();
      const [a, b] = [await reels(collection), await reels(collection)];
      for (let round = 0; round < 5; round++) {
        const id = docId();
        await a.create(id, reel());
        const { won, lost, winner } = await oneWins(
          a.update(id, approve('s1', 't1', 'ann')),
          b.update(id, approve('s1', 't2', 'bob')),
        );
        expect(lost).toBeInstanceOf(AlreadyApprovedError);
        const approved = won.doc.sections[0]!.takes.filter((t) => t.status === 'approved');
        expect(approved).toEqual([
          winner === 0
            ? { id: 't1', status: 'approved', approvedBy: 'ann' }
            : { id: 't2', status: 'approved', approvedBy: 'bob' },
        ]);
        expect(won.revision).toBe(2);
        expect(await a.get(id)).toEqual(won);
      }
    });

    it('throws DocumentNotFoundError naming the id when updating a document that does not exist', async () => {
      const store = await reels();
      const id = docId('missing');
      for (const opts of [{}, { expectedRevision: 1 }]) {
        const err = await store.update(id, (d) => d, opts).catch((e: unknown) => e);
        expect(isDocumentNotFound(err)).toBe(true);
        expect(isPermanent(err)).toBe(true);
        expect((err as Error).message).toContain(id);
        expect((err as Error).message).toContain(store.collection);
      }
      expect(isDocumentNotFound(await store.update('no/such id', (d) => d).catch((e: unknown) => e))).toBe(
        true,
      );
    });

    it('refuses an invalid document naming every bad field, and writes nothing', async () => {
      const store = await reels();
      const id = docId();
      const bad = {
        sections: [
          { id: 's1', title: 'ok' },
          { id: 's2', title: '' },
        ],
      };
      const err = (await store.create(id, bad as never).catch((e: unknown) => e)) as InvalidDocumentError;
      expect(isInvalidDocument(err)).toBe(true);
      expect(isPermanent(err)).toBe(true);
      expect(err.issues.map((i) => i.path).sort()).toEqual(['sections[1].title', 'title']);
      expect(err.message).toContain('sections[1].title');
      expect(await store.get(id)).toBeUndefined();
      expect((await store.list()).items).toEqual([]);

      const withBadId = (await store
        .create('bad id!', bad as never)
        .catch((e: unknown) => e)) as InvalidDocumentError;
      expect(withBadId.issues.map((i) => i.path).sort()).toEqual(['id', 'sections[1].title', 'title']);

      const created = await store.create(id, reel());
      const refused = (await store
        .update(id, (d) => {
          d.sections[0]!.takes[1]!.status = 'lost' as never;
          return d;
        })
        .catch((e: unknown) => e)) as InvalidDocumentError;
      expect(isInvalidDocument(refused)).toBe(true);
      expect(refused.issues.map((i) => i.path)).toEqual(['sections[0].takes[1].status']);
      expect(await store.get(id)).toEqual(created);
    });

    it('refuses a document that does not survive JSON, and one larger than maxBytes, naming the size', async () => {
      const dated = await openStore({ collection: collectionName(), schema: z.object({ at: z.date() }) });
      const err = (await dated
        .create(docId(), { at: new Date() })
        .catch((e: unknown) => e)) as InvalidDocumentError;
      expect(isInvalidDocument(err)).toBe(true);
      expect(err.issues[0]?.path).toBe('at');
      expect(err.message).toContain('after a JSON round trip');

      const small = await openStore({ collection: collectionName(), schema: Reel, maxBytes: 2048 });
      const id = docId();
      const big = { ...reel(), notes: [`${'x'.repeat(3000)}`] };
      const tooBig = await small.create(id, big).catch((e: unknown) => e);
      expect(isInvalidDocument(tooBig)).toBe(true);
      expect((tooBig as Error).message).toMatch(/is 3\.\d KiB of JSON; this store takes at most 2\.0 KiB/);
      expect(await small.get(id)).toBeUndefined();
      await small.create(id, reel());
      const grown = await small
        .update(id, (d) => ({ ...d, notes: ['y'.repeat(3000)] }))
        .catch((e: unknown) => e);
      expect(isInvalidDocument(grown)).toBe(true);
      expect((await small.get(id))?.revision).toBe(1);
    });

    it('lists newest first, page by page, without gaps or repeats, even while documents are added', async () => {
      const clock = manualClock();
      const collection = collectionName();
      const store = await openStore({ collection, schema: Reel, clock: clock.now });
      // Seven documents; two created in the same millisecond (ordered by id, descending).
      const times = [0, 1000, 2000, 2000, 3000, 4000, 5000];
      const ids = times.map((_, i) => `doc_${i}`);
      for (const [i, t] of times.entries()) {
        clock.set(t);
        await store.create(ids[i]!, reel(`r${i}`));
      }
      const newestFirst = ['doc_6', 'doc_5', 'doc_4', 'doc_3', 'doc_2', 'doc_1', 'doc_0'];
      expect((await store.list()).items.map((d) => d.id)).toEqual(newestFirst);
      expect((await store.list()).nextCursor).toBeUndefined();

      const page1 = await store.list({ limit: 3 });
      expect(page1.items.map((d) => d.id)).toEqual(newestFirst.slice(0, 3));
      expect(page1.items[0]).toEqual(await store.get('doc_6'));
      // A document created between two pages is newer than the cursor: the next pages are unchanged.
      clock.set(9000);
      await store.create('doc_new', reel('new'));
      const page2 = await store.list({ limit: 3, cursor: page1.nextCursor! });
      expect(page2.items.map((d) => d.id)).toEqual(newestFirst.slice(3, 6));
      const page3 = await store.list({ limit: 3, cursor: page2.nextCursor! });
      expect(page3.items.map((d) => d.id)).toEqual(['doc_0']);
      expect(page3.nextCursor).toBeUndefined();
      // Updating a document does not move it: the order is by creation.
      await store.update('doc_0', (d) => ({ ...d, title: 'edited' }));
      expect((await store.list({ limit: 1 })).items.map((d) => d.id)).toEqual(['doc_new']);

      for (const limit of [0, 1001, 1.5]) {
        const err = await store.list({ limit }).catch((e: unknown) => e);
        expect(isInvalidListOptions(err)).toBe(true);
        expect(err).toMatchObject({ field: 'limit' });
      }
      const bad = await store.list({ cursor: 'not-a-cursor' }).catch((e: unknown) => e);
      expect(isInvalidListOptions(bad)).toBe(true);
      expect(bad).toMatchObject({ field: 'cursor' });
      expect((bad as Error).message).toContain('"not-a-cursor"');
    });

    it('deletes: gone from get and list, a second delete answers false, and the id can be used again', async () => {
      const store = await reels();
      const id = docId();
      const other = docId();
      await store.create(id, reel());
      await store.create(other, reel());
      expect(await store.delete(id)).toBe(true);
      expect(await store.get(id)).toBeUndefined();
      expect((await store.list()).items.map((d) => d.id)).toEqual([other]);
      expect(await store.delete(id)).toBe(false);
      expect(await store.delete('never such an id')).toBe(false);
      expect(isDocumentNotFound(await store.update(id, (d) => d).catch((e: unknown) => e))).toBe(true);
      expect((await store.create(id, reel('again'))).revision).toBe(1);
    });

    it('deletes by compare-and-set: a stale expectedRevision keeps the document; of two deletes one removes it', async () => {
      const collection = collectionName();
      const [a, b] = [await reels(collection), await reels(collection)];
      const id = docId();
      await a.create(id, reel());
      const current = await a.update(id, (d) => ({ ...d, title: 'edited' }));
      const stale = await b.delete(id, { expectedRevision: 1 }).catch((e: unknown) => e);
      expect(isRevisionConflict(stale)).toBe(true);
      expect(stale).toMatchObject({ currentRevision: 2, expectedRevision: 1 });
      expect(await a.get(id)).toEqual(current);
      expect(await b.delete(id, { expectedRevision: 2 })).toBe(true);
      expect(isDocumentNotFound(await a.delete(id, { expectedRevision: 2 }).catch((e: unknown) => e))).toBe(
        true,
      );

      const raced = docId();
      await a.create(raced, reel());
      const results = await Promise.all([a.delete(raced), b.delete(raced)]);
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await a.get(raced)).toBeUndefined();
    });

    it('reads documents written under an older schema with the new defaults, and names one that no longer fits', async () => {
      const collection = collectionName();
      const v1 = await openStore({ collection, schema: z.object({ title: z.string() }) });
      const v2 = await openStore({
        collection,
        schema: z.object({ title: z.string(), tags: z.array(z.string()).default([]) }),
      });
      const strict = await openStore({ collection, schema: z.object({ title: z.string().max(3) }) });
      const id = docId();
      await v1.create(id, { title: 'a long title' });
      expect((await v2.get(id))?.doc).toEqual({ title: 'a long title', tags: [] });
      const err = await strict.get(id).catch((e: unknown) => e);
      expect(isPermanent(err)).toBe(true);
      expect((err as Error).message).toContain(`stored document "${id}"`);
      expect((err as Error).message).toContain('title:');
      // The older writer and the newer one share the document: v2's update keeps the revision line.
      const updated = await v2.update(id, (d) => ({ ...d, tags: ['x'] }));
      expect(updated.revision).toBe(2);
      expect((await v1.get(id))?.revision).toBe(2);
    });
  });
}
