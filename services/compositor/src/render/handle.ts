import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import {
  describeProblems,
  resolveTimeline,
  TimelineProblemsError,
  type EventOf,
  type Problem,
  type SourceProbe,
  type TimelineRequest,
} from '@reelbus/contracts';
import {
  PermanentError,
  TransientError,
  describeError,
  isBlobNotFound,
  isJobCancelled,
  isPermanent,
  probe,
  redactUrl,
  safeFetch,
  withTempDir,
  type BlobStore,
  type HandlerContext,
  type HandlerOutcome,
} from '@reelbus/kit';
import { fetchedSourceKey, keyRefs, urlFetches, type UrlFetch } from './sources.ts';

export interface RenderResolveDeps {
  blobs: BlobStore;
  tmpDir: string;
  fetch: {
    /** Allow http and loopback / private / link-local URLs (tests, private networks). */
    allowPrivate: boolean;
    timeoutMs: number;
    maxBytes: number;
  };
}

/**
 * `render.requested` (job kind `render`): fetches every URL source through the kit's `safeFetch` into
 * `jobs/<jobId>/input/` (step `fetch`), probes every source (a missing or undecodable one fails the job
 * naming the field), resolves the `"auto"` starts and durations (`resolveTimeline`) and publishes
 * `timeline.ready` (id `timeline.ready:<jobId>`). Everything wrong with the sources is reported at once.
 */
export async function resolveRenderRequest({
  event,
  ctx,
  deps,
}: {
  event: EventOf<'render.requested'>;
  ctx: HandlerContext;
  deps: RenderResolveDeps;
}): Promise<HandlerOutcome> {
  const { blobs, tmpDir } = deps;
  const jobId = event.jobId;
  const timeline: TimelineRequest = event.data.timeline;
  const fetches = urlFetches(timeline);
  const fetched = new Map<string, string>(); // url → key
  try {
    if (fetches.length > 0) {
      await ctx.progress('fetch', 'started', 0, `fetching ${fetches.length} URL source(s)`, {
        phase: 'preparing',
      });
      const problems: Problem[] = [];
      for (const [n, f] of fetches.entries()) {
        try {
          fetched.set(f.url, await fetchSource({ fetch: f, jobId, deps, signal: ctx.signal }));
        } catch (err) {
          if (!isPermanent(err)) throw err;
          for (const path of f.paths) problems.push({ path, message: describeError(err) });
        }
        ctx.working();
        await ctx.progress('fetch', 'running', Math.round(((n + 1) / fetches.length) * 100));
      }
      if (problems.length) return fail(problems, 'fetch');
      await ctx.progress('fetch', 'completed', 100);
    }

    await ctx.progress('compose', 'started', 0, 'probing the sources', { phase: 'preparing' });
    const keys = new Map<string, string[]>(); // key → the fields that name it
    for (const [key, refs] of keyRefs(timeline))
      keys.set(
        key,
        refs.map((r) => r.path),
      );
    for (const f of fetches) {
      const key = fetched.get(f.url)!;
      keys.set(key, [...(keys.get(key) ?? []), ...f.paths]);
    }
    await mkdir(tmpDir, { recursive: true });
    const { probes, problems } = await withTempDir(
      `reelbus-render-probe-${jobId}`,
      (dir) => probeSources({ blobs, keys, dir, ctx }),
      { tmpDir },
    );
    if (problems.length) return fail(problems);

    let resolved;
    try {
      resolved = resolveTimeline({
        timeline,
        probe: (key) => probes.get(key),
        keyOf: (source) => ('url' in source ? fetched.get(source.url) : undefined),
      });
    } catch (err) {
      if (err instanceof TimelineProblemsError) return fail(err.problems);
      throw err;
    }
    await ctx.publish(
      'timeline.ready',
      jobId,
      { kind: 'render', timeline: resolved, ...(event.data.backend ? { backend: event.data.backend } : {}) },
      { id: `timeline.ready:${jobId}` },
    );
    await ctx.progress('compose', 'completed', 100);
    return { outcome: 'ok' };
  } catch (err) {
    if (isJobCancelled(err) || !isPermanent(err)) throw err;
    return { outcome: 'fail', step: 'compose', reason: describeError(err) };
  }
}

/** The job fails naming every bad field at once. */
function fail(problems: Problem[], step: 'fetch' | 'compose' = 'compose'): HandlerOutcome {
  return { outcome: 'fail', step, reason: `invalid timeline: ${describeProblems(problems)}` };
}

/**
 * Streams one URL through `safeFetch` (https only, no private addresses unless allowed, pinned,
 * bounded) into blob storage. A refusal, a 4xx or a body over the limit is permanent; network
 * failures, 5xx, 408 and 429 are transient.
 */
async function fetchSource({
  fetch: f,
  jobId,
  deps,
  signal,
}: {
  fetch: UrlFetch;
  jobId: string;
  deps: RenderResolveDeps;
  signal: AbortSignal;
}): Promise<string> {
  const shown = redactUrl(f.url);
  const res = await safeFetch({
    url: f.url,
    allowPrivate: deps.fetch.allowPrivate,
    timeoutMs: deps.fetch.timeoutMs,
    maxBytes: deps.fetch.maxBytes,
    headers: { accept: 'video/*, image/*, audio/*, */*' },
    signal,
  });
  if (!res.ok) {
    await res.body.cancel().catch(() => undefined);
    const message = `download failed: ${shown} answered HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
    const retry = res.status >= 500 || res.status === 408 || res.status === 429;
    throw retry
      ? new TransientError(message, { step: 'fetch' })
      : new PermanentError(message, { step: 'fetch' });
  }
  const key = fetchedSourceKey({
    jobId,
    index: f.index,
    url: res.url,
    contentType: res.headers.get('content-type'),
  });
  await deps.blobs.put(key, Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), {
    contentType: res.headers.get('content-type') ?? 'application/octet-stream',
  });
  return key;
}

/**
 * Probes every source once: in place on the filesystem store, else downloaded into `dir`. A key that
 * is not in blob storage, or a file ffprobe cannot read, is a problem of every field naming it.
 */
async function probeSources({
  blobs,
  keys,
  dir,
  ctx,
}: {
  blobs: BlobStore;
  keys: ReadonlyMap<string, string[]>;
  dir: string;
  ctx: HandlerContext;
}): Promise<{ probes: Map<string, SourceProbe>; problems: Problem[] }> {
  const probes = new Map<string, SourceProbe>();
  const problems: Problem[] = [];
  let n = 0;
  for (const [key, paths] of keys) {
    const problem = (message: string) => paths.forEach((path) => problems.push({ path, message }));
    let file = blobs.localPath(key);
    if (file === undefined) {
      file = join(dir, `source-${n++}`);
      try {
        await blobs.download(key, file);
      } catch (err) {
        if (isBlobNotFound(err)) {
          problem(`"${key}" is not in blob storage; upload it or fix the key`);
          continue;
        }
        throw err;
      }
    } else if (!(await blobs.stat(key))) {
      problem(`"${key}" is not in blob storage; upload it or fix the key`);
      continue;
    }
    try {
      const info = await probe(file);
      probes.set(key, {
        durationSec: info.durationSec,
        hasVideo: info.video !== undefined,
        hasAudio: info.audio !== undefined,
      });
    } catch (err) {
      if (!isPermanent(err)) throw err;
      problem(`"${key}" is not a readable image, video or audio file (${describeError(err)})`);
    }
    ctx.working();
  }
  return { probes, problems };
}
