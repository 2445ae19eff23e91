import type { EventOf, EventType, Names } from '@reelbus/contracts';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { BlobStore } from '../blob/types.ts';
import type { CancelJobResult } from '../bus/bus.ts';
import type { CancelJobOptions, ConsumeOptions, Consumer, Publisher } from '../bus/types.ts';
import type { DocumentStore, DocumentStoreOptions } from '../docs/types.ts';
import type { JobStore } from '../jobs/types.ts';

/** Settings every service reads from the environment (see runtime/config.ts for names and defaults). */
export interface BaseConfig {
  natsUrl: string[];
  namespace: string;
  logLevel: string;
  healthHost: string;
  /** 0 picks a free port (tests); the chosen port is logged and in `health.port`. */
  healthPort: number;
  otlpEndpoint: string | undefined;
  blobStore: 'fs' | 's3';
  blobDir: string;
  s3: { bucket: string | undefined; region: string; endpoint: string | undefined; forcePathStyle: boolean };
  jobStore: 'kv' | 'mongo';
  mongoUri: string | undefined;
  mongoDb: string;
  streamReplicas: number;
  shutdownGraceMs: number;
  concurrency: number;
  tmpDir: string;
  stallTimeoutMs: number;
  /** AckWait of every consumer: how long a crashed worker's message waits before redelivery. */
  ackWaitMs: number;
  /** Deliveries before a failing message is dead-lettered. */
  maxDeliver: number;
}

/** Minimal view of the bus that services use. */
export interface BusHandle extends Publisher {
  readonly names: Names;
  consume(opts: ConsumeOptions): Promise<Consumer>;
  isConnected(): boolean;
  /** A live view of one job's events (core NATS, nothing stored); `stop()` ends it. */
  watchJob(jobId: string, onEvent: (event: EventOf<EventType>) => void): { stop(): void };
  /** Cancels a job on every service (see `Bus.cancelJob`); the job document is the caller's to update. */
  cancelJob(jobId: string, opts?: CancelJobOptions): Promise<CancelJobResult>;
  /**
   * A live view of every job's events (core NATS, nothing stored); `ready` resolves once the server
   * has the subscription; `stop()` ends it.
   */
  watchEvents(onEvent: (event: EventOf<EventType>) => void): { stop(): void; ready: Promise<void> };
}

export interface ServiceRuntime<C> {
  name: string;
  /** The base settings plus the service's own (parsed by `configSchema`). */
  base: BaseConfig;
  config: C;
  logger: Logger;
  bus: BusHandle;
  blobs: BlobStore;
  jobs: JobStore;
  /**
   * Opens a collection of revisioned documents (reels, projects) on the job store's backend
   * (`JOB_STORE`: a KV bucket `<ns>_doc_<collection>` at `STREAM_REPLICAS`, or the MongoDB collection
   * `<collection>` in `MONGODB_DB`). Closed at shutdown. Throws a ConfigError for replicas the
   * nats-server cannot keep consistent.
   */
  openDocuments<S extends z.ZodType>(
    opts: DocumentStoreOptions<S>,
  ): Promise<DocumentStore<z.output<S>, z.input<S>>>;
  /** Runs on shutdown, after consumers stopped and before the connection drains (e.g. close an HTTP server). */
  onShutdown(fn: () => Promise<void> | void): void;
  /** Extra readiness checks shown on /readyz. */
  addReadinessCheck(name: string, check: () => boolean | Promise<boolean>): void;
}
