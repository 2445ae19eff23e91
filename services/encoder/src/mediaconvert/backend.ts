import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import {
  CancelJobCommand,
  CreateJobCommand,
  GetJobCommand,
  MediaConvertClient,
  type CreateJobCommandInput,
  type Job,
  type MediaConvertClientConfig,
} from '@aws-sdk/client-mediaconvert';
import {
  describeError,
  isBlobNotFound,
  isPermanent,
  PermanentError,
  probe,
  runFfmpeg,
  S3BlobStore,
  TransientError,
  withSpan,
  withTempDir,
  type BlobStore,
  type MediaInfo,
} from '@reelbus/kit';
import { fitFilters } from '../filtergraph.ts';
import { recordMediaConvertEnd } from './metrics.ts';
import { finalVideoKey, type EncoderBackend, type RenderRequest, type RenderResult } from '../render.ts';
import {
  buildMediaConvertJob,
  checkExpressible,
  DEFAULT_MEDIACONVERT_RATES,
  estimateMediaConvertCostUsd,
  overlaySources,
  planMediaConvert,
  type MediaConvertPlan,
  type MediaConvertRates,
  type OverlaySource,
} from './build-job.ts';

export interface MediaConvertBackendOptions {
  /** Must be the S3 store: MediaConvert reads the inputs and writes the output there. */
  blobs: BlobStore;
  tmpDir: string;
  region: string;
  /** The account's MediaConvert endpoint (e.g. `https://mediaconvert.us-east-2.amazonaws.com`); the SDK's default when absent. */
  endpoint?: string;
  /** IAM role MediaConvert assumes to read/write the bucket. */
  roleArn: string;
  queue?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** First wait between GetJob polls; grows ×1.5 up to `pollMaxMs`. Default 2 s. */
  pollInitialMs?: number;
  pollMaxMs?: number;
  /** The whole job, submit to COMPLETE; past it the job is cancelled and the render retried. Default 30 min. */
  timeoutMs?: number;
  /** Per request to the MediaConvert API. Default 30 s. */
  requestTimeoutMs?: number;
  rates?: MediaConvertRates;
  defaultBitrateKbps?: number;
  stallTimeoutMs?: number;
}

/**
 * Renders a Timeline with AWS Elemental MediaConvert: pictures are pre-fitted to PNGs in S3, the job
 * is built by `buildMediaConvertJob`, submitted, and followed with GetJob (backoff) to COMPLETE or ERROR.
 * The output lands at `jobs/<jobId>/final.mp4` (Destination + NameModifier split, see `splitOutputUrl`).
 */
export class MediaConvertBackend implements EncoderBackend {
  readonly name = 'mediaconvert';
  readonly client: MediaConvertClient;
  readonly #opts: MediaConvertBackendOptions;
  readonly #bucket: string;

  constructor(opts: MediaConvertBackendOptions) {
    const { blobs, region, endpoint, credentials, requestTimeoutMs = 30_000 } = opts;
    if (!(blobs instanceof S3BlobStore)) {
      throw new Error(
        `the mediaconvert encoder backend needs BLOB_STORE=s3 (MediaConvert reads inputs from and writes the video to S3); the blob store is "${blobs.kind}"`,
      );
    }
    if (!opts.roleArn) throw new Error('the mediaconvert encoder backend needs MEDIACONVERT_ROLE_ARN');
    this.#opts = opts;
    this.#bucket = blobs.bucket;
    const config: MediaConvertClientConfig = {
      region,
      maxAttempts: 3,
      requestHandler: { requestTimeout: requestTimeoutMs, connectionTimeout: 5_000 },
      ...(endpoint ? { endpoint } : {}),
      ...(credentials ? { credentials } : {}),
    };
    this.client = new MediaConvertClient(config);
  }

  #url(key: string): string {
    return `s3://${this.#bucket}/${key}`;
  }

  async render({
    jobId,
    timeline,
    signal,
    logger,
    onProgress,
    onWarning,
  }: RenderRequest): Promise<RenderResult> {
    const {
      blobs,
      tmpDir,
      roleArn,
      queue,
      rates = DEFAULT_MEDIACONVERT_RATES,
      defaultBitrateKbps,
    } = this.#opts;
    const started = Date.now();
    // Refuse before any upload or request.
    const plan = planMediaConvert({ timeline });
    checkExpressible({ plan, allowDegradation: timeline.allowDegradation });

    const inputs: Record<string, string> = {};
    for (const { key, field } of mediaKeys(plan)) {
      const info = await blobs.stat(key);
      if (!info)
        throw new PermanentError(`${field}: "${key}" is not in blob storage; upload it or fix the key`, {
          step: 'encode',
        });
      inputs[key] = this.#url(key);
    }
    const sources = overlaySources(plan);
    if (sources.length > 0) {
      await withTempDir(
        `reelbus-mediaconvert-${jobId}`,
        async (dir) => {
          for (const source of sources) {
            const key = `jobs/${jobId}/encode/mediaconvert/${source.id}.png`;
            const png = await renderOverlayPng({ blobs, source, dir, ...(signal ? { signal } : {}) });
            await blobs.putFile(key, png, { contentType: 'image/png', retention: 'intermediate' });
            inputs[source.id] = this.#url(key);
          }
        },
        { tmpDir },
      );
    }

    const key = finalVideoKey(jobId);
    const { job, warnings } = buildMediaConvertJob({
      timeline,
      inputs,
      output: this.#url(key),
      role: roleArn,
      ...(queue ? { queue } : {}),
      ...(defaultBitrateKbps ? { defaultBitrateKbps } : {}),
      userMetadata: { reelbusJobId: jobId },
    });
    for (const w of warnings) await onWarning?.(w);

    const id = await this.#submitOrAdopt({ jobId, job, ...(signal ? { signal } : {}), logger });
    await this.#follow({
      id,
      ...(signal ? { signal } : {}),
      ...(onProgress ? { onProgress } : {}),
      logger,
    });

    // Probe what MediaConvert wrote, so video.encoded carries real facts.
    const media: MediaInfo = await withTempDir(
      `reelbus-mediaconvert-out-${jobId}`,
      async (dir) => {
        const local = join(dir, 'final.mp4');
        try {
          await blobs.download(key, local);
        } catch (err) {
          if (isBlobNotFound(err)) {
            throw new TransientError(`MediaConvert job ${id} completed but "${key}" is not in the bucket`, {
              step: 'encode',
              cause: err,
            });
          }
          throw err;
        }
        return { ...(await probe(local)), file: key };
      },
      { tmpDir },
    );
    const imageCount = plan.overlays.length + (plan.base.kind === 'still' ? 1 : 0);
    return {
      key,
      media,
      encodeSeconds: (Date.now() - started) / 1000,
      costUsd: estimateMediaConvertCostUsd({
        durationSec: media.durationSec,
        imageCount,
        height: plan.height,
        rates,
      }),
    };
  }

  /**
   * Creates the MediaConvert job, unless an earlier delivery of this render already did (the encoder
   * crashed or lost the network while following it): then the job recorded at
   * `jobs/<id>/encode/mediaconvert/submitted.json` is followed instead of paying for a second one,
   * provided it was made from the same request and has not ended in ERROR/CANCELED. The record is
   * written right after CreateJob; for a crash in between, CreateJob carries a ClientRequestToken
   * derived from the request, so MediaConvert answers a repeat within a minute with the first job.
   */
  async #submitOrAdopt({
    jobId,
    job,
    signal,
    logger,
  }: {
    jobId: string;
    job: CreateJobCommandInput;
    signal?: AbortSignal;
    logger?: RenderRequest['logger'];
  }): Promise<string> {
    const { blobs } = this.#opts;
    const recordKey = `jobs/${jobId}/encode/mediaconvert/submitted.json`;
    const requestHash = createHash('sha256').update(JSON.stringify(job)).digest('hex');
    const record = await readRecord(blobs, recordKey);
    let previous: string | undefined;
    if (record) {
      // A job MediaConvert no longer knows (purged after 90 days) is simply not there.
      const { Job: earlier } = await this.#send(
        'GetJob',
        () =>
          this.client
            .send(new GetJobCommand({ Id: record.id }), { abortSignal: signal })
            .catch((err: unknown) => {
              if (httpStatus(err) === 404) return { Job: undefined };
              throw err;
            }),
        record.id,
      );
      const ended = earlier?.Status === 'ERROR' || earlier?.Status === 'CANCELED';
      if (earlier && !ended && record.requestHash === requestHash) {
        logger?.info({ mediaConvertJobId: record.id, status: earlier.Status }, 'MediaConvert job adopted');
        return record.id;
      }
      previous = record.id;
    }
    // Same request (and same earlier job, if any) → same token: MediaConvert's idempotency window.
    const token = createHash('sha256')
      .update(`${jobId}\n${requestHash}\n${previous ?? ''}`)
      .digest('hex')
      .slice(0, 64);
    const submitted = await this.#send('CreateJob', () =>
      this.client.send(new CreateJobCommand({ ...job, ClientRequestToken: token }), { abortSignal: signal }),
    );
    const id = submitted.Job?.Id;
    if (!id) throw new TransientError('MediaConvert CreateJob returned no job id', { step: 'encode' });
    const next: SubmittedRecord = { id, requestHash, submittedAt: new Date().toISOString() };
    await blobs.put(recordKey, JSON.stringify(next), {
      contentType: 'application/json',
      retention: 'intermediate',
    });
    logger?.info({ mediaConvertJobId: id }, 'MediaConvert job submitted');
    return id;
  }

  /**
   * Follows the job to its end; when `signal` aborts (the reelbus job was cancelled, or the encoder
   * shuts down past its grace period) at any point, in a wait or mid-request, the MediaConvert job
   * is cancelled too (CancelJob): MediaConvert bills by output minute, and nothing will collect the
   * result. A shutdown's redelivery submits anew.
   */
  async #follow(opts: {
    id: string;
    signal?: AbortSignal;
    onProgress?: (pct: number) => void;
    logger?: RenderRequest['logger'];
  }): Promise<Job> {
    try {
      return await this.#poll(opts);
    } catch (err) {
      const { signal } = opts;
      if (!signal?.aborted) throw err;
      await this.#cancel(opts.id, opts.logger);
      // the abort's own reason (a JobCancelledError, the shutdown's), not the SDK's AbortError wrapped as a failed call
      throw signal.reason instanceof Error ? signal.reason : err;
    }
  }

  /** CancelJob, without the (aborted) signal; a failure is logged, never thrown over the abort. */
  async #cancel(id: string, logger?: RenderRequest['logger']): Promise<void> {
    try {
      await this.#send('CancelJob', () => this.client.send(new CancelJobCommand({ Id: id })), id);
      logger?.info({ mediaConvertJobId: id }, 'MediaConvert job cancelled');
    } catch (err) {
      logger?.warn(
        { mediaConvertJobId: id, err: describeError(err) },
        'cancelling the MediaConvert job failed',
      );
    }
  }

  /** Polls GetJob with backoff until COMPLETE; ERROR/CANCELED are permanent with MediaConvert's own message. */
  async #poll({
    id,
    signal,
    onProgress,
  }: {
    id: string;
    signal?: AbortSignal;
    onProgress?: (pct: number) => void;
  }): Promise<Job> {
    const { pollInitialMs = 2_000, pollMaxMs = 15_000, timeoutMs = 30 * 60_000 } = this.#opts;
    const deadline = Date.now() + timeoutMs;
    let delay = pollInitialMs;
    for (;;) {
      const { Job: job } = await this.#send(
        'GetJob',
        () => this.client.send(new GetJobCommand({ Id: id }), { abortSignal: signal }),
        id,
      );
      if (!job) throw new TransientError(`MediaConvert GetJob ${id} returned no job`, { step: 'encode' });
      switch (job.Status) {
        case 'COMPLETE':
          recordMediaConvertEnd('complete');
          onProgress?.(100);
          return job;
        case 'ERROR':
          recordMediaConvertEnd('error');
          throw new PermanentError(
            `MediaConvert job ${id} failed: ${job.ErrorMessage ?? 'no message'}${job.ErrorCode !== undefined ? ` (error code ${job.ErrorCode})` : ''}`,
            { step: 'encode' },
          );
        case 'CANCELED':
          recordMediaConvertEnd('canceled');
          throw new PermanentError(`MediaConvert job ${id} was cancelled outside reelbus`, {
            step: 'encode',
          });
        default:
          onProgress?.(job.JobPercentComplete ?? 0);
      }
      if (Date.now() + delay > deadline) {
        recordMediaConvertEnd('timed_out');
        await this.#send('CancelJob', () => this.client.send(new CancelJobCommand({ Id: id })), id).catch(
          () => undefined,
        );
        throw new TransientError(
          `MediaConvert job ${id} did not complete within ${Math.round(timeoutMs / 1000)} s; cancelled`,
          {
            step: 'encode',
          },
        );
      }
      await waitMs(delay, signal); // an abort here cancels the job (see #follow)
      delay = Math.min(pollMaxMs, Math.round(delay * 1.5));
    }
  }

  /**
   * One API call in a CLIENT span (`MediaConvert <op>`); the SDK retries throttling/5xx itself. A 4xx
   * (bad settings, role) is permanent, with MediaConvert's message.
   */
  async #send<T>(op: string, call: () => Promise<T>, jobId?: string): Promise<T> {
    const attributes = {
      'rpc.system': 'aws-api',
      'rpc.service': 'MediaConvert',
      'rpc.method': op,
      'cloud.region': this.#opts.region,
      ...(jobId ? { 'aws.mediaconvert.job_id': jobId } : {}),
    };
    return withSpan(
      `MediaConvert ${op}`,
      attributes,
      async () => {
        try {
          return await call();
        } catch (err) {
          const status = httpStatus(err);
          const message = `MediaConvert ${op} failed: ${describeError(err)}`;
          if (status !== undefined && status >= 400 && status < 500 && status !== 429) {
            throw new PermanentError(message, { step: 'encode', cause: err });
          }
          throw new TransientError(message, { step: 'encode', cause: err });
        }
      },
      { kind: 'client' },
    );
  }
}

/** Every blob the job reads directly (audio, base video), with the field naming it. */
function mediaKeys(plan: MediaConvertPlan): { key: string; field: string }[] {
  const out: { key: string; field: string }[] = [];
  if (plan.base.kind === 'video') out.push({ key: plan.base.key, field: `${plan.base.path}.source.key` });
  for (const a of [plan.voice, plan.music])
    if (a) out.push({ key: a.track.source.key, field: `${a.path}.source.key` });
  return out;
}

/** A PNG of `source` fitted to its rect (transparent letterbox for `contain`), as ImageInserter wants. */
async function renderOverlayPng({
  blobs,
  source,
  dir,
  signal,
}: {
  blobs: BlobStore;
  source: OverlaySource;
  dir: string;
  signal?: AbortSignal;
}): Promise<string> {
  const out = join(dir, `${source.id}.png`);
  let input: string[];
  let filter: string;
  if (source.kind === 'color') {
    input = ['-f', 'lavfi', '-i', `color=c=${source.color}:size=${source.width}x${source.height}`];
    filter = 'format=rgb24';
  } else {
    const local = join(dir, `${source.id}-src`);
    try {
      await blobs.download(source.key, local);
    } catch (err) {
      if (isBlobNotFound(err)) {
        throw new PermanentError(
          `${source.field}: "${source.key}" is not in blob storage; upload it or fix the key`,
          {
            step: 'encode',
            cause: err,
          },
        );
      }
      throw err;
    }
    const info = await probe(local).catch((err: unknown) => {
      if (isPermanent(err)) {
        throw new PermanentError(
          `${source.field}: "${source.key}" is not a readable image (${describeError(err)})`,
          {
            step: 'encode',
            cause: err,
          },
        );
      }
      throw err;
    });
    if (!info.video)
      throw new PermanentError(`${source.field}: "${source.key}" has no picture`, { step: 'encode' });
    input = ['-i', local];
    filter = `${fitFilters(source.fit, source.width, source.height)},format=rgba`;
  }
  await runFfmpeg({
    step: 'encode',
    args: [...input, '-vf', filter, '-frames:v', '1', out],
    ...(signal ? { signal } : {}),
  });
  return out;
}

function waitMs(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** What `#submitOrAdopt` records after CreateJob. */
interface SubmittedRecord {
  id: string;
  requestHash: string;
  submittedAt: string;
}

async function readRecord(blobs: BlobStore, key: string): Promise<SubmittedRecord | undefined> {
  if (!(await blobs.stat(key))) return undefined;
  try {
    const doc = JSON.parse(await text(await blobs.get(key))) as Partial<SubmittedRecord>;
    return typeof doc.id === 'string' && typeof doc.requestHash === 'string'
      ? (doc as SubmittedRecord)
      : undefined;
  } catch {
    return undefined; // unreadable: submit anew
  }
}

function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}
