export type { JobStore } from './types.ts';
export { JobNotFoundError, isJobNotFound } from './errors.ts';
export { KvJobStore, dedupeIndexKey, type KvJobStoreOptions } from './kv.ts';
export { MongoJobStore, type MongoJobStoreOptions } from './mongo.ts';
export { DeletedJobs, DeletedJobRecord, DELETED_MAX_AGE_MS } from './deleted.ts';
