import {
  Music,
  Overlay,
  PROJECT_HISTORY_LIMIT,
  type HistoryEntry,
  type Project,
  type ProjectDocument,
  type ProjectMedia,
  type Scene,
} from '@reelbus/contracts';
import { Immer, enablePatches, type Patch } from 'immer';
import { HttpError, invalidInput, type FieldIssue } from '../errors.ts';

/*
 * The edits of a scene project as pure decisions on its stored document: each is an immer recipe on the
 * project, recorded with its JSON patches and their inverses in the bounded undo history. Undo applies
 * the inverse and moves the step to the redo list; redo applies it again; a new edit drops the redo list.
 * A recipe that throws refuses the whole edit (nothing is written: the store's compare-and-set never
 * runs), so nothing is half-applied.
 */

enablePatches();
// No auto-freeze: the document store hands mutations a copy and may serialise the result.
const immer = new Immer({ autoFreeze: false });

/** Changes the project draft in place, or throws (HttpError) to refuse the edit. */
export type Recipe = (draft: Project) => void;

/** `PROJECT_HISTORY_LIMIT` as a default, smaller in tests. */
export interface HistoryOptions {
  limit?: number;
  at: string;
}

/**
 * Applies `recipe` to the document's project: the new document with the step on the undo list and
 * the redo list dropped, or undefined when the recipe changed nothing (no new revision).
 */
export function applyEdit(
  doc: ProjectDocument,
  edit: { label: string; recipe: Recipe } & HistoryOptions,
): ProjectDocument | undefined {
  const { label, recipe, at, limit = PROJECT_HISTORY_LIMIT } = edit;
  const [project, patches, inverse] = immer.produceWithPatches(doc.project, recipe);
  if (patches.length === 0) return undefined;
  const step: HistoryEntry = { label, at, patches: plain(patches), inverse: plain(inverse) };
  return { project, history: { undo: [...doc.history.undo, step].slice(-limit), redo: [] } };
}

/** What undo and redo did. */
export interface HistoryMove {
  doc: ProjectDocument;
  /** The label of the step undone or redone. */
  label: string;
}

/** Undoes the newest step: its inverse applied, the step moved to the redo list. 409 when there is none. */
export function undoEdit(doc: ProjectDocument, opts: { limit?: number } = {}): HistoryMove {
  const { limit = PROJECT_HISTORY_LIMIT } = opts;
  const step = doc.history.undo.at(-1);
  if (!step) throw nothingTo('undo');
  const project = immer.applyPatches(doc.project, step.inverse as Patch[]);
  return {
    doc: {
      project,
      history: { undo: doc.history.undo.slice(0, -1), redo: [...doc.history.redo, step].slice(-limit) },
    },
    label: step.label,
  };
}

/** Redoes the step undone last. 409 when there is none (nothing undone, or a new edit since). */
export function redoEdit(doc: ProjectDocument, opts: { limit?: number } = {}): HistoryMove {
  const { limit = PROJECT_HISTORY_LIMIT } = opts;
  const step = doc.history.redo.at(-1);
  if (!step) throw nothingTo('redo');
  const project = immer.applyPatches(doc.project, step.patches as Patch[]);
  return {
    doc: {
      project,
      history: { undo: [...doc.history.undo, step].slice(-limit), redo: doc.history.redo.slice(0, -1) },
    },
    label: step.label,
  };
}

const nothingTo = (what: 'undo' | 'redo') =>
  new HttpError({
    statusCode: 409,
    code: `nothing_to_${what}`,
    message:
      what === 'undo'
        ? `nothing to undo: the project's history is empty (it keeps the last ${PROJECT_HISTORY_LIMIT} changes)`
        : 'nothing to redo: no change was undone since the last edit',
  });

/** Patches as plain JSON (immer's are already; this drops `undefined` values JSON cannot hold). */
const plain = (patches: Patch[]): HistoryEntry['patches'] =>
  patches.map((p) => ({ op: p.op, path: [...p.path], ...(p.value !== undefined ? { value: p.value } : {}) }));

/** A 404 naming the scene ids the project does not have. */
export function sceneNotFound(ids: string[], project: Project): HttpError {
  const names = ids.map((i) => `"${i}"`).join(', ');
  return new HttpError({
    statusCode: 404,
    code: 'scene_not_found',
    message: `the project has no scene ${names} (its scenes: ${project.scenes.map((s) => s.id).join(', ')})`,
    field: 'sceneId',
  });
}

function sceneIndex(draft: Project, sceneId: string): number {
  const i = draft.scenes.findIndex((s) => s.id === sceneId);
  if (i < 0) throw sceneNotFound([sceneId], draft);
  return i;
}

// ---------------------------------------------------------------- the edits

/** What `PATCH /v1/projects/:id` may change (undefined = leave, null = remove). */
export interface ProjectChanges {
  title?: string | undefined;
  voice?: Project['voice'] | undefined;
  brand?: Project['brand'] | null | undefined;
  output?: Project['output'] | undefined;
}

export const patchProject =
  (changes: ProjectChanges): Recipe =>
  (draft) => {
    if (changes.title !== undefined) draft.title = changes.title;
    if (changes.voice !== undefined) draft.voice = changes.voice;
    if (changes.output !== undefined) draft.output = changes.output;
    if (changes.brand === null) delete draft.brand;
    else if (changes.brand !== undefined) draft.brand = changes.brand;
  };

/** The overlay fields a scene PATCH may give (merged into the scene's overlay). */
export interface OverlayChanges {
  image?: ProjectMedia | undefined;
  enabled?: boolean | undefined;
  position?:
    { x?: Overlay['position']['x'] | undefined; y?: Overlay['position']['y'] | undefined } | undefined;
  scale?: number | undefined;
  animation?: Overlay['animation'] | undefined;
}

/** What `PATCH /v1/projects/:id/scenes/:sceneId` may change (null removes duration, overlay, transition). */
export interface SceneChanges {
  narration?: string | undefined;
  visual?: ProjectMedia | undefined;
  duration?: number | null | undefined;
  overlay?: OverlayChanges | null | undefined;
  transition?: Scene['transition'] | null | undefined;
}

export const patchScene =
  (sceneId: string, changes: SceneChanges): Recipe =>
  (draft) => {
    const scene = draft.scenes[sceneIndex(draft, sceneId)]!;
    if (changes.narration !== undefined) scene.narration = changes.narration;
    if (changes.visual !== undefined) scene.visual = changes.visual;
    if (changes.duration === null) delete scene.duration;
    else if (changes.duration !== undefined) scene.duration = changes.duration;
    if (changes.transition === null) delete scene.transition;
    else if (changes.transition !== undefined) scene.transition = changes.transition;
    if (changes.overlay === null) delete scene.overlay;
    else if (changes.overlay !== undefined) scene.overlay = mergeOverlay(scene.overlay, changes.overlay);
  };

function mergeOverlay(current: Overlay | undefined, changes: OverlayChanges): Overlay {
  const image = changes.image ?? current?.image;
  if (!image) {
    throw invalidInput([
      { field: 'overlay.image', message: 'is required: this scene has no overlay yet, so give its image' },
    ]);
  }
  const merged = {
    ...current,
    ...defined(changes),
    image,
    position: { ...current?.position, ...defined(changes.position ?? {}) },
  };
  return Overlay.parse(merged); // fills the defaults of a new overlay
}

const defined = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

/** Adds `scene` at `index` (the end when absent). */
export const addScene =
  (scene: Scene, index: number | undefined): Recipe =>
  (draft) => {
    if (draft.scenes.some((s) => s.id === scene.id)) {
      throw invalidInput([{ field: 'scene.id', message: `the project has a scene "${scene.id}" already` }]);
    }
    const at = index ?? draft.scenes.length;
    if (at > draft.scenes.length) {
      throw invalidInput([
        {
          field: 'index',
          message: `must be 0-${draft.scenes.length} (the project has ${draft.scenes.length} scenes)`,
        },
      ]);
    }
    draft.scenes.splice(at, 0, scene);
  };

export const deleteScene =
  (sceneId: string): Recipe =>
  (draft) => {
    const i = sceneIndex(draft, sceneId);
    if (draft.scenes.length === 1) {
      throw new HttpError({
        statusCode: 409,
        code: 'last_scene',
        message: `"${sceneId}" is the project's only scene: a project needs at least one; add another first`,
      });
    }
    draft.scenes.splice(i, 1);
  };

/**
 * The problems of a new scene order: it must name every current scene exactly once. Every missing,
 * unknown and repeated id is named (the reference silently dropped unknown ids).
 */
export function sceneOrderIssues(current: string[], given: string[]): FieldIssue[] {
  const have = new Set(current);
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const id of given) {
    if (seen.has(id)) repeated.add(id);
    seen.add(id);
  }
  const missing = current.filter((id) => !seen.has(id));
  const unknown = [...seen].filter((id) => !have.has(id));
  const list = (ids: Iterable<string>) => [...ids].map((i) => `"${i}"`).join(', ');
  const issues: FieldIssue[] = [];
  if (missing.length) issues.push({ field: 'sceneIds', message: `misses ${list(missing)}` });
  if (unknown.length)
    issues.push({ field: 'sceneIds', message: `names unknown scenes ${list(unknown)} (not in the project)` });
  if (repeated.size) issues.push({ field: 'sceneIds', message: `repeats ${list(repeated)}` });
  return issues;
}

/** Puts the scenes in the order of `sceneIds`, which must be a permutation of the current scene ids. */
export const reorderScenes =
  (sceneIds: string[]): Recipe =>
  (draft) => {
    const issues = sceneOrderIssues(
      draft.scenes.map((s) => s.id),
      sceneIds,
    );
    if (issues.length) {
      throw invalidInput(
        issues.map((i) => ({
          ...i,
          message: `${i.message}: it must list every scene of the project once`,
        })),
      );
    }
    if (sceneIds.every((id, i) => draft.scenes[i]!.id === id)) return; // the same order: no change
    const byId = new Map(draft.scenes.map((s) => [s.id, s]));
    draft.scenes = sceneIds.map((id) => byId.get(id)!);
  };

/**
 * Re-voices all scenes (or `sceneIds`): a new take of each scene's voiceover (its cache key changes),
 * made by the next preview or render, with `voice` when given.
 */
export const revoice =
  (opts: { voice?: Project['voice'] | undefined; sceneIds?: string[] | undefined }): Recipe =>
  (draft) => {
    const { voice, sceneIds } = opts;
    if (sceneIds) {
      const unknown = sceneIds.filter((id) => !draft.scenes.some((s) => s.id === id));
      if (unknown.length) throw sceneNotFound(unknown, draft);
    }
    if (voice) draft.voice = voice;
    for (const s of draft.scenes) {
      if (!sceneIds || sceneIds.includes(s.id)) s.voiceTake += 1;
    }
  };

/** What `PATCH /v1/projects/:id/music` may change. */
export interface MusicChanges {
  enabled?: boolean | undefined;
  source?: Music['source'] | undefined;
  volume?: number | undefined;
  duck?: boolean | undefined;
}

export const patchMusic =
  (changes: MusicChanges): Recipe =>
  (draft) => {
    draft.music = Music.parse({ ...draft.music, ...defined(changes) });
  };

/** A new take of generated music (its cache key changes); made by the next preview or render. */
export const regenerateMusic = (): Recipe => (draft) => {
  if (!draft.music) {
    throw new HttpError({
      statusCode: 409,
      code: 'no_music',
      message: 'the project has no music; set it first with PATCH /v1/projects/:id/music',
    });
  }
  if ('key' in draft.music.source) {
    throw new HttpError({
      statusCode: 409,
      code: 'music_not_generated',
      message: `the project's music is a given file (${draft.music.source.key}); only mood or prompt music is generated`,
    });
  }
  draft.music.take += 1;
};
