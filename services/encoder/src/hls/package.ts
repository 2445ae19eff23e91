import { readFile, readdir, stat, writeFile, mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { MediaOutput } from '@reelbus/contracts';
import { runFfmpeg, withTempDir, type BlobStore, type Logger } from '@reelbus/kit';
import { probeClip } from '../merge/probe.ts';
import { rational } from '../merge/probe.ts';
import {
  avc1Codec,
  buildHlsArgs,
  hlsLadder,
  masterPlaylist,
  fixTargetDuration,
  mediaSegments,
  mp4aCodec,
  type VariantInfo,
} from './ladder.ts';

export const HLS_CONTENT_TYPES: Record<string, string> = {
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.m4s': 'video/iso.segment',
  '.mp4': 'video/mp4',
};

/** Where a job's HLS lives: `jobs/<jobId>/hls/master.m3u8` and one folder per rendition. */
export function hlsPrefix(jobId: string): string {
  return `jobs/${jobId}/hls/`;
}

/**
 * Writes the HLS ladder of a rendered MP4 to `jobs/<jobId>/hls/` (master.m3u8, `<rendition>/index.m3u8`,
 * `init.mp4`, `seg_NNN.m4s`) and returns it as the job's `hls` output. The encoder calls it after the
 * final MP4 exists when the Timeline's `output.formats` asks for "hls".
 */
export async function packageHls({
  input,
  jobId,
  blobs,
  tmpDir,
  preset,
  segmentSec = 4,
  signal,
  logger,
  onProgress,
}: {
  /** The rendered MP4 on local disk. */
  input: string;
  jobId: string;
  blobs: BlobStore;
  tmpDir: string;
  preset?: string;
  segmentSec?: number;
  signal?: AbortSignal;
  logger?: Logger;
  onProgress?: (percent: number) => void;
}): Promise<MediaOutput> {
  const source = await probeClip({ file: input, index: 0, label: 'final.mp4', shown: input });
  const v = source.video;
  if (!v) throw new Error(`packageHls: ${input} has no video stream`);
  const fps = rational(v.frameRate);
  const renditions = hlsLadder({ width: v.width, height: v.height });
  await mkdir(tmpDir, { recursive: true });
  return withTempDir(
    `reelbus-hls-${jobId}`,
    async (dir) => {
      for (const r of renditions) await mkdir(join(dir, r.name), { recursive: true });
      await runFfmpeg({
        step: 'hls',
        args: buildHlsArgs({
          input,
          renditions,
          dir,
          fps,
          segmentSec,
          audio: Boolean(source.audio),
          ...(preset ? { preset } : {}),
        }),
        durationSec: v.durationSec,
        ...(onProgress ? { onProgress: (p) => p.percent !== undefined && onProgress(p.percent) } : {}),
        ...(signal ? { signal } : {}),
        ...(logger ? { logger } : {}),
      });
      const variants: VariantInfo[] = [];
      for (const r of renditions) {
        const written = await readFile(join(dir, r.name, 'index.m3u8'), 'utf8');
        const playlist = fixTargetDuration(written);
        if (playlist !== written) await writeFile(join(dir, r.name, 'index.m3u8'), playlist);
        const segments = mediaSegments(playlist);
        let peak = 0;
        let bytes = 0;
        let seconds = 0;
        for (const s of segments) {
          const size = (await stat(join(dir, r.name, s.uri))).size;
          bytes += size;
          seconds += s.durationSec;
          // A last segment shorter than a second would overstate the peak.
          if (s.durationSec >= Math.min(1, segmentSec)) peak = Math.max(peak, (size * 8) / s.durationSec);
        }
        const made = await probeClip({
          file: join(dir, r.name, 'init.mp4'),
          index: 0,
          label: r.name,
          shown: r.name,
        });
        const codecs = [
          avc1Codec(made.video?.extradata ?? ''),
          ...(made.audio ? [mp4aCodec(made.audio.aac?.objectType ?? 2)] : []),
        ].join(',');
        variants.push({
          uri: `${r.name}/index.m3u8`,
          bandwidth: peak || (bytes * 8) / (seconds || 1),
          averageBandwidth: (bytes * 8) / (seconds || 1),
          width: r.width,
          height: r.height,
          codecs,
          frameRate: fps,
        });
      }
      await writeFile(join(dir, 'master.m3u8'), masterPlaylist(variants));
      // Upload every file (rendition folders first, the master last: a master that exists is complete).
      const prefix = hlsPrefix(jobId);
      let total = 0;
      for (const r of renditions) {
        for (const f of await readdir(join(dir, r.name))) {
          const ext = f.slice(f.lastIndexOf('.'));
          const info = await blobs.putFile(`${prefix}${r.name}/${f}`, join(dir, r.name, f), {
            contentType: HLS_CONTENT_TYPES[ext] ?? 'application/octet-stream',
          });
          total += info.size;
        }
      }
      const master = await blobs.putFile(`${prefix}master.m3u8`, join(dir, 'master.m3u8'), {
        contentType: HLS_CONTENT_TYPES['.m3u8']!,
      });
      logger?.info(
        { jobId, renditions: renditions.map((r) => r.name) },
        `HLS written to ${prefix}${basename('master.m3u8')}`,
      );
      return {
        key: `${prefix}master.m3u8`,
        durationSec: v.durationSec,
        sizeBytes: total + master.size,
        width: v.width,
        height: v.height,
        contentType: HLS_CONTENT_TYPES['.m3u8']!,
        fps,
      };
    },
    { tmpDir },
  );
}

/** `packageHls` for an MP4 in blob storage: read in place on the filesystem store, else downloaded first. */
export async function packageHlsOfBlob(
  opts: Omit<Parameters<typeof packageHls>[0], 'input'> & { key: string },
): Promise<MediaOutput> {
  const { key, blobs, tmpDir, jobId, ...rest } = opts;
  const local = blobs.localPath(key);
  if (local) return packageHls({ ...rest, input: local, jobId, blobs, tmpDir });
  await mkdir(tmpDir, { recursive: true });
  return withTempDir(
    `reelbus-hls-src-${jobId}`,
    async (dir) => {
      const input = join(dir, 'final.mp4');
      await blobs.download(key, input);
      return packageHls({ ...rest, input, jobId, blobs, tmpDir });
    },
    { tmpDir },
  );
}
