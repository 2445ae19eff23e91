import { ApiError, apiErrorFrom } from './errors.ts';
import type {
  DeadLetter,
  DeadLetterReplayed,
  GenerationAccepted,
  JobAccepted,
  JobKind,
  JobRetried,
  JobStatus,
  JobView,
  KindSpec,
  ModelInfo,
  SignedLink,
} from './types.ts';

/**
 * The studio's client for the public /v1 API: every call sends the API key as
 * `Authorization: Bearer`, never in a URL. Same origin as the page, so no CORS.
 */
export class ApiClient {
  readonly key: string;
  readonly #onUnauthorized: ((err: ApiError) => void) | undefined;

  constructor(opts: { key: string; onUnauthorized?: (err: ApiError) => void }) {
    this.key = opts.key;
    this.#onUnauthorized = opts.onUnauthorized;
  }

  get authHeaders(): Record<string, string> {
    return { authorization: `Bearer ${this.key}` };
  }

  /** A request; an answer other than 2xx throws ApiError (a 401 also tells the app the key is no good). */
  async request<T>(
    path: string,
    opts: { method?: string; json?: unknown; signal?: AbortSignal; headers?: Record<string, string> } = {},
  ): Promise<T> {
    const { method = 'GET', json, signal } = opts;
    const headers: Record<string, string> = {
      ...opts.headers,
      ...this.authHeaders,
      accept: 'application/json',
    };
    if (json !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: json === undefined ? null : JSON.stringify(json),
        signal: signal ?? null,
        cache: 'no-store',
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw apiErrorFrom({ status: 0, statusText: '', body: '' });
    }
    const text = await res.text();
    if (!res.ok) {
      const err = apiErrorFrom({ status: res.status, statusText: res.statusText, body: text });
      if (res.status === 401) this.#onUnauthorized?.(err);
      throw err;
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  listJobs(
    opts: { status?: JobStatus | undefined; kind?: JobKind | undefined; limit?: number },
    signal?: AbortSignal,
  ): Promise<{ jobs: JobView[] }> {
    const q = new URLSearchParams();
    if (opts.status) q.set('status', opts.status);
    if (opts.kind) q.set('kind', opts.kind);
    q.set('limit', String(opts.limit ?? 50));
    return this.request(`/v1/jobs?${q}`, signal ? { signal } : {});
  }

  getJob(id: string, signal?: AbortSignal): Promise<JobView> {
    return this.request(`/v1/jobs/${encodeURIComponent(id)}`, signal ? { signal } : {});
  }

  kinds(): Promise<{ kinds: KindSpec[] }> {
    return this.request('/v1/kinds');
  }

  /**
   * The key's role: `GET /v1/keys` answers operator keys only, so 200 → operator, 403 → user. (The
   * studio shows operator pages from it; the API checks every operator call again.)
   */
  async role(): Promise<'operator' | 'user'> {
    try {
      await this.request('/v1/keys');
      return 'operator';
    } catch (err) {
      if (err instanceof ApiError && err.status === 403) return 'user';
      throw err;
    }
  }

  listModels(signal?: AbortSignal): Promise<{ models: ModelInfo[] }> {
    return this.request('/v1/models', signal ? { signal } : {});
  }

  createGeneration(body: { model: string; params: Record<string, unknown> }): Promise<GenerationAccepted> {
    return this.request('/v1/generations', { method: 'POST', json: body });
  }

  /** Dead letters, oldest first, from sequence `from` (the `next` of the previous page). */
  listDeadLetters(
    opts: { from?: number; limit?: number } = {},
    signal?: AbortSignal,
  ): Promise<{ deadLetters: DeadLetter[]; next?: number }> {
    const q = new URLSearchParams({ limit: String(opts.limit ?? 50) });
    if (opts.from) q.set('from', String(opts.from));
    return this.request(`/v1/dead-letters?${q}`, signal ? { signal } : {});
  }

  replayDeadLetter(seq: number): Promise<DeadLetterReplayed> {
    return this.request(`/v1/dead-letters/${seq}/replay`, { method: 'POST', json: {} });
  }

  retryJob(id: string): Promise<JobRetried> {
    return this.request(`/v1/jobs/${encodeURIComponent(id)}/retry`, { method: 'POST', json: {} });
  }

  /** A fresh signed video link (`ttlSec` seconds). */
  createLink(id: string, ttlSec: number): Promise<SignedLink> {
    return this.request(`/v1/jobs/${encodeURIComponent(id)}/links`, { method: 'POST', json: { ttlSec } });
  }
}

/**
 * Checks a key before the studio keeps it: `GET /v1/jobs?limit=1` answers 401 for a wrong key.
 * Returns undefined when the key works, else the message to show next to the key field.
 */
export async function checkApiKey(key: string): Promise<string | undefined> {
  try {
    await new ApiClient({ key }).request('/v1/jobs?limit=1');
    return undefined;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401)
      return 'This API key was not accepted. Check it (it starts with "rb_" on the embedded stack) and try again.';
    if (err instanceof ApiError && err.status === 403)
      return `This key may not use the studio: ${err.message}`;
    if (err instanceof ApiError) return `Could not check the key: ${err.message}`;
    throw err;
  }
}

export type { JobAccepted };
