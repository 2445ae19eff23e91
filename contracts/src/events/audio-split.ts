import { z } from 'zod';
import { BlobKey, Seconds, SpeakerRole } from '../common.ts';
import { defineEvent } from '../envelope.ts';

export const AudioProbe = z.object({
  key: BlobKey,
  durationSec: Seconds,
  channels: z.number().int().positive(),
  sampleRate: z.number().int().positive(),
  codec: z.string(),
  sizeBytes: z.number().int().nonnegative(),
});

/** The call recording was probed and split into one file per speaker. */
export const AudioSplitV1 = defineEvent({
  type: 'audio.split',
  version: 1,
  description:
    'The recording was probed and split into one mono file per channel, in one ffmpeg pass. A channel that is silent for the whole call is flagged `silent`. Mono input yields one caller channel.',
  data: z.object({
    source: AudioProbe,
    mode: z.enum(['stereo', 'mono']),
    channels: z
      .array(
        z.object({
          role: SpeakerRole,
          key: BlobKey,
          durationSec: Seconds,
          silent: z.boolean(),
          /** Mean volume in dBFS as ffmpeg's volumedetect measured it. */
          meanVolumeDb: z.number().optional(),
        }),
      )
      .min(1)
      .max(2),
  }),
});
