// A small client for the ingest job API, used by the CLI and the tests.
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { TERMINAL_JOB_STATUSES, type Job } from '@reelbus/contracts';

export interface ClientOptions {
  baseUrl: string;
  apiKey: string;
}

/** What `GET /v1/models` shows of a model (the fields the CLI reads). */
export interface PublicModelView {
  id: string;
  type: string;
  provider: string;
  description?: string;
  params: {
    properties?: Record<string, { type?: string | string[]; enum?: unknown[]; default?: unknown }>;
    required?: string[];
  };
  pricing: { unit: string; price: number };
  estimatedTimeSec: number;
}

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** REELBUS_URL / REELBUS_API_KEY, else the embedded profile's `.reelbus/secrets.json`. */
export function clientOptionsFromEnv(
  env: Record<string, string | undefined>,
  dataDir: string,
): ClientOptions {
  let apiKey = env.REELBUS_API_KEY;
  const secretsFile = join(dataDir, 'secrets.json');
  if (!apiKey && existsSync(secretsFile))
    apiKey = (JSON.parse(readFileSync(secretsFile, 'utf8')) as { apiKey: string }).apiKey;
  if (!apiKey)
    throw new Error('no API key: set REELBUS_API_KEY (the embedded stack prints one on first start)');
  return { baseUrl: env.REELBUS_URL ?? 'http://127.0.0.1:8080', apiKey };
}

export class ReelbusClient {
  constructor(private readonly opts: ClientOptions) {}

  private async request<T>(path: string, init: RequestInit = {}): Promise<T> {
    const res = await fetch(this.opts.baseUrl + path, {
      ...init,
      headers: { authorization: `Bearer ${this.opts.apiKey}`, ...(init.headers as Record<string, string>) },
    });
    const text = await res.text();
    if (!res.ok) {
      let message = text;
      try {
        message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
      } catch {
        // not JSON
      }
      throw new ApiError(res.status, `${init.method ?? 'GET'} ${path}: ${res.status} ${message}`);
    }
    return JSON.parse(text) as T;
  }

  /** Uploads a recording file (streamed) and starts the call pipeline. */
  async submitRecording(opts: {
    file: string;
    callbackUrl?: string;
    provider?: string;
  }): Promise<{ jobId: string }> {
    const { file, callbackUrl, provider } = opts;
    if (!existsSync(file) || !statSync(file).isFile()) throw new Error(`no such file: ${file}`);
    const form = new FormData();
    if (callbackUrl) form.set('callbackUrl', callbackUrl);
    if (provider) form.set('provider', provider);
    const blob = await openAsBlob(file);
    form.set('recording', blob, basename(file));
    return this.request('/v1/recordings', { method: 'POST', body: form });
  }

  /** The model registry (`GET /v1/models`), optionally of one type. */
  listModels(opts: { type?: string } = {}): Promise<{ models: PublicModelView[] }> {
    return this.request(`/v1/models${opts.type ? `?type=${encodeURIComponent(opts.type)}` : ''}`);
  }

  /** Starts one model run (`POST /v1/generations`). */
  generate(opts: {
    model: string;
    params: Record<string, unknown>;
    callbackUrl?: string | undefined;
  }): Promise<{ jobId: string; estimatedCostUsd: number; estimatedTimeSec: number }> {
    return this.request('/v1/generations', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: opts.model,
        params: opts.params,
        ...(opts.callbackUrl ? { callbackUrl: opts.callbackUrl } : {}),
      }),
    });
  }

  /** Creates a reel (`POST /v1/reels`): one generation per section. */
  createReel<T = { id: string; revision: number }>(spec: unknown): Promise<T> {
    return this.request('/v1/reels', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(spec),
    });
  }

  getReel<T = { id: string; revision: number }>(id: string): Promise<T> {
    return this.request(`/v1/reels/${encodeURIComponent(id)}`);
  }

  /** Approves or rejects a take (`POST /v1/reels/:id/sections/:sid/takes/:tid/approve|reject`). */
  reviewTake<T = { id: string; revision: number }>(opts: {
    reelId: string;
    sectionId: string;
    takeId: string;
    verdict: 'approve' | 'reject';
    reason?: string | undefined;
    ifMatch?: number;
  }): Promise<T> {
    const { reelId, sectionId, takeId, verdict, reason, ifMatch } = opts;
    return this.request(
      `/v1/reels/${encodeURIComponent(reelId)}/sections/${encodeURIComponent(sectionId)}/takes/${encodeURIComponent(takeId)}/${verdict}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(ifMatch ? { 'if-match': `"${ifMatch}"` } : {}) },
        body: JSON.stringify(reason ? { reason } : {}),
      },
    );
  }

  /** A new take of a section (`POST /v1/reels/:id/sections/:sid/regenerate`). */
  regenerate(opts: {
    reelId: string;
    sectionId: string;
    params?: Record<string, unknown>;
  }): Promise<{ takeId: string; jobId: string; revision: number }> {
    return this.request(
      `/v1/reels/${encodeURIComponent(opts.reelId)}/sections/${encodeURIComponent(opts.sectionId)}/regenerate`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(opts.params ? { params: opts.params } : {}),
      },
    );
  }

  /** Re-orders sections or renames the reel (`PATCH /v1/reels/:id`). */
  patchReel<T = { id: string; revision: number }>(
    id: string,
    body: { sectionOrder?: string[]; title?: string },
  ): Promise<T> {
    return this.request(`/v1/reels/${encodeURIComponent(id)}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  /** Compiles the approved takes (`POST /v1/reels/:id/compile`). */
  compileReel(id: string): Promise<{ jobId: string; revision: number; videoCount: number }> {
    return this.request(`/v1/reels/${encodeURIComponent(id)}/compile`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
  }

  getJob(id: string): Promise<Job & { links?: { video?: string } }> {
    return this.request(`/v1/jobs/${encodeURIComponent(id)}`);
  }

  /** Cancels a running job (`POST /v1/jobs/:id/cancel`). */
  cancelJob(
    id: string,
    opts: { reason?: string } = {},
  ): Promise<{ jobId: string; status: string; alreadyCancelled: boolean }> {
    return this.request(`/v1/jobs/${encodeURIComponent(id)}/cancel`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(opts.reason ? { reason: opts.reason } : {}),
    });
  }

  /** Deletes a job with its blobs and dead letters (`DELETE /v1/jobs/:id`); `cancel` stops a running one first. */
  deleteJob(
    id: string,
    opts: { cancel?: boolean } = {},
  ): Promise<{
    jobId: string;
    blobsRemoved: number;
    bytesFreed: number;
    deadLettersRemoved: number;
    cancelled: boolean;
  }> {
    return this.request(`/v1/jobs/${encodeURIComponent(id)}${opts.cancel ? '?cancel=true' : ''}`, {
      method: 'DELETE',
    });
  }

  listJobs(opts: { status?: string; limit?: number } = {}): Promise<{ jobs: Job[] }> {
    const q = new URLSearchParams();
    if (opts.status) q.set('status', opts.status);
    if (opts.limit) q.set('limit', String(opts.limit));
    return this.request(`/v1/jobs?${q}`);
  }

  /**
   * Follows a job until it completes or fails, calling `onUpdate` on every change. A server that is
   * briefly unavailable (503, 502, a refused connection) or a rate limit (429) is retried for up to `patienceMs`.
   */
  async follow(
    id: string,
    onUpdate: (job: Job) => void,
    opts: { signal?: AbortSignal; pollMs?: number; patienceMs?: number } = {},
  ): Promise<Job> {
    const { signal, pollMs = 1000, patienceMs = 30_000 } = opts;
    let failingSince: number | undefined;
    for (;;) {
      let job: Job;
      try {
        job = await this.getJob(id);
        failingSince = undefined;
      } catch (err) {
        const transient =
          err instanceof ApiError ? [429, 502, 503].includes(err.status) : err instanceof TypeError;
        failingSince ??= Date.now();
        if (!transient || Date.now() - failingSince > patienceMs) throw err;
        signal?.throwIfAborted();
        await new Promise((r) => setTimeout(r, pollMs));
        continue;
      }
      onUpdate(job);
      if (TERMINAL_JOB_STATUSES.includes(job.status)) return job;
      signal?.throwIfAborted();
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
}

async function openAsBlob(file: string): Promise<Blob> {
  // fs.openAsBlob streams from disk (Node ≥ 19.8): the file is never read whole into memory.
  const fs = await import('node:fs');
  if (typeof fs.openAsBlob === 'function') return fs.openAsBlob(file);
  const chunks: Buffer[] = [];
  for await (const c of createReadStream(file)) chunks.push(c as Buffer);
  return new Blob(chunks);
}
