import { z } from 'zod';
import { env } from '@reelbus/kit';

/** The encoder's own settings (the kit runtime reads the shared ones). */
export const EncoderEnv = z.object({
  /** Backend used when `timeline.ready` names none. Only `ffmpeg` exists so far. */
  ENCODER_BACKEND: env.enum(['ffmpeg']).default('ffmpeg'),
  /** x264 preset for every render, overriding the Timeline's (e.g. `ultrafast` on a small machine). */
  ENCODER_PRESET: env
    .enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow'])
    .optional(),
});
export type EncoderConfig = z.infer<typeof EncoderEnv>;
