import { join } from 'node:path';
import type { MediaOutput, Timeline } from '@reelbus/contracts';
import {
  aacAudioArgs,
  describeError,
  FASTSTART_ARGS,
  isBlobNotFound,
  isPermanent,
  PermanentError,
  probe,
  runFfmpeg,
  withTempDir,
  type BlobStore,
  type Logger,
} from '@reelbus/kit';

/** The deterministic key of a story's audio-only delivery. */
export function fallbackAudioKey(jobId: string): string {
  return `jobs/${jobId}/final-audio.m4a`;
}

/** The name of the Timeline audio track a story delivers when its video cannot be made. */
export const VOICE_TRACK = 'voice';

/** ffmpeg arguments: the track's span of `input` → the kit's delivery audio (AAC-LC 48 kHz stereo) as `.m4a`, moov first. */
export function buildAudioFallbackArgs({
  input,
  output,
  trimStart = 0,
  duration,
  bitrateKbps = 128,
}: {
  input: string;
  output: string;
  trimStart?: number;
  duration?: number;
  bitrateKbps?: number;
}): string[] {
  return [
    ...(trimStart > 0 ? ['-ss', String(trimStart)] : []),
    '-i',
    input,
    ...(duration !== undefined ? ['-t', String(duration)] : []),
    '-map',
    '0:a:0',
    '-vn',
    ...aacAudioArgs({ bitrateKbps }),
    ...FASTSTART_ARGS,
    '-f',
    'mp4',
    output,
  ];
}

/**
 * Transcodes the Timeline's `voice` track once to `jobs/<jobId>/final-audio.m4a` and returns it probed.
 * Permanent errors when there is no voice track or its blob is missing/unreadable.
 */
export async function renderAudioFallback({
  jobId,
  timeline,
  blobs,
  tmpDir,
  signal,
  logger,
}: {
  jobId: string;
  timeline: Timeline;
  blobs: BlobStore;
  tmpDir: string;
  signal?: AbortSignal;
  logger?: Logger;
}): Promise<MediaOutput> {
  const i = timeline.audio.findIndex((a) => a.name === VOICE_TRACK);
  const voice = timeline.audio[i];
  if (!voice) {
    throw new PermanentError(
      `the timeline has no audio track named "${VOICE_TRACK}" to deliver as audio only`,
      {
        step: 'encode',
      },
    );
  }
  const field = `audio[${i}].source.key`;
  return withTempDir(
    `reelbus-fallback-${jobId}`,
    async (dir) => {
      let input = blobs.localPath(voice.source.key);
      if (input === undefined) {
        input = join(dir, 'voice-src');
        try {
          await blobs.download(voice.source.key, input);
        } catch (err) {
          if (isBlobNotFound(err)) {
            throw new PermanentError(`${field}: "${voice.source.key}" is not in blob storage`, {
              step: 'encode',
              cause: err,
            });
          }
          throw err;
        }
      }
      const out = join(dir, 'final-audio.m4a');
      try {
        await runFfmpeg({
          step: 'encode',
          args: buildAudioFallbackArgs({
            input,
            output: out,
            trimStart: voice.trimStart,
            ...(voice.duration !== undefined ? { duration: voice.duration } : {}),
            bitrateKbps: timeline.output.audio.bitrateKbps,
          }),
          ...(signal ? { signal } : {}),
          ...(logger ? { logger } : {}),
        });
      } catch (err) {
        if (isPermanent(err)) throw err;
        throw new PermanentError(
          `${field}: "${voice.source.key}" could not be transcoded to audio (${describeError(err)})`,
          {
            step: 'encode',
            cause: err,
          },
        );
      }
      // Probe before storing: the fs store moves the file.
      const info = await probe(out);
      const key = fallbackAudioKey(jobId);
      await blobs.putFile(key, out, { contentType: 'audio/mp4', retention: 'output' });
      return { key, durationSec: info.durationSec, sizeBytes: info.sizeBytes, contentType: 'audio/mp4' };
    },
    { tmpDir },
  );
}
