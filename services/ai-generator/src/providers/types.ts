import type { Logger } from '@reelbus/kit';

export type SpeakerRole = 'caller' | 'callee';

/** What a provider is asked for: one talking clip from one speaker's audio. */
export interface GenerateRequest {
  /** The speaker's audio on local disk. */
  audioPath: string;
  /** The face image on local disk (PNG/JPEG); providers that need none may ignore it. */
  imagePath: string | undefined;
  /** The audio's probed duration; the clip should last as long. */
  durationSec: number;
  /** Shown on the clip ('Caller', 'Callee', a name). */
  label: string;
  role: SpeakerRole;
  /** A scratch directory the provider writes its output into (the caller removes it). */
  outDir: string;
  signal: AbortSignal;
  /** 0-100 for this clip. */
  onProgress?: (percent: number, message?: string) => void;
  logger: Logger;
  /**
   * Hands a local input file to the outside world as a URL (e.g. a presigned S3 URL), or undefined when the
   * blob store cannot (filesystem store): providers that need URLs then upload the file themselves.
   */
  hostFile?: (opts: { path: string; kind: 'audio' | 'image' }) => Promise<string | undefined>;
}

export interface GeneratedClip {
  /** The video file, inside `outDir`. */
  file: string;
  durationSec: number;
  width: number;
  height: number;
}

/** A way to turn audio (+ a face) into a talking clip: fal.ai, the offline local renderer, … */
export interface AvatarProvider {
  readonly name: string;
  /** The model this provider runs (registry id); its entry holds the input limit. */
  readonly model: string;
  /**
   * True when the output already has the exact duration, size and audio of the request (the local renderer),
   * so no normalising pass is needed; false for remote models whose frame counts and sizes vary.
   */
  readonly exactOutput: boolean;
  generate(req: GenerateRequest): Promise<GeneratedClip>;
}
