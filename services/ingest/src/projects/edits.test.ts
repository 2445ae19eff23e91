import { ProjectDocument, type ProjectDocumentInput } from '@reelbus/contracts';
import { describe, expect, it } from 'vitest';
import { applyEdit, patchScene, redoEdit, reorderScenes, sceneOrderIssues, undoEdit } from './edits.ts';

const doc = (): ProjectDocument =>
  ProjectDocument.parse({
    project: {
      title: 't',
      scenes: ['a', 'b', 'c'].map((id) => ({ id, narration: id, visual: { key: `${id}.png` } })),
    },
  } satisfies ProjectDocumentInput);
const at = '2026-12-02T14:00:00.000Z';

describe('scene order check', () => {
  it('accepts a permutation and names missing, unknown and repeated ids otherwise', () => {
    expect(sceneOrderIssues(['a', 'b', 'c'], ['c', 'a', 'b'])).toEqual([]);
    expect(sceneOrderIssues(['a', 'b', 'c'], ['a', 'a', 'q'])).toEqual([
      { field: 'sceneIds', message: 'misses "b", "c"' },
      { field: 'sceneIds', message: 'names unknown scenes "q" (not in the project)' },
      { field: 'sceneIds', message: 'repeats "a"' },
    ]);
  });
});

describe('undo history', () => {
  it('records each edit with its inverse; undo and redo restore exactly', () => {
    const d0 = doc();
    const d1 = applyEdit(d0, { label: 'n', recipe: patchScene('b', { narration: 'B!' }), at })!;
    const d2 = applyEdit(d1, { label: 'o', recipe: reorderScenes(['c', 'b', 'a']), at })!;
    expect(d2.history.undo.map((h) => h.label)).toEqual(['n', 'o']);
    const u1 = undoEdit(d2);
    expect(u1.doc.project).toEqual(d1.project);
    const u2 = undoEdit(u1.doc);
    expect(u2.doc.project).toEqual(d0.project);
    expect(redoEdit(redoEdit(u2.doc).doc).doc.project).toEqual(d2.project);
    // The history is plain JSON: it survives the store's round trip.
    expect(JSON.parse(JSON.stringify(d2))).toEqual(d2);
  });

  it('keeps only the newest `limit` steps and changes nothing (no step) for an edit that changes nothing', () => {
    let d = doc();
    for (let i = 0; i < 5; i++) {
      d = applyEdit(d, { label: `e${i}`, recipe: patchScene('a', { duration: i + 1 }), at, limit: 3 })!;
    }
    expect(d.history.undo.map((h) => h.label)).toEqual(['e2', 'e3', 'e4']);
    expect(applyEdit(d, { label: 'same', recipe: patchScene('a', { duration: 5 }), at })).toBeUndefined();
    let u = d;
    for (let i = 0; i < 3; i++) u = undoEdit(u, { limit: 3 }).doc;
    expect(u.project.scenes[0]!.duration).toBe(2); // back to after e1: older steps were dropped
    expect(() => undoEdit(u)).toThrow(/nothing to undo/);
  });

  it('refuses an edit of an unknown scene with a 404 naming it', () => {
    expect(() => applyEdit(doc(), { label: 'x', recipe: patchScene('zz', { narration: 'x' }), at })).toThrow(
      /no scene "zz"/,
    );
  });
});
