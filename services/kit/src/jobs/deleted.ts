// Deleted jobs (issue 15 §1, `DELETE /v1/jobs/:id`): a tombstone per deleted job id in the JetStream
// KV bucket `<namespace>_deleted`. The job's document, blobs and dead letters are gone; the tombstone
// holds only the id, when and who. It lets the notifier refuse to bring the document back (an event
// of the job still on its way, e.g. the `job.cancelled` of a running job deleted with `?cancel=true`)
// and lets the retention sweeper remove blobs a stopping handler wrote after the deletion.
import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';
import { z } from 'zod';
import { EVENTS_MAX_AGE_MS } from '../bus/streams.ts';
import { describeError, TransientError } from '../errors.ts';

/** How long a tombstone is kept: as long as events that could name the job. */
export const DELETED_MAX_AGE_MS = EVENTS_MAX_AGE_MS;

export const DeletedJobRecord = z.object({
  /** When the job was deleted. */
  at: z.iso.datetime(),
  /** Who asked (an API key name). */
  by: z.string().optional(),
});
export type DeletedJobRecord = z.infer<typeof DeletedJobRecord>;

/** The tombstones of deleted jobs. */
export class DeletedJobs {
  readonly #kv: KV;

  private constructor(kv: KV) {
    this.#kv = kv;
  }

  /** Opens (creating when missing) the bucket. */
  static async open(opts: { nc: NatsConnection; bucket: string; replicas?: number }): Promise<DeletedJobs> {
    const { nc, bucket, replicas = 1 } = opts;
    try {
      const kv = await new Kvm(nc).create(bucket, {
        history: 1,
        replicas,
        ttl: DELETED_MAX_AGE_MS,
        description: 'reelbus deleted jobs: one tombstone per deleted job id (no personal data)',
      });
      return new DeletedJobs(kv);
    } catch (err) {
      throw new TransientError(`cannot open the deleted-jobs KV bucket "${bucket}": ${describeError(err)}`, {
        cause: err,
      });
    }
  }

  /** Records that `jobId` was deleted (again: the first record stays). */
  async mark(jobId: string, record: DeletedJobRecord): Promise<DeletedJobRecord> {
    const existing = await this.get(jobId);
    if (existing) return existing;
    await this.#kv.put(jobId, JSON.stringify(DeletedJobRecord.parse(record)));
    return record;
  }

  /** The tombstone of `jobId`, when it was deleted. */
  async get(jobId: string): Promise<DeletedJobRecord | undefined> {
    const entry = await this.#kv.get(jobId);
    if (!entry || entry.operation !== 'PUT') return undefined;
    const parsed = DeletedJobRecord.safeParse(safeJson(entry.string()));
    return parsed.success ? parsed.data : { at: entry.created.toISOString() };
  }

  /** Jobs deleted at or after `since`, oldest first. */
  async deletedSince(since: Date): Promise<Array<{ jobId: string } & DeletedJobRecord>> {
    const out: Array<{ jobId: string } & DeletedJobRecord> = [];
    const keys = await this.#kv.keys();
    for await (const jobId of keys) {
      const record = await this.get(jobId);
      if (record && Date.parse(record.at) >= since.getTime()) out.push({ jobId, ...record });
    }
    return out.sort((a, b) => a.at.localeCompare(b.at));
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
