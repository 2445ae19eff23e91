import type { Logger } from '@reelbus/kit';
import type { RunFacts } from '../models/pricing.ts';
import type { MediaKind, Model } from '../models/types.ts';

/** What a provider is asked to run: one model with validated params (defaults filled in). */
export interface RunRequest {
  jobId: string;
  model: Model;
  params: Record<string, unknown>;
  /** Media params on local disk, by param name (downloaded from blob storage or their URL). */
  mediaFiles: Record<string, string>;
  /** Media params as http(s) URLs the provider can fetch (given URLs, presigned S3 URLs), by param name. */
  mediaUrls: Record<string, string>;
  /** A scratch directory for outputs (the caller removes it). */
  outDir: string;
  signal: AbortSignal;
  logger: Logger;
  /** 0-100 of this run, with a short message. */
  onProgress?: (percent: number, message?: string) => void;
}

/** A file a run produced. `role` names it in the job's outputs (`image`, `video`, `audio`, `alignment`). */
export interface ProducedFile {
  path: string;
  role: 'image' | 'video' | 'audio' | 'alignment';
  contentType?: string;
}

export interface DirectResult {
  files: ProducedFile[];
  /** What the run reported for its cost (characters billed, compute seconds). */
  facts: RunFacts;
}

/** A provider that runs to the end in one call (local, ElevenLabs, avatar models through the clip pipeline). */
export interface DirectProvider {
  readonly kind: 'direct';
  readonly name: string;
  run(req: RunRequest): Promise<DirectResult>;
}

/** Where a remote run stands, from a status poll or a verified webhook. */
export type RemoteState =
  | { state: 'running'; percent?: number; message?: string }
  | { state: 'succeeded'; output: unknown; computeSec?: number | undefined }
  | { state: 'failed'; error: string }
  | { state: 'canceled' };

/** A provider with a queue: submit (with a webhook), poll status, cancel (Replicate, fal). */
export interface RemoteProvider {
  readonly kind: 'remote';
  readonly name: 'replicate' | 'fal';
  /**
   * Hands a local file to the provider (its file storage) and returns a URL its model can fetch.
   * Used for media params given as blob keys when the blob store cannot presign (filesystem).
   */
  hostFile(opts: { path: string; kind: MediaKind; signal: AbortSignal }): Promise<string>;
  /** Starts a run; `webhookUrl` (when set) is where the provider reports its completion. */
  submit(opts: {
    model: Model;
    input: Record<string, unknown>;
    webhookUrl: string | undefined;
    signal: AbortSignal;
  }): Promise<{ requestId: string }>;
  status(opts: { model: Model; requestId: string; signal: AbortSignal }): Promise<RemoteState>;
  cancel(opts: { model: Model; requestId: string }): Promise<void>;
}

export type GenerationProvider = DirectProvider | RemoteProvider;

/** A provider's own error: its message is what the job fails with. `retryable`: 429, 5xx, timeouts, network. */
export class ProviderError extends Error {
  override name = 'ProviderError';
  constructor(
    message: string,
    readonly retryable: boolean,
    opts: { cause?: unknown; status?: number | undefined } = {},
  ) {
    super(message, { cause: opts.cause });
    this.status = opts.status;
  }
  readonly status: number | undefined;
}

export function isProviderError(err: unknown): err is ProviderError {
  return err instanceof Error && err.name === 'ProviderError';
}
