import type { EventOf, EventType, ProjectDocument, ProjectDocumentInput, Reel } from '@reelbus/contracts';
import type {
  BlobInfo,
  BlobStore,
  DeadLetterBus,
  DocumentStore,
  JobStore,
  Logger,
  Metrics,
  Publisher,
} from '@reelbus/kit';
import type { ModelRegistry } from '@reelbus/ai-generator/models';
import type { IngestConfig } from './config.ts';
import type { JobOperations } from './jobs/operations.ts';
import type { CasMap } from './limits/cas-map.ts';

export type { BlobInfo, BlobStore, JobStore, Publisher, Logger };

/** A live subscription to one job's events. */
export interface JobWatch {
  stop(): void | Promise<void>;
}

/** The part of the kit `Bus` the ingest edge uses: publish, and watch one job's events live. */
export interface IngestBus extends Publisher {
  watchJob(jobId: string, onEvent: (event: EventOf<EventType>) => void): JobWatch | Promise<JobWatch>;
  /** Every job's events, live; `ready` resolves once nothing published from then on can be missed. */
  watchEvents(onEvent: (event: EventOf<EventType>) => void): JobWatch & { ready: Promise<void> };
}

/** Where the API limits count (NATS KV buckets in the service, shared by every replica). */
export interface LimitStores {
  /** Unfinished job ids per key. */
  activeJobs: CasMap;
  /** Request counters per key and minute (used when RATE_LIMIT_SCOPE=cluster). */
  requestCounts: CasMap;
}

export interface IngestDeps {
  config: IngestConfig;
  bus: IngestBus;
  jobs: JobStore;
  blobs: BlobStore;
  logger: Logger;
  /**
   * The kit's Bus for the operator routes (the dead-letter stream, retries: routes/operator.ts);
   * main.ts passes the runtime's. Without it (tests on the in-memory bus) those routes answer 503.
   */
  opsBus?: DeadLetterBus;
  /** Scene projects (collection `projects`); the project routes answer 503 without it. */
  projects?: DocumentStore<ProjectDocument, ProjectDocumentInput>;
  /** The model registry (MODELS_CONFIG); the shipped infra/models.yaml when absent. */
  models?: ModelRegistry;
  /** Reels (collection `reels` of the kit's DocumentStore); the reel routes answer 503 without it. */
  reels?: DocumentStore<Reel, Reel>;
  /** Default: in-memory maps, so the limits hold per process (tests). main.ts passes NATS KV. */
  limitStores?: LimitStores;
  /** Default: the process's kit metrics (served on /metrics). */
  metrics?: Metrics;
  /** Cancel and delete (the kit bus, dead letters, deleted-job tombstones); without it those routes answer 503. */
  operations?: JobOperations;
}
