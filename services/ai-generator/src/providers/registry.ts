/** What the ai-generator knows about each model: where it runs, what it takes, how long its input may be. */
export interface ModelSpec {
  id: string;
  provider: 'fal' | 'local';
  /** Longest input audio the model accepts, seconds (Infinity when unlimited). */
  maxInputSec: number;
  /** Frame rate the model renders at. */
  fps: number;
  /** The input fields the model reads. */
  inputFields: readonly string[];
  /** Builds the model's input from hosted URLs. */
  buildInput(opts: { imageUrl: string; audioUrl: string; prompt: string }): Record<string, unknown>;
  /** Short note on where the limit comes from. */
  note: string;
}

const INFINITALK_FRAMES = 721;
const INFINITALK_FPS = 25;

export const MODELS: Record<string, ModelSpec> = {
  'fal-ai/infinitalk': {
    id: 'fal-ai/infinitalk',
    provider: 'fal',
    // 721 frames at 25 fps = 28.84 s; keep a frame of headroom so a rounded-up request never exceeds it
    maxInputSec: (INFINITALK_FRAMES - 1) / INFINITALK_FPS,
    fps: INFINITALK_FPS,
    inputFields: ['image_url', 'audio_url', 'prompt'],
    buildInput: ({ imageUrl, audioUrl, prompt }) => ({ image_url: imageUrl, audio_url: audioUrl, prompt }),
    note: 'fal model page: num_frames up to 721 at 25 fps (about 29 s)',
  },
  'fal-ai/flashtalk': {
    id: 'fal-ai/flashtalk',
    provider: 'fal',
    // No published limit was found; 20 s is a conservative assumption. Raise it when fal documents one.
    maxInputSec: 20,
    fps: 25,
    inputFields: ['image_url', 'audio_url'],
    buildInput: ({ imageUrl, audioUrl }) => ({ image_url: imageUrl, audio_url: audioUrl }),
    note: 'limit not published; 20 s assumed (conservative)',
  },
  local: {
    id: 'local',
    provider: 'local',
    maxInputSec: Number.POSITIVE_INFINITY,
    fps: 25,
    inputFields: [],
    buildInput: () => ({}),
    note: 'offline renderer, any length',
  },
};

/**
 * The registry entry for `id`. Unknown fal models get a generic entry (image_url + audio_url + prompt,
 * a conservative 20 s limit) so a new model can be tried from config alone.
 */
export function modelSpec(id: string): ModelSpec {
  const known = MODELS[id];
  if (known) return known;
  return {
    id,
    provider: 'fal',
    maxInputSec: 20,
    fps: 25,
    inputFields: ['image_url', 'audio_url', 'prompt'],
    buildInput: ({ imageUrl, audioUrl, prompt }) => ({ image_url: imageUrl, audio_url: audioUrl, prompt }),
    note: 'not in the registry: generic input and a conservative 20 s limit',
  };
}
