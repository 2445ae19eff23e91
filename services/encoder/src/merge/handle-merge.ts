import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventOf } from '@reelbus/contracts';
import {
  describeError,
  isPermanent,
  withTempDir,
  type BlobStore,
  type HandlerContext,
  type HandlerOutcome,
} from '@reelbus/kit';
import { measureChildrenCpu } from '../child-cpu.ts';
import { finalVideoKey } from '../render.ts';
import { resolveMergeInputs, type MergeFetchSettings } from './inputs.ts';
import { mergeClips } from './merge.ts';

export interface MergeDeps {
  blobs: BlobStore;
  tmpDir: string;
  fetch: MergeFetchSettings;
  /** x264 preset of re-encoded clips (ENCODER_PRESET). */
  preset?: string;
  stallTimeoutMs?: number;
}

/** At most this many per-clip warnings go on the job; the rest are summed up in one line. */
const MAX_NOTES = 50;

/**
 * `merge.requested` → `jobs/<jobId>/final.mp4` and `video.encoded` (id `video.encoded:<jobId>`, with
 * `videoCount`), which the notifier turns into `job.completed`. Reports the `fetch` step (URL inputs)
 * and the `merge` step; says in `job.warning`s which clips were re-encoded and why. Bad inputs fail
 * the job naming the clip; ffmpeg and network failures are retried.
 */
export async function handleMergeRequested({
  event,
  ctx,
  deps,
}: {
  event: EventOf<'merge.requested'>;
  ctx: HandlerContext;
  deps: MergeDeps;
}): Promise<HandlerOutcome> {
  const { blobs, tmpDir, fetch, preset, stallTimeoutMs } = deps;
  const { jobId } = event;
  const { clips } = event.data;
  const progress = (step: string, status: 'started' | 'running' | 'completed', pct?: number, msg?: string) =>
    ctx
      .progress(step, status, pct, msg)
      .catch((err: unknown) => ctx.logger.warn({ err }, 'could not publish merge progress'));
  await mkdir(tmpDir, { recursive: true });
  try {
    return await withTempDir(
      `reelbus-merge-${jobId}`,
      async (dir) => {
        const urls = clips.filter((c) => 'url' in c).length;
        if (urls > 0) await progress('fetch', 'started', 0, `fetching ${urls} clips`);
        const inputs = await resolveMergeInputs({
          jobId,
          clips,
          blobs,
          dir,
          fetch,
          signal: ctx.signal,
          onFetched: (done, total) => {
            ctx.working();
            void progress('fetch', 'running', (100 * done) / total);
          },
        });
        if (urls > 0) await progress('fetch', 'completed', 100);
        await progress('merge', 'started', 0, `merging ${clips.length} clips`);
        const output = join(dir, 'final.mp4');
        const { result, cpuSeconds } = await measureChildrenCpu(() =>
          mergeClips({
            inputs,
            output,
            workDir: dir,
            signal: ctx.signal,
            logger: ctx.logger,
            ...(preset ? { preset } : {}),
            ...(stallTimeoutMs ? { stallTimeoutMs } : {}),
            onProgress: (pct, message) => {
              ctx.working();
              void progress('merge', 'running', Math.round(pct), message);
            },
          }),
        );
        const { media, notes, plan, timings } = result;
        for (const note of notes.slice(0, MAX_NOTES)) await ctx.warn('merge', note);
        if (notes.length > MAX_NOTES)
          await ctx.warn(
            'merge',
            `… and ${notes.length - MAX_NOTES} more clips were re-encoded or filled with silence`,
          );
        if (!media.video?.width || !media.video.height || !media.audio) {
          throw new Error(`the merge produced ${output} without a video and an audio stream`);
        }
        const key = finalVideoKey(jobId);
        await blobs.putFile(key, output, { contentType: 'video/mp4' });
        const encodeSeconds =
          (timings.probeMs + timings.normaliseMs + timings.joinMs + timings.verifyMs) / 1000;
        await ctx.publish(
          'video.encoded',
          jobId,
          {
            key,
            durationSec: media.durationSec,
            sizeBytes: media.sizeBytes,
            width: media.video.width,
            height: media.video.height,
            videoCodec: media.video.codec,
            audioCodec: media.audio.codec,
            backend: 'ffmpeg',
            encodeSeconds,
            ...(cpuSeconds !== undefined ? { cpuSeconds } : {}),
            videoCount: clips.length,
          },
          { id: `video.encoded:${jobId}` },
        );
        const reencoded = plan.clips.filter((c) => c.video === 'encode' || c.audio === 'encode').length;
        await progress(
          'merge',
          'completed',
          100,
          plan.mode === 'copy'
            ? `${clips.length} clips joined by stream copy`
            : `${reencoded} of ${clips.length} clips re-encoded, then joined by stream copy`,
        );
        return { outcome: 'ok' } as const;
      },
      { tmpDir },
    );
  } catch (err) {
    if (isPermanent(err)) {
      const step = (err as { step?: string }).step === 'fetch' ? 'fetch' : 'merge';
      return { outcome: 'fail', step, reason: describeError(err) };
    }
    throw err;
  }
}
