// Test helpers for the compositor (not exported from the package barrel).
import type { Job } from '@reelbus/contracts';
import { JobNotFoundError, type HandlerContext, type JobStore } from '@reelbus/kit';
import { recordingContext, type PublishedRecord, type RecordingContext } from '@reelbus/kit/testing';

export type { PublishedRecord as Published } from '@reelbus/kit/testing';

/**
 * A HandlerContext that records what handlers publish into `published` (shared between contexts,
 * like one bus), validating data like the real bus does.
 */
export const fakeHandlerContext = (
  opts: { published?: PublishedRecord[]; bus?: Pick<HandlerContext, 'publish'> } = {},
): RecordingContext => recordingContext(opts);

/**
 * An in-memory JobStore with the pinned compare-and-set semantics. `beforeWrite` runs between the
 * read and the conditional write of every update attempt, so a test can line up two updates to
 * read the same revision and force the conflict path.
 */
export class MemoryJobStore implements JobStore {
  readonly kind = 'kv' as const;
  readonly docs = new Map<string, { job: Job; revision: number }>();
  conflicts = 0;
  constructor(private readonly beforeWrite: () => Promise<void> = async () => {}) {}

  async create(job: Job) {
    const existing = this.docs.get(job.id);
    if (existing) return { created: false, job: structuredClone(existing.job) };
    this.docs.set(job.id, { job: structuredClone(job), revision: 1 });
    return { created: true, job: structuredClone(job) };
  }
  async get(id: string) {
    const d = this.docs.get(id);
    return d ? structuredClone(d.job) : undefined;
  }
  async findByDedupeKey(key: string) {
    for (const d of this.docs.values()) if (d.job.dedupeKey === key) return structuredClone(d.job);
    return undefined;
  }
  async update(id: string, mutate: (job: Job) => Job | undefined): Promise<Job> {
    for (;;) {
      const d = this.docs.get(id);
      if (!d) throw new JobNotFoundError(id);
      const read = d.revision;
      const next = mutate(structuredClone(d.job));
      await this.beforeWrite();
      if (next === undefined) return structuredClone(d.job);
      const now = this.docs.get(id)!;
      if (now.revision !== read) {
        this.conflicts++;
        continue; // somebody wrote in between: re-read and re-apply
      }
      next.updatedAt = new Date().toISOString();
      this.docs.set(id, { job: structuredClone(next), revision: read + 1 });
      return structuredClone(next);
    }
  }
  async list() {
    return [...this.docs.values()].map((d) => structuredClone(d.job));
  }
  async delete(id: string) {
    this.docs.delete(id);
  }
  async close() {}
}
