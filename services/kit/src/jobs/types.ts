import type { Job, JobKind, JobStatus } from '@reelbus/contracts';

/**
 * Job state: NATS JetStream KV (embedded default) or MongoDB. Both pass the same contract suite.
 * Updates are compare-and-set: `update` retries its mutation on a conflicting write.
 */
export interface JobStore {
  readonly kind: 'kv' | 'mongo';
  /**
   * Creates the job unless one with the same id (or the same `dedupeKey`) exists;
   * returns the stored job and whether this call created it.
   */
  create(job: Job): Promise<{ created: boolean; job: Job }>;
  get(id: string): Promise<Job | undefined>;
  /** The job with this dedupe key (e.g. `twilio:RE…`), if any. */
  findByDedupeKey(dedupeKey: string): Promise<Job | undefined>;
  /**
   * Applies `mutate` to a copy of the current document and writes it only if nobody wrote in between
   * (else re-reads and re-applies). `mutate` returns the new document, or undefined to leave it as is.
   * `updatedAt` is set by the store. Throws JobNotFoundError when the job does not exist.
   */
  update(id: string, mutate: (job: Job) => Job | undefined): Promise<Job>;
  /** Newest first. */
  list(opts?: { limit?: number; status?: JobStatus; kind?: JobKind }): Promise<Job[]>;
  /** Removes the job (no error when absent). */
  delete(id: string): Promise<void>;
  close(): Promise<void>;
}
