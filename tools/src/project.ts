// Scene projects from the CLI or a test: create from a spec file, show, preview/render (a job to
// follow), undo/redo, and the offline demo's project and edits.
import { readFileSync } from 'node:fs';
import { ApiError, type ClientOptions } from './client.ts';

/** One call of the projects API; a non-2xx answer throws ApiError with the server's message. */
export async function projectApi<T>(opts: {
  client: ClientOptions;
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  path: string;
  body?: unknown;
  ifMatch?: number;
}): Promise<T> {
  const { client, method, path, body, ifMatch } = opts;
  const headers: Record<string, string> = { authorization: `Bearer ${client.apiKey}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (ifMatch !== undefined) headers['if-match'] = `"${ifMatch}"`;
  const res = await fetch(`${client.baseUrl}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (!res.ok) {
    let message = text;
    try {
      const e = (
        JSON.parse(text) as {
          error?: { message?: string; issues?: Array<{ field: string; message: string }> };
        }
      ).error;
      message = e?.issues?.length
        ? e.issues.map((i) => `${i.field}: ${i.message}`).join('; ')
        : (e?.message ?? text);
    } catch {
      // not JSON
    }
    throw new ApiError(res.status, `${method} ${path}: ${res.status} ${message}`);
  }
  return (text ? JSON.parse(text) : undefined) as T;
}

export interface Revisioned {
  projectId: string;
  revision: number;
}

/** Creates a project from a spec file (the `POST /v1/projects` body as JSON). */
export async function createProjectFromFile(client: ClientOptions, file: string): Promise<Revisioned> {
  let spec: unknown;
  try {
    spec = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not a JSON project spec (${(err as Error).message})`);
  }
  return projectApi<Revisioned>({ client, method: 'POST', path: '/v1/projects', body: spec });
}

/** Starts a preview (480p / 15 fps) or a final render of the project's current revision. */
export function renderProject(
  client: ClientOptions,
  projectId: string,
  what: 'preview' | 'render',
): Promise<Revisioned & { jobId: string }> {
  return projectApi({ client, method: 'POST', path: `/v1/projects/${projectId}/${what}` });
}

/** Undo or redo one change. */
export function moveHistory(
  client: ClientOptions,
  projectId: string,
  direction: 'undo' | 'redo',
): Promise<Revisioned & { label: string; canUndo: number; canRedo: number }> {
  return projectApi({ client, method: 'POST', path: `/v1/projects/${projectId}/${direction}` });
}

const DEMO_SCENES: Array<[string, string, string]> = [
  ['open', 'Meet Lumen, the lamp that follows the sun.', 'a warm sunrise over a quiet city'],
  ['problem', 'Dark evenings drain your focus.', 'a dim desk at night'],
  ['product', 'Lumen shifts its colour with the time of day.', 'a glowing lamp on a wooden table'],
  ['detail', 'One touch, no app, no fuss.', 'a hand touching a smooth lamp'],
  ['', '', 'a calm reading corner at dusk'],
  ['close', 'Lumen. Light that keeps time.', 'a soft golden glow'],
];

/**
 * The offline demo's project: six scenes drawn by the local image model, voiced by espeak-ng, calm music.
 * `shortSide` is the final render's (default 720: quick on a laptop; a project's own default is 1080).
 */
export function demoProjectSpec(opts: { shortSide?: number } = {}): Record<string, unknown> {
  const { shortSide = 720 } = opts;
  return {
    title: 'Lumen launch (demo)',
    output: { aspect: '16:9', shortSide, fps: 30 },
    voice: { model: 'local-speech', voice: 'en-us' },
    music: { source: { mood: 'calm' }, volume: 0.15 },
    brand: {
      color: '#14213d',
      intro: { text: 'Lumen', duration: 1.5 },
      outro: { text: 'lumen.example', duration: 1.5 },
    },
    scenes: DEMO_SCENES.map(([id, narration, prompt], i) => ({
      id: id || `quiet${i}`,
      narration,
      visual: { model: 'local-image', params: { prompt } },
      ...(narration ? {} : { duration: 2.5 }),
      ...(i < DEMO_SCENES.length - 1
        ? { transition: { type: i % 2 ? 'dissolve' : 'fade', duration: 0.4 } }
        : {}),
    })),
  };
}

/** The demo's edits: reorder, a product overlay, the music volume, then undo the last one. Returns what it did. */
export async function demoEdits(client: ClientOptions, projectId: string): Promise<string[]> {
  const done: string[] = [];
  const view = await projectApi<{ revision: number; project: { scenes: Array<{ id: string }> } }>({
    client,
    method: 'GET',
    path: `/v1/projects/${projectId}`,
  });
  const ids = view.project.scenes.map((s) => s.id);
  // Swap scenes 2 and 3 ("problem" after "product").
  const order = [ids[0]!, ids[2]!, ids[1]!, ...ids.slice(3)];
  let r = await projectApi<Revisioned>({
    client,
    method: 'PUT',
    path: `/v1/projects/${projectId}/scene-order`,
    body: { sceneIds: order },
    ifMatch: view.revision,
  });
  done.push(`reordered scenes → revision ${r.revision}`);
  r = await projectApi<Revisioned>({
    client,
    method: 'PATCH',
    path: `/v1/projects/${projectId}/scenes/${ids[2]}`,
    body: {
      overlay: {
        image: { model: 'local-image', params: { prompt: 'a small lamp product shot' } },
        position: { x: 'right', y: 'bottom' },
        scale: 0.3,
        animation: 'zoom',
      },
    },
    ifMatch: r.revision,
  });
  done.push(`product overlay on "${ids[2]}" → revision ${r.revision}`);
  r = await projectApi<Revisioned>({
    client,
    method: 'PATCH',
    path: `/v1/projects/${projectId}/music`,
    body: { volume: 0.3 },
    ifMatch: r.revision,
  });
  done.push(`music volume 0.3 → revision ${r.revision}`);
  const u = await moveHistory(client, projectId, 'undo');
  done.push(`undo "${u.label}" → revision ${u.revision} (music back at 0.15)`);
  return done;
}

/** What `GET /v1/projects/:id` answers, as far as `projectSummary` reads it. */
export interface ProjectSummaryView {
  revision: number;
  project: { scenes: Array<{ id: string; overlay?: unknown }>; music?: { volume?: number } };
  history: { undo: string[]; redo: string[] };
}

/** A project in a few lines: scene order, overlays, music volume, revision and history. */
export function projectSummary(view: ProjectSummaryView): string[] {
  const { revision, project, history } = view;
  const overlays = project.scenes.filter((s) => s.overlay !== undefined).map((s) => s.id);
  const labels = (l: string[]) => (l.length ? `: ${l.map((x) => `"${x}"`).join(', ')}` : '');
  return [
    `scenes: ${project.scenes.map((s) => s.id).join(', ')}`,
    `overlays: ${overlays.join(', ') || 'none'}`,
    `music volume: ${project.music?.volume ?? 'none'}`,
    `revision ${revision}; ${history.undo.length} to undo${labels(history.undo)}; ${history.redo.length} to redo${labels(history.redo)}`,
  ];
}

/** The long project's narration lines (a few, reused: each is voiced once and shared by its scenes). */
const LONG_PROJECT_LINES = [
  'The boats come in at dawn.',
  'Nets are mended by noon.',
  'The market is loud and bright.',
  'At dusk the harbour lights come on.',
];
/** Scene lengths in turn (seconds): some are not a whole number of frames at 15 fps, on purpose. */
const LONG_PROJECT_DURATIONS = [12, 13, 14, 11.5];

/**
 * A long scene project (the 5-minute case of issue 13): `scenes` scenes cycling through `visuals` (few,
 * reused), every other scene narrated with one of four lines, a fade or a wipe into two of every three
 * next scenes, a product overlay on every fourth, calm music. With the defaults: 25 scenes, 315 s of
 * scenes less 12 s of transitions = 303 s. Returns the `POST /v1/projects` body and the video's length.
 */
export function longProjectSpec(opts: {
  visuals: Array<Record<string, unknown>>;
  overlay: Record<string, unknown>;
  output: { shortSide: number; fps: number };
  scenes?: number;
}): { spec: Record<string, unknown>; durationSec: number; sceneSec: number; transitionSec: number } {
  const { visuals, overlay, output, scenes: count = 25 } = opts;
  const scenes = Array.from({ length: count }, (_, i) => {
    const transition =
      i % 3 === 0
        ? { type: 'fade', duration: 0.5 }
        : i % 3 === 1
          ? { type: 'wipeleft', duration: 1 }
          : undefined;
    return {
      id: `s${i + 1}`,
      narration: i % 2 === 0 ? LONG_PROJECT_LINES[(i / 2) % LONG_PROJECT_LINES.length]! : '',
      visual: visuals[i % visuals.length]!,
      duration: LONG_PROJECT_DURATIONS[i % LONG_PROJECT_DURATIONS.length]!,
      ...(i % 4 === 3
        ? {
            overlay: {
              image: overlay,
              position: { x: 'right', y: 'bottom' },
              scale: 0.25,
              animation: 'fade',
            },
          }
        : {}),
      ...(transition ? { transition } : {}),
    };
  });
  const sceneSec = scenes.reduce((sum, s) => sum + s.duration, 0);
  // The last scene's transition leads nowhere: it is not rendered.
  const transitionSec = scenes.slice(0, -1).reduce((sum, s) => sum + (s.transition?.duration ?? 0), 0);
  return {
    spec: {
      title: `A ${Math.round((sceneSec - transitionSec) / 60)}-minute harbour film`,
      output: { aspect: '16:9', ...output },
      music: { source: { mood: 'calm' }, volume: 0.15 },
      scenes,
    },
    durationSec: sceneSec - transitionSec,
    sceneSec,
    transitionSec,
  };
}
