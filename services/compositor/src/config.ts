import { existsSync, statSync } from 'node:fs';
import { z } from 'zod';
import { env } from '@reelbus/kit';

const imageFile = env
  .string()
  .refine((p) => existsSync(p) && statSync(p).isFile(), 'is not a file on this machine (a PNG or JPEG path)')
  .optional();

/** The compositor's own settings (the kit runtime reads the shared ones). */
export const CompositorEnv = z.object({
  /** Size of a call video when the job does not ask for one (even numbers: yuv420p). */
  CALL_VIDEO_WIDTH: env
    .int({ min: 64, max: 3840 })
    .refine((n) => n % 2 === 0, 'must be even')
    .default(1280),
  CALL_VIDEO_HEIGHT: env
    .int({ min: 64, max: 2160 })
    .refine((n) => n % 2 === 0, 'must be even')
    .default(720),
  /**
   * The avatar provider of a call whose job names none: the same variable (and value) as the
   * ai-generator's. The compositor decides per job, and names the provider in every `clip.requested`.
   */
  AI_PROVIDER: env.enum(['local', 'fal']).default('local'),
  /**
   * How the `local` provider's speakers get on screen: `direct` draws them in the call's Timeline
   * (one encode, no clip files); `clips` renders each side to a clip through the ai-generator first,
   * as real providers do.
   */
  CALL_LOCAL_RENDER: env.enum(['direct', 'clips']).default('direct'),
  /** Faces drawn (direct) when the job brings none: the same variables as the ai-generator's. */
  DEFAULT_CALLER_IMAGE: imageFile,
  DEFAULT_CALLEE_IMAGE: imageFile,
  /** The model registry scene projects name models from (the shipped one when absent): the ai-generator's file. */
  MODELS_CONFIG: env.string().optional(),
});
export type CompositorConfig = z.infer<typeof CompositorEnv>;
