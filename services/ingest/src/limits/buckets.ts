import type { NatsConnection } from '@nats-io/transport-node';
import type { LimitStores } from '../deps.ts';
import { KvCasMap } from './cas-map.ts';

/** The KV buckets of the API limits in a namespace: `<ns>_api_jobs` (kept) and `<ns>_api_rate` (2-minute TTL). */
export function usageBuckets(namespace: string): { activeJobs: string; requestCounts: string } {
  const ns = namespace.replace(/-/g, '_');
  return { activeJobs: `${ns}_api_jobs`, requestCounts: `${ns}_api_rate` };
}

/** Opens (creating when missing) the limit buckets, shared by every ingest replica. */
export async function openLimitStores(opts: {
  nc: NatsConnection;
  namespace: string;
  replicas: number;
}): Promise<LimitStores> {
  const { nc, namespace, replicas } = opts;
  const b = usageBuckets(namespace);
  const [activeJobs, requestCounts] = await Promise.all([
    KvCasMap.open({
      nc,
      bucket: b.activeJobs,
      replicas,
      description: 'reelbus: unfinished jobs per API key',
    }),
    KvCasMap.open({
      nc,
      bucket: b.requestCounts,
      replicas,
      ttlMs: 120_000,
      description: 'reelbus: requests per API key per minute',
    }),
  ]);
  return { activeJobs, requestCounts };
}
