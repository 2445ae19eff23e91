import type { S3Client } from '@aws-sdk/client-s3';
import { PermanentError } from '../errors.ts';
import { METRIC, METRIC_HELP, metrics } from '../health/metrics.ts';

/*
 * `reelbus_blob_requests_total{store, operation, outcome}`: what the blob-store error-rate alert
 * reads (infra/prometheus/). On S3 every HTTP request counts, retries included (like S3's own
 * 4xxErrors/5xxErrors request metrics); on the filesystem every call of the store.
 */

/** ok, or why not: the HTTP status class, or no answer at all. */
export type BlobOutcome = 'ok' | 'not_found' | 'client_error' | 'server_error' | 'network_error';

/**
 * Operations whose 404 is an answer, not an error: existence checks (`stat` → S3 HeadObject) and
 * the retention sweeper's look at a blob that may be gone already (`retentionOf` → GetObjectTagging).
 */
const EXISTENCE_CHECKS = new Set(['HeadObject', 'stat', 'GetObjectTagging', 'retentionOf']);

/**
 * The outcome of one request (pure). `status` undefined = no HTTP answer (refused, reset, timed
 * out). A 404 to an existence check is `not_found` (the answer "no"), any other 4xx a `client_error`
 * (a missing key that was expected, a bad range, credentials, a wrong bucket), 5xx a `server_error`.
 */
export function blobOutcomeOfStatus(opts: { operation: string; status: number | undefined }): BlobOutcome {
  const { operation, status } = opts;
  if (status === undefined) return 'network_error';
  if (status < 400) return 'ok';
  if (status === 404 && EXISTENCE_CHECKS.has(operation)) return 'not_found';
  return status < 500 ? 'client_error' : 'server_error';
}

/**
 * The outcome of a failed filesystem-store call (pure), in the same terms: a missing file, a
 * refused permission or a bad request (invalid range) is the caller's (`client_error`, like a
 * 404/403/416), anything else the disk's (`server_error`: EIO, ENOSPC, …).
 */
export function blobOutcomeOfFsError(err: unknown): BlobOutcome {
  const code = errnoOf(err);
  if (code === undefined)
    return err instanceof PermanentError || (err as { name?: string })?.name === 'BlobNotFoundError'
      ? 'client_error'
      : 'server_error';
  return ['ENOENT', 'ENOTDIR', 'EISDIR', 'EACCES', 'EPERM', 'ENAMETOOLONG'].includes(code)
    ? 'client_error'
    : 'server_error';
}

/** The errno code of `err` or of the error it wraps. */
function errnoOf(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 5; i++) {
    if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return e.code;
    e = e.cause as typeof e;
  }
  return undefined;
}

/** Counts one blob-store request. */
export function recordBlobRequest(opts: {
  store: 'fs' | 's3';
  operation: string;
  outcome: BlobOutcome;
}): void {
  const { store, operation, outcome } = opts;
  metrics.add(
    METRIC.blobRequests,
    { store, operation, outcome },
    1,
    'counter',
    METRIC_HELP[METRIC.blobRequests],
  );
}

/** Runs one filesystem-store call and counts it (`notFound` tells a "no" answer from a result). */
export async function countFsRequest<T>(
  operation: string,
  fn: () => Promise<T>,
  notFound: (result: T) => boolean = () => false,
): Promise<T> {
  let result: T;
  try {
    result = await fn();
  } catch (err) {
    recordBlobRequest({ store: 'fs', operation, outcome: blobOutcomeOfFsError(err) });
    throw err;
  }
  recordBlobRequest({ store: 'fs', operation, outcome: notFound(result) ? 'not_found' : 'ok' });
  return result;
}

/**
 * Counts every HTTP request `client` sends, by command (`GetObject`, `PutObject`, `UploadPart`, …)
 * and outcome. The middleware sits in the finalizeRequest step below the SDK's retry middleware,
 * so each attempt counts once, and sees the status of the response or of the error it became.
 */
export function countS3Requests(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      try {
        const out = await next(args);
        const status = (out.response as { statusCode?: number } | undefined)?.statusCode ?? 200;
        recordBlobRequest({ store: 's3', operation, outcome: blobOutcomeOfStatus({ operation, status }) });
        return out;
      } catch (err) {
        const e = err as { $metadata?: { httpStatusCode?: number }; $response?: { statusCode?: number } };
        const status = e.$metadata?.httpStatusCode ?? e.$response?.statusCode;
        recordBlobRequest({ store: 's3', operation, outcome: blobOutcomeOfStatus({ operation, status }) });
        throw err;
      }
    },
    { step: 'finalizeRequest', priority: 'low', name: 'reelbusBlobRequestMetrics' },
  );
}
