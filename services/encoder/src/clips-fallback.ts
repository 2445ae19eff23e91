import type { MediaOutput } from '@reelbus/contracts';
import { probe, withLocalFile, type BlobStore } from '@reelbus/kit';

/*
 * Partial results for calls (issue 15 §3): when the split-screen video of a call cannot be made for
 * good, the speaker clips the provider made are delivered instead, each as a named output, and the
 * job completes with `fallback: clips_only`. The clips are copied to output keys
 * (`jobs/<id>/final-<name>.mp4`), since the originals are intermediates that retention removes.
 */

/** The output key of a delivered speaker clip (an output by the key convention: `final-*`). */
export function deliveredClipKey(jobId: string, name: string): string {
  return `jobs/${jobId}/final-${name}.mp4`;
}

/**
 * Copies each clip (`name → blob key`) to its output key and probes it. Throws (permanent:
 * `BlobNotFoundError`, or an unreadable file) when a clip cannot be delivered.
 */
export async function deliverClips(opts: {
  jobId: string;
  clips: Record<string, string>;
  blobs: BlobStore;
  tmpDir: string;
}): Promise<Record<string, MediaOutput>> {
  const { jobId, clips, blobs, tmpDir } = opts;
  const outputs: Record<string, MediaOutput> = {};
  for (const [name, key] of Object.entries(clips)) {
    const target = deliveredClipKey(jobId, name);
    outputs[name] = await withLocalFile({ blobs, key, tmpDir }, async (path) => {
      const media = await probe(path);
      // putFile moves a temp file it is handed; a blob's own path is copied (see the kit's blob README).
      const info = await blobs.putFile(target, path, { contentType: 'video/mp4', retention: 'output' });
      return {
        key: target,
        durationSec: media.durationSec,
        sizeBytes: info.size,
        contentType: 'video/mp4',
        ...(media.video ? { width: media.video.width, height: media.video.height } : {}),
      };
    });
  }
  return outputs;
}
