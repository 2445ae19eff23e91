// The scene-project editor's pure parts (unit-tested): render phases for people, the undo/redo
// keyboard shortcuts, the create forms' bodies, scene drafts → minimal PATCH bodies, and which
// control shows which field the API names.
import type { ProjectMedia, Scene, ScenePatch } from '../api/projects.ts';
import type { JobStatus, ProgressDetail } from '@reelbus/contracts';
import type { ControlFields } from '../forms/fields.ts';

/** The phases a project render goes through, in order (contracts' RENDER_PHASES), as people read them. */
export const RENDER_PHASES = [
  { phase: 'preparing', text: 'Preparing' },
  { phase: 'rendering', text: 'Rendering' },
  { phase: 'concatenating', text: 'Concatenating' },
  { phase: 'uploading', text: 'Uploading' },
  { phase: 'complete', text: 'Complete' },
] as const;

export type PhaseState = 'done' | 'current' | 'failed' | 'pending';

export interface PhaseRow {
  phase: string;
  text: string;
  state: PhaseState;
  /** What the phase is at: "voiceovers 1 of 3, visuals 0 of 3", "chunk 2 of 4". */
  detail?: string;
}

/**
 * One row per render phase: those before the job's phase are done, its phase is current (or failed),
 * the rest pending. A completed job is at "complete" whatever its last reported phase; a phase the
 * render skipped (a short render is not concatenated) reads as done once a later one is reached.
 */
export function phaseRows(job: {
  status: JobStatus;
  progressDetail?: ProgressDetail | undefined;
}): PhaseRow[] {
  const detail = job.progressDetail;
  const reported = job.status === 'completed' ? 'complete' : detail?.phase;
  const at = RENDER_PHASES.findIndex((p) => p.phase === reported);
  return RENDER_PHASES.map(({ phase, text }, i) => {
    let state: PhaseState = 'pending';
    if (at >= 0 && i < at) state = 'done';
    else if (i === at) {
      if (phase === 'complete') state = 'done';
      else state = job.status === 'failed' || job.status === 'cancelled' ? 'failed' : 'current';
    }
    const row: PhaseRow = { phase, text, state };
    const what = i === at && phase !== 'complete' ? phaseDetail(phase, detail) : undefined;
    if (what) row.detail = what;
    return row;
  });
}

/** The current phase's progress in words. */
function phaseDetail(phase: string, detail: ProgressDetail | undefined): string | undefined {
  if (!detail) return undefined;
  if (phase === 'rendering' && detail.chunks && detail.chunks.total > 0) {
    const i = Math.min(detail.chunks.done + 1, detail.chunks.total);
    return `chunk ${i} of ${detail.chunks.total}`;
  }
  if (phase === 'rendering' && detail.frames && detail.frames.total > 0)
    return `frame ${detail.frames.done} of ${detail.frames.total}`;
  return detail.message;
}

/** The rows as one line for a screen reader's live region: "Rendering: chunk 2 of 4". */
export function phaseSummary(rows: PhaseRow[]): string {
  const row = rows.find((r) => r.state === 'current' || r.state === 'failed');
  if (!row) return rows.at(-1)?.state === 'done' ? 'Complete' : 'Waiting to start';
  const what = `${row.text}${row.detail ? `: ${row.detail}` : ''}`;
  return row.state === 'failed' ? `Failed while ${row.text.toLowerCase()}` : what;
}

export interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
}

/** Controls whose own Ctrl-Z undoes typing: the project's undo must not take it from them. */
const TEXT_INPUT_TYPES = new Set(['', 'text', 'search', 'url', 'email', 'number', 'password', 'tel']);

/**
 * Ctrl-Z → undo, Ctrl-Shift-Z or Ctrl-Y → redo (⌘ on a Mac), unless the focus is in a text field,
 * where the browser's own undo of the typing comes first. Sliders, selects, buttons and the page
 * itself give the shortcut to the project.
 */
export function historyShortcut(
  e: KeyLike,
  focus: { tagName: string; type?: string; isContentEditable?: boolean } | null,
): 'undo' | 'redo' | undefined {
  if (!(e.ctrlKey || e.metaKey) || e.altKey) return undefined;
  const key = e.key.toLowerCase();
  if (key !== 'z' && key !== 'y') return undefined;
  if (focus) {
    const tag = focus.tagName.toUpperCase();
    if (tag === 'TEXTAREA' || focus.isContentEditable) return undefined;
    if (tag === 'INPUT' && TEXT_INPUT_TYPES.has((focus.type ?? '').toLowerCase())) return undefined;
  }
  if (key === 'y') return e.shiftKey ? undefined : 'redo';
  return e.shiftKey ? 'redo' : 'undo';
}

/** A pasted `POST /v1/projects` body: an object, or why not (the API checks its fields). */
export function parseSpec(text: string): { body: Record<string, unknown> } | { error: string } {
  if (!text.trim()) return { error: 'Paste a project spec (JSON), or use the form above.' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { error: `This is not JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    return { error: 'The spec must be a JSON object such as { "title": …, "scenes": [ … ] }.' };
  return { body: parsed as Record<string, unknown> };
}

/** The image model a quick project's scenes are drawn with (offline, free). */
export const QUICK_VISUAL_MODEL = 'local-image';

/**
 * The quick form's project: one scene per non-empty line of `scenes`, narrated by that line and drawn
 * by the local image model from it.
 */
export function quickProject(form: {
  title: string;
  scenes: string;
  music: boolean;
}): Record<string, unknown> {
  const lines = form.scenes
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return {
    title: form.title.trim(),
    scenes: lines.map((narration) => ({
      narration,
      visual: { model: QUICK_VISUAL_MODEL, params: { prompt: narration } },
    })),
    ...(form.music ? { music: { source: { mood: 'calm' } } } : {}),
  };
}

/** A visual as the scene form edits it: where it comes from and the text of that. */
export interface VisualDraft {
  source: 'key' | 'url' | 'model';
  /** The blob key, the URL, or the model id. */
  value: string;
  /** The model's prompt (model visuals). */
  prompt: string;
}

export function visualDraft(v: ProjectMedia): VisualDraft {
  if ('key' in v) return { source: 'key', value: v.key, prompt: '' };
  if ('url' in v) return { source: 'url', value: v.url, prompt: '' };
  const prompt = typeof v.params.prompt === 'string' ? v.params.prompt : '';
  return { source: 'model', value: v.model, prompt };
}

/** The draft as a visual; a model's other params are kept while the model stays the same. */
export function visualFromDraft(d: VisualDraft, previous: ProjectMedia): ProjectMedia {
  const value = d.value.trim();
  if (d.source === 'key') return { key: value };
  if (d.source === 'url') return { url: value };
  const params = 'model' in previous && previous.model === value ? { ...previous.params } : {};
  if (d.prompt.trim()) params.prompt = d.prompt.trim();
  else delete params.prompt;
  return { model: value, params };
}

/** A scene's text fields as its form holds them. */
export interface SceneDraft {
  narration: string;
  visual: VisualDraft;
  /** Seconds as typed; empty = from the voiceover. */
  duration: string;
}

export function sceneDraft(scene: Scene): SceneDraft {
  return {
    narration: scene.narration,
    visual: visualDraft(scene.visual),
    duration: scene.duration === undefined ? '' : String(scene.duration),
  };
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The PATCH body for what the draft changed of the scene, or undefined when nothing changed. A
 * duration that is not a number is sent as typed, so the API names the field (nothing is guessed).
 */
export function sceneChanges(scene: Scene, draft: SceneDraft): ScenePatch | undefined {
  const patch: ScenePatch = {};
  if (draft.narration !== scene.narration) patch.narration = draft.narration;
  const visual = visualFromDraft(draft.visual, scene.visual);
  if (!sameJson(visual, scene.visual)) patch.visual = visual;
  const typed = draft.duration.trim();
  if (typed === '') {
    if (scene.duration !== undefined) patch.duration = null;
  } else {
    const n = Number(typed);
    const duration = Number.isFinite(n) ? n : (typed as unknown as number);
    if (duration !== scene.duration) patch.duration = duration;
  }
  return Object.keys(patch).length ? patch : undefined;
}

/** Control ids of a scene's fields (stable per scene id, so errors stay with their scene after a reorder). */
export const sceneControl = (sceneId: string, field: string) => `scene-${sceneId}-${field}`;

/**
 * Which control of scene `sceneId` (at `index`) shows which field: a scene PATCH names `duration`,
 * `overlay.scale`; the stored document's check names `scenes[2].overlay.scale`.
 */
export function sceneControls(sceneId: string, index: number): ControlFields[] {
  const of = (field: string, ...names: string[]): ControlFields => ({
    control: sceneControl(sceneId, field),
    fields: names.flatMap((n) => [n, `scenes[${index}].${n}`]),
  });
  return [
    { control: sceneControl(sceneId, 'scene'), fields: [`scenes[${index}]`, 'overlay', 'transition'] },
    of('narration', 'narration'),
    of('visual', 'visual'),
    of('duration', 'duration'),
    of('overlay-image', 'overlay.image'),
    of('overlay-enabled', 'overlay.enabled'),
    of('overlay-x', 'overlay.position.x'),
    of('overlay-y', 'overlay.position.y'),
    of('overlay-scale', 'overlay.scale'),
    of('overlay-animation', 'overlay.animation'),
  ];
}

/** Which music control shows which field of `PATCH …/music` (or of the stored document). */
export const MUSIC_CONTROLS: ControlFields[] = [
  { control: 'music-enabled', fields: ['enabled', 'music.enabled'] },
  { control: 'music-source', fields: ['source', 'music.source'] },
  { control: 'music-volume', fields: ['volume', 'music.volume'] },
  { control: 'music-duck', fields: ['duck', 'music.duck'] },
];

/** The quick create form's controls. */
export const CREATE_CONTROLS: ControlFields[] = [
  { control: 'new-project-title', fields: ['title'] },
  { control: 'new-project-scenes', fields: ['scenes'] },
];

/** Music volume (0–1) in decibels as the mix applies it: 20·log10(volume); silent at 0. */
export function volumeDb(volume: number): string {
  if (volume <= 0) return 'silent';
  const db = 20 * Math.log10(volume);
  return `${db > -0.05 ? '0' : db.toFixed(1).replace('-', '−')} dB`;
}
