import { z } from 'zod';

/** What a model makes. `avatar` = audio + image → a talking video (the call pipeline's clips). */
export const MODEL_TYPES = ['image', 'video', 'audio', 'speech', 'avatar'] as const;
export type ModelType = (typeof MODEL_TYPES)[number];

export const PROVIDER_NAMES = ['local', 'replicate', 'fal', 'elevenlabs'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/**
 * How a provider bills a run:
 * - `run`: a flat price per run (per output image for Replicate's official image models);
 * - `output_second`: per second of output media (video and music models priced by length);
 * - `compute_second`: Replicate's hardware billing, `metrics.predict_time` × the hardware's rate per second;
 * - `1k_characters`: per thousand characters of input text (ElevenLabs).
 */
export const PRICING_UNITS = ['run', 'output_second', 'compute_second', '1k_characters'] as const;
export type PricingUnit = (typeof PRICING_UNITS)[number];

export const MEDIA_KINDS = ['image', 'audio', 'video'] as const;
export type MediaKind = (typeof MEDIA_KINDS)[number];

const Id = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._/-]{0,99}$/,
    'must be 1-100 lower-case letters, digits, ".", "_", "/" or "-", starting with a letter or digit',
  );

/** A provider field's value: a reelbus param (by name), or a constant. */
const InputValue = z.union([
  z.string().min(1),
  z.object({ param: z.string().min(1) }).strict(),
  z.object({ const: z.unknown() }).strict(),
]);

/** One model as the registry file describes it (params is a JSON Schema, checked with ajv separately). */
export const ModelEntrySchema = z
  .object({
    id: Id,
    type: z.enum(MODEL_TYPES),
    provider: z.enum(PROVIDER_NAMES),
    /** Replicate `owner/name` or `owner/name:version`, fal endpoint id, ElevenLabs `model_id`, local generator. */
    ref: z.string().min(1).max(200),
    description: z.string().max(500).optional(),
    /** JSON Schema (2020-12) of the accepted params, with defaults. */
    params: z.record(z.string(), z.unknown()),
    /** Params that name media (a blob key or an http(s) URL), and of what kind: handed to providers as URLs. */
    media: z.record(z.string(), z.enum(MEDIA_KINDS)).default({}),
    /** Provider field ← reelbus param name (or `{ const }`). Absent: params are passed under their own names. */
    input: z.record(z.string(), InputValue).optional(),
    /** Where the output's URL sits in the provider's result (dot path, e.g. `video.url`, `images.0.url`). */
    output: z
      .object({
        path: z.string().min(1).optional(),
        /** File extension of the output when the URL has none (e.g. `mp4`). */
        ext: z
          .string()
          .regex(/^[a-z0-9]{2,5}$/)
          .optional(),
      })
      .strict()
      .default({}),
    limits: z
      .object({
        /** Longest input audio the model takes, seconds (longer audio is cut at silences: avatars). */
        maxInputSec: z.number().positive().optional(),
        /** Frames per second the model renders. */
        fps: z.number().positive().max(240).optional(),
        /** Longest text one request takes (characters); longer text is split at sentences (speech). */
        maxChars: z.number().int().positive().optional(),
        /** Longest output the model makes, seconds. */
        maxOutputSec: z.number().positive().optional(),
      })
      .strict()
      .default({}),
    pricing: z
      .object({
        unit: z.enum(PRICING_UNITS),
        /** US dollars per unit (per run, per second, per 1000 characters). */
        price: z.number().nonnegative(),
        /** `output_second`: the param holding the asked length (default `duration`). */
        durationParam: z.string().min(1).optional(),
        /** `output_second` when no param says the length: the length assumed for the estimate. */
        assumedOutputSec: z.number().positive().optional(),
        /** `1k_characters`: the param holding the text (default `text`). */
        textParam: z.string().min(1).optional(),
        /** `compute_second`: the hardware, for people (e.g. "Nvidia A100 (80GB) GPU"). */
        hardware: z.string().max(100).optional(),
        /** Where the price was read, for people. */
        source: z.string().max(300).optional(),
      })
      .strict(),
    /** Typical wall time of one run, seconds (shown in the estimate). */
    estimatedTimeSec: z.number().positive(),
  })
  .strict();
export type ModelEntryInput = z.input<typeof ModelEntrySchema>;

export const RegistryFileSchema = z
  .object({
    version: z.literal(1, { error: 'must be 1 (the registry file format)' }),
    models: z.array(z.unknown()).min(1, 'must list at least one model'),
  })
  .strict();

/** A model, validated, with its params validator compiled. */
export interface Model extends Omit<z.infer<typeof ModelEntrySchema>, 'params'> {
  params: JsonSchemaObject;
}

export interface JsonSchemaObject {
  type: 'object';
  properties?: Record<string, Record<string, unknown>>;
  required?: string[];
  [k: string]: unknown;
}

/** A params problem: the JSON path of the field (e.g. `params.width`) and what is wrong. */
export interface ParamIssue {
  field: string;
  message: string;
}

/** What `GET /v1/models` shows of a model. */
export interface PublicModel {
  id: string;
  type: ModelType;
  provider: ProviderName;
  ref: string;
  description?: string | undefined;
  params: JsonSchemaObject;
  media: Record<string, MediaKind>;
  limits: Model['limits'];
  pricing: Model['pricing'];
  estimatedTimeSec: number;
}
