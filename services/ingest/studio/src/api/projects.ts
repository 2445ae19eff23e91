import type {
  MusicSource,
  Overlay,
  Project,
  ProjectInput,
  ProjectMedia,
  Scene,
  Voice,
} from '@reelbus/contracts';
import type { ApiClient } from './client.ts';

export type { MusicSource, Overlay, Project, ProjectInput, ProjectMedia, Scene, Voice };

/** `GET /v1/projects/:id`: the project at its revision, with the labels of its undo/redo history. */
export interface ProjectView {
  projectId: string;
  revision: number;
  createdAt: string;
  updatedAt: string;
  project: Project;
  history: { undo: string[]; redo: string[] };
}

/** `GET /v1/projects`: one line of the list. */
export interface ProjectSummary {
  projectId: string;
  title: string;
  revision: number;
  updatedAt: string;
}

/** What every edit answers: the revision after it (the same one when nothing changed). */
export interface EditAnswer {
  projectId: string;
  revision: number;
  changed: boolean;
}

/** `POST …/undo` and `…/redo`. */
export interface HistoryAnswer {
  projectId: string;
  revision: number;
  label: string;
  canUndo: number;
  canRedo: number;
}

/** `202` of `POST …/preview` and `…/render`: the job that renders this revision. */
export interface RenderAccepted {
  jobId: string;
  statusUrl: string;
  eventsUrl: string;
  projectId: string;
  revision: number;
  preset: 'preview' | 'final';
}

/** A change of one scene (`PATCH …/scenes/:sceneId`); `null` removes duration, overlay, transition. */
export interface ScenePatch {
  narration?: string;
  visual?: ProjectMedia;
  duration?: number | null;
  overlay?: (Partial<Omit<Overlay, 'position'>> & { position?: Partial<Overlay['position']> }) | null;
  transition?: Scene['transition'] | null;
}

/** A change of the music (`PATCH …/music`). */
export interface MusicPatch {
  enabled?: boolean;
  source?: MusicSource;
  volume?: number;
  duck?: boolean;
}

/**
 * The scene-project routes (`/v1/projects`). Every write sends `If-Match: <revision>` — the revision
 * the page shows — so a change made meanwhile elsewhere (another tab, the CLI) answers `409` and
 * nothing is overwritten.
 */
export class ProjectsApi {
  readonly #client: ApiClient;
  constructor(client: ApiClient) {
    this.#client = client;
  }

  list(signal?: AbortSignal): Promise<{ items: ProjectSummary[]; nextCursor?: string }> {
    return this.#client.request('/v1/projects?limit=100', signal ? { signal } : {});
  }

  create(body: unknown): Promise<{ projectId: string; revision: number }> {
    return this.#client.request('/v1/projects', { method: 'POST', json: body });
  }

  get(id: string, signal?: AbortSignal): Promise<ProjectView> {
    return this.#client.request(projectPath(id), signal ? { signal } : {});
  }

  patchScene(id: string, revision: number, sceneId: string, patch: ScenePatch): Promise<EditAnswer> {
    return this.#write(id, revision, 'PATCH', `/scenes/${encodeURIComponent(sceneId)}`, patch);
  }

  /** A new scene at `index` (the end when absent); answers its id. */
  addScene(
    id: string,
    revision: number,
    scene: Omit<Scene, 'id' | 'voiceTake'>,
    index?: number,
  ): Promise<EditAnswer & { sceneId: string }> {
    return this.#write(id, revision, 'POST', '/scenes', index === undefined ? { scene } : { scene, index });
  }

  deleteScene(id: string, revision: number, sceneId: string): Promise<EditAnswer> {
    return this.#write(id, revision, 'DELETE', `/scenes/${encodeURIComponent(sceneId)}`);
  }

  order(id: string, revision: number, sceneIds: string[]): Promise<EditAnswer> {
    return this.#write(id, revision, 'PUT', '/scene-order', { sceneIds });
  }

  patchMusic(id: string, revision: number, patch: MusicPatch): Promise<EditAnswer> {
    return this.#write(id, revision, 'PATCH', '/music', patch);
  }

  regenerateMusic(id: string, revision: number): Promise<EditAnswer> {
    return this.#write(id, revision, 'POST', '/music/regenerate', {});
  }

  /** A new voiceover take of `sceneIds` (every scene when absent), made by the next render. */
  revoice(id: string, revision: number, sceneIds?: string[]): Promise<EditAnswer> {
    return this.#write(id, revision, 'POST', '/voiceover', sceneIds ? { sceneIds } : {});
  }

  history(id: string, revision: number, direction: 'undo' | 'redo'): Promise<HistoryAnswer> {
    return this.#write(id, revision, 'POST', `/${direction}`, {});
  }

  render(id: string, revision: number, preset: 'preview' | 'final'): Promise<RenderAccepted> {
    return this.#write(id, revision, 'POST', preset === 'preview' ? '/preview' : '/render', {});
  }

  #write<T>(id: string, revision: number, method: string, sub: string, json?: unknown): Promise<T> {
    return this.#client.request(`${projectPath(id)}${sub}`, {
      method,
      ...(json === undefined ? {} : { json }),
      headers: { 'if-match': `"${revision}"` },
    });
  }
}

const projectPath = (id: string) => `/v1/projects/${encodeURIComponent(id)}`;
