import { TransientError } from '@reelbus/kit';
import { keyToken, type CasMap } from './cas-map.ts';

/**
 * Unfinished jobs per API key, counted across ingest replicas: one CasMap entry per key holds the
 * ids of the jobs it submitted that may still be running. Nothing has to report a job's end: when a
 * key reaches its limit, the listed jobs are looked up and the finished (or deleted) ones dropped.
 */

export type ReservationPlan = 'have' | 'add' | 'full';

/** Pure: does `jobId` already hold a slot, can it take one, or is the key at its limit? */
export function planReservation({
  active,
  jobId,
  limit,
}: {
  active: readonly string[];
  jobId: string;
  limit: number;
}): ReservationPlan {
  if (active.includes(jobId)) return 'have';
  return active.length < limit ? 'add' : 'full';
}

const MAX_ATTEMPTS = 20;

export type Reservation = { ok: true } | { ok: false; active: number; limit: number };

export class ActiveJobs {
  constructor(
    private readonly map: CasMap,
    /** True while the job exists and has not finished. */
    private readonly isActive: (jobId: string) => Promise<boolean>,
  ) {}

  private entryKey = (keyName: string) => `active.${keyToken(keyName)}`;

  private async read(keyName: string): Promise<{ ids: string[]; revision: number }> {
    const e = await this.map.get(this.entryKey(keyName));
    if (!e) return { ids: [], revision: 0 };
    const ids = JSON.parse(e.value) as unknown;
    return {
      ids: Array.isArray(ids) ? ids.filter((x): x is string => typeof x === 'string') : [],
      revision: e.revision,
    };
  }

  private async stillActive(ids: string[]): Promise<string[]> {
    const flags = await Promise.all(ids.map((id) => this.isActive(id)));
    return ids.filter((_, i) => flags[i]);
  }

  /** Takes a slot for `jobId` under `keyName`, unless the key already has `limit` unfinished jobs. */
  async reserve({
    keyName,
    jobId,
    limit,
  }: {
    keyName: string;
    jobId: string;
    limit: number;
  }): Promise<Reservation> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { ids, revision } = await this.read(keyName);
      const plan = planReservation({ active: ids, jobId, limit });
      if (plan === 'have') return { ok: true };
      if (plan === 'add') {
        if (await this.map.put(this.entryKey(keyName), JSON.stringify([...ids, jobId]), revision))
          return { ok: true };
        continue;
      }
      const active = await this.stillActive(ids);
      if (active.length === ids.length) return { ok: false, active: active.length, limit };
      // Some have finished: write the pruned list (or lose the race and read again), then decide again.
      await this.map.put(this.entryKey(keyName), JSON.stringify(active), revision);
    }
    throw new TransientError(
      `could not count the active jobs of API key "${keyName}" (too many concurrent updates)`,
    );
  }

  /** Gives back the slot of a job that was not created after all. */
  async release({ keyName, jobId }: { keyName: string; jobId: string }): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { ids, revision } = await this.read(keyName);
      if (!ids.includes(jobId)) return;
      const rest = ids.filter((id) => id !== jobId);
      if (await this.map.put(this.entryKey(keyName), JSON.stringify(rest), revision)) return;
    }
    throw new TransientError(
      `could not release a job slot of API key "${keyName}" (too many concurrent updates)`,
    );
  }

  /** The key's unfinished jobs now (finished ones are dropped from the count, not from storage). */
  async count(keyName: string): Promise<number> {
    const { ids } = await this.read(keyName);
    return (await this.stillActive(ids)).length;
  }
}
