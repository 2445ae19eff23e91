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

/** The offline demo's project: six scenes drawn by the local image model, voiced by espeak-ng, calm music. */
export function demoProjectSpec(): Record<string, unknown> {
  return {
    title: 'Lumen launch (demo)',
    // 720p keeps the demo quick on a laptop; the final render is 1080p unless the project says otherwise.
    output: { aspect: '16:9', shortSide: 720, fps: 30 },
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
