import { z } from 'zod';
import { env } from '@reelbus/kit';

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
});
export type CompositorConfig = z.infer<typeof CompositorEnv>;
