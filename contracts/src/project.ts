import { z } from 'zod';
import { BlobKey, HttpUrl } from './common.ts';
import { ASPECTS, Transition, type Aspect } from './timeline.ts';

/**
 * Scene projects (issue 13): a document of scenes (narration, visual, product overlay, transition),
 * a voice, music and brand settings, stored with a revision (kit DocumentStore, collection `projects`)
 * and compiled to a Timeline for a preview or a final render. Every field added later is optional
 * with a default, so stored projects stay valid.
 */

/** A scene id: letters, digits, `-`, `_` (safe in URLs and blob keys). */
export const SceneId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, "-" or "_"');

/** A project id (`prj_<random>`), safe as a KV key, a blob key segment and in URLs. */
export const ProjectId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,128}$/, 'must be 1-128 letters, digits, "-" or "_"');

/** Params of a model run (checked against the model's JSON Schema when the asset is made). */
const ModelParams = z.record(z.string(), z.unknown());

/**
 * Where a picture (or video, or music) comes from: a blob key, an http(s) URL (fetched into the
 * project's assets), or a model of the registry with its params (generated, kept with the project).
 */
export const ProjectMedia = z.union([
  z.strictObject({ key: BlobKey }),
  z.strictObject({ url: HttpUrl }),
  z.strictObject({
    model: z.string().min(1).max(100).describe('A model id from GET /v1/models'),
    params: ModelParams.default({}),
  }),
]);
export type ProjectMedia = z.infer<typeof ProjectMedia>;

export const OVERLAY_ANIMATIONS = ['fade', 'zoom', 'slide', 'none'] as const;

/** A product image drawn over a scene (the reference's overlay editor). */
export const Overlay = z.strictObject({
  image: ProjectMedia,
  enabled: z.boolean().default(true),
  position: z
    .strictObject({
      x: z.enum(['left', 'center', 'right']).default('right'),
      y: z.enum(['top', 'center', 'bottom']).default('bottom'),
    })
    .prefault({}),
  /** The overlay's size as a share of the frame (same aspect as the frame), 0.1–0.8. */
  scale: z.number().min(0.1).max(0.8).default(0.3),
  animation: z.enum(OVERLAY_ANIMATIONS).default('fade'),
});
export type Overlay = z.infer<typeof Overlay>;

/** The longest scene (seconds). */
export const MAX_SCENE_SEC = 300;
/** The most scenes a project holds. */
export const MAX_SCENES = 200;

export const Scene = z.strictObject({
  id: SceneId,
  /** Spoken over the scene (voiced per scene, cached by text, voice and model); empty = no voiceover. */
  narration: z.string().max(5000).default(''),
  visual: ProjectMedia,
  /** Seconds; default: the narration's voiceover length plus a pause, at least 2 s. */
  duration: z.number().positive().max(MAX_SCENE_SEC).optional(),
  overlay: Overlay.optional(),
  /**
   * The transition into the next scene: it overlaps the two (the video is shorter by its length). On
   * the last scene it is kept (a reorder may move the scene) but not rendered.
   */
  transition: Transition.optional(),
  /** Bumped by `POST …/voiceover` to make a new take of this scene's voiceover. */
  voiceTake: z.number().int().nonnegative().default(0),
});
export type Scene = z.infer<typeof Scene>;
export type SceneInput = z.input<typeof Scene>;

export const Voice = z.strictObject({
  /** A speech model of the registry. */
  model: z.string().min(1).max(100).default('local-speech'),
  /** The model's voice id (its `voice` param); the model's default when absent. */
  voice: z.string().min(1).max(100).optional(),
});
export type Voice = z.infer<typeof Voice>;

/** Music moods (the local music model's). */
export const PROJECT_MUSIC_MOODS = [
  'adventurous',
  'family',
  'nostalgic',
  'reflective',
  'calm',
  'upbeat',
] as const;

export const MusicSource = z.union([
  z.strictObject({ mood: z.enum(PROJECT_MUSIC_MOODS) }),
  z.strictObject({
    prompt: z.string().min(1).max(1000),
    /** An audio model of the registry that takes a `prompt`. */
    model: z.string().min(1).max(100),
  }),
  z.strictObject({ key: BlobKey }),
]);
export type MusicSource = z.infer<typeof MusicSource>;

/** The reference's default music volume (≈ −16.5 dB under the narration). */
export const DEFAULT_MUSIC_VOLUME = 0.15;

export const Music = z.strictObject({
  enabled: z.boolean().default(true),
  source: MusicSource.default({ mood: 'calm' }),
  /** 0–1: after loudness-normalising the music to the narration, gainDb = 20·log10(volume). 0 = silent. */
  volume: z.number().min(0).max(1).default(DEFAULT_MUSIC_VOLUME),
  /** Dip the music further under the narration while it speaks. */
  duck: z.boolean().default(true),
  /** Bumped by `POST …/music/regenerate`: a new take of generated music. */
  take: z.number().int().nonnegative().default(0),
});
export type Music = z.infer<typeof Music>;

const Color = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour like "#1a2b3c"');

const BrandCard = z.strictObject({
  text: z.string().min(1).max(200),
  duration: z.number().min(0.5).max(10).default(2),
});

export const Brand = z.strictObject({
  /** Background of the intro/outro cards. */
  color: Color.default('#101820'),
  /** Drawn in the centre of the intro and outro cards. */
  logo: z.union([z.strictObject({ key: BlobKey }), z.strictObject({ url: HttpUrl })]).optional(),
  intro: BrandCard.optional(),
  outro: BrandCard.optional(),
});
export type Brand = z.infer<typeof Brand>;

export const ProjectOutput = z.strictObject({
  aspect: z.enum(Object.keys(ASPECTS) as [Aspect, ...Aspect[]]).default('16:9'),
  /** The final render's short side (1080 = 1920×1080 at 16:9, 1080×1920 at 9:16). Previews are 480. */
  shortSide: z
    .number()
    .int()
    .min(144)
    .max(2160)
    .refine((n) => n % 2 === 0, { message: 'must be even (yuv420p)' })
    .default(1080),
  fps: z.number().int().min(10).max(60).default(30),
  /** A scene whose visual cannot be had renders over a plain card with a warning instead of failing. */
  allowPlaceholders: z.boolean().default(false),
});
export type ProjectOutput = z.infer<typeof ProjectOutput>;

/** The project's content: what edits change and renders compile (the stored document adds its history). */
export const Project = z
  .strictObject({
    title: z.string().min(1).max(200),
    scenes: z.array(Scene).min(1, 'a project needs at least one scene').max(MAX_SCENES),
    voice: Voice.prefault({}),
    music: Music.optional(),
    brand: Brand.optional(),
    output: ProjectOutput.prefault({}),
  })
  .superRefine(
    (p, ctx) => {
      if (!Array.isArray(p.scenes)) return;
      const seen = new Set<unknown>();
      p.scenes.forEach((s: unknown, i: number) => {
        const id = (s as { id?: unknown } | null)?.id;
        if (id === undefined) return;
        if (seen.has(id))
          ctx.addIssue({
            code: 'custom',
            path: ['scenes', i, 'id'],
            message: `repeats the scene id "${id}"`,
          });
        seen.add(id);
      });
    },
    { when: () => true },
  );
export type Project = z.infer<typeof Project>;
export type ProjectInput = z.input<typeof Project>;

/** One JSON patch operation as immer writes it (path as an array of keys). */
export const ProjectPatch = z.object({
  op: z.enum(['add', 'remove', 'replace']),
  path: z.array(z.union([z.string(), z.number()])),
  value: z.unknown().optional(),
});
export type ProjectPatch = z.infer<typeof ProjectPatch>;

/** One step of the undo history: the change and its inverse. */
export const HistoryEntry = z.object({
  /** What the change was (`PATCH scene s2`), for users. */
  label: z.string().max(200),
  at: z.iso.datetime(),
  patches: z.array(ProjectPatch),
  inverse: z.array(ProjectPatch),
});
export type HistoryEntry = z.infer<typeof HistoryEntry>;

/** The most undo steps kept (the oldest are dropped): keeps the stored document small. */
export const PROJECT_HISTORY_LIMIT = 50;

/** The stored document: the project and its bounded undo/redo history. */
export const ProjectDocument = z.object({
  project: Project,
  history: z
    .object({
      undo: z.array(HistoryEntry).max(PROJECT_HISTORY_LIMIT).default([]),
      redo: z.array(HistoryEntry).max(PROJECT_HISTORY_LIMIT).default([]),
    })
    .prefault({}),
});
export type ProjectDocument = z.infer<typeof ProjectDocument>;
export type ProjectDocumentInput = z.input<typeof ProjectDocument>;

/** Where a render of a project asks for it. */
export const ProjectRenderPreset = z.enum(['preview', 'final']);
export type ProjectRenderPreset = z.infer<typeof ProjectRenderPreset>;

/**
 * Where a project's own blobs live: its voiceovers, generated and fetched visuals, overlays and music
 * (`projects/<id>/assets/…`). Outside `jobs/`, so no job's retention sweep removes them; they are
 * removed with the project (`DELETE /v1/projects/:id`).
 */
export const projectBlobPrefix = (projectId: string): string => `projects/${projectId}/`;

export const PROJECT_ASSET_ROLES = ['voiceover', 'visual', 'overlay', 'music', 'logo'] as const;

/**
 * One asset a project render needs, at a key owned by the project (`projects/<id>/assets/…`), named by
 * what makes it, so an unchanged asset is found and reused, and a changed one gets a new key.
 */
export const ProjectAsset = z.object({
  /** Unique in one render: `voiceover:<sceneId>`, `visual:<sceneId>`, `overlay:<sceneId>`, `music`, `logo`. */
  id: z.string().min(1).max(200),
  role: z.enum(PROJECT_ASSET_ROLES),
  /** The scene it belongs to (voiceovers, visuals, overlays). */
  sceneId: SceneId.optional(),
  /** Where the asset is (or will be) stored. */
  key: BlobKey,
  /** What the asset holds. */
  media: z.enum(['image', 'video', 'audio']),
  /** How it is made: a model run, a fetched URL, or (music) a given blob loudness-normalised. */
  make: z.union([
    z.strictObject({ model: z.string().min(1).max(100), params: ModelParams }),
    z.strictObject({ url: HttpUrl }),
    z.strictObject({ key: BlobKey }),
  ]),
  /** Loudness-normalise the audio to the narration's level (voiceovers and music): EBU R128 −16 LUFS. */
  loudnessLufs: z.number().min(-40).max(-5).optional(),
});
export type ProjectAsset = z.infer<typeof ProjectAsset>;
