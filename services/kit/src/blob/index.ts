export type { BlobInfo, BlobStore, ByteRange, PutOptions } from './types.ts';
export {
  DEFAULT_RETENTION,
  RETENTIONS,
  RETENTION_TAG,
  conventionalRetention,
  effectiveRetention,
  formatTtl,
  jobBlobPrefix,
  jobIdOfKey,
  parseTtl,
  retentionTagging,
  type Retention,
  type RetentionPolicy,
} from './retention.ts';
export { BlobNotFoundError, isBlobNotFound, assertBlobKey } from './errors.ts';
export { contentTypeFor } from './content-type.ts';
export { FsBlobStore, type FsBlobStoreOptions } from './fs.ts';
export { S3BlobStore, classifyS3Error, type S3BlobStoreOptions } from './s3.ts';
export { createBlobStore, withLocalFile, type CreateBlobStoreOptions } from './create.ts';
export {
  blobOutcomeOfStatus,
  blobOutcomeOfFsError,
  recordBlobRequest,
  countS3Requests,
  type BlobOutcome,
} from './metrics.ts';
export {
  deleteJobBlobs,
  retentionDue,
  sweepJobBlobs,
  type RetentionDue,
  type RetentionJobView,
  type SweepResult,
} from './sweep.ts';
export {
  LIFECYCLE_RULE_PREFIX,
  applyLifecycleRules,
  lifecycleDays,
  lifecycleRules,
  mergeLifecycleRules,
  readLifecycleRules,
  type LifecyclePlan,
} from './lifecycle.ts';
