import type { EventOf, EventType } from '@reelbus/contracts';
import type { BlobInfo, BlobStore, JobStore, Logger, Publisher } from '@reelbus/kit';
import type { ModelRegistry } from '@reelbus/ai-generator/models';
import type { IngestConfig } from './config.ts';

export type { BlobInfo, BlobStore, JobStore, Publisher, Logger };

/** A live subscription to one job's events. */
export interface JobWatch {
  stop(): void | Promise<void>;
}

/** The part of the kit `Bus` the ingest edge uses: publish, and watch one job's events live. */
export interface IngestBus extends Publisher {
  watchJob(jobId: string, onEvent: (event: EventOf<EventType>) => void): JobWatch | Promise<JobWatch>;
}

export interface IngestDeps {
  config: IngestConfig;
  bus: IngestBus;
  jobs: JobStore;
  blobs: BlobStore;
  logger: Logger;
  /** The model registry (MODELS_CONFIG); the shipped infra/models.yaml when absent. */
  models?: ModelRegistry;
}
