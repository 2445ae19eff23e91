import type { MusicSource, ProjectMedia, Voice } from '@reelbus/contracts';
import type { ModelRegistry, ModelType } from '@reelbus/ai-generator/models';
import type { FieldIssue } from '../errors.ts';

/*
 * Model ids and params of a project, checked when they are written (POST/PATCH), not only when a render
 * plans its assets: an edit naming an unknown model, a model of the wrong type or params its schema
 * refuses gets a 400 naming the field path (`scenes[2].visual.model`), and nothing is stored. The
 * compositor's planner checks again at render time (the registry may have changed since the edit).
 *
 * Pure functions of the registry: each takes the part of the request that names models and the path
 * of that part in the request body.
 */

/** What each place in a project may generate. */
const WANTED: Record<'visual' | 'overlay' | 'voice' | 'music', ModelType[]> = {
  visual: ['image', 'video'],
  overlay: ['image'],
  voice: ['speech'],
  music: ['audio'],
};

type Registry = Pick<ModelRegistry, 'has' | 'get' | 'list' | 'validateParams'>;

/** A model id and the params it will run with, checked at `where` (e.g. `scenes[2].visual`). */
function checkModel(opts: {
  registry: Registry;
  where: string;
  id: string;
  params: Record<string, unknown>;
  role: keyof typeof WANTED;
}): FieldIssue[] {
  const { registry, where, id, params, role } = opts;
  const wanted = WANTED[role];
  if (!registry.has(id)) {
    const known = wanted.flatMap((t) => registry.list(t).map((m) => m.id));
    return [
      {
        field: `${where}.model`,
        message: `unknown model "${id}"; known: ${known.join(', ')} (GET /v1/models lists them)`,
      },
    ];
  }
  const model = registry.get(id);
  if (!wanted.includes(model.type)) {
    return [{ field: `${where}.model`, message: `"${id}" makes ${model.type}, not ${wanted.join(' or ')}` }];
  }
  const checked = registry.validateParams(id, params);
  if (checked.ok) return [];
  // Param issues are named `params.width`; under the place they were given.
  return checked.issues.map((i) => ({ field: `${where}.${i.field}`, message: i.message }));
}

/** A scene visual or overlay image given as `{ model, params }` (keys and URLs need no registry). */
export function mediaModelIssues(opts: {
  registry: Registry;
  where: string;
  media: ProjectMedia | undefined;
  role: 'visual' | 'overlay';
}): FieldIssue[] {
  const { registry, where, media, role } = opts;
  if (!media || !('model' in media)) return [];
  return checkModel({ registry, where, id: media.model, params: media.params, role });
}

/**
 * The project's voice. Its params are checked as one scene's voiceover will be made: a sample text
 * with the voice id, so a voice the model refuses (`voice.voice`) is named now.
 */
export function voiceModelIssues(opts: {
  registry: Registry;
  where: string;
  voice: Voice | undefined;
}): FieldIssue[] {
  const { registry, where, voice } = opts;
  if (!voice) return [];
  const issues = checkModel({
    registry,
    where,
    id: voice.model,
    params: { text: 'A sample.', ...(voice.voice ? { voice: voice.voice } : {}) },
    role: 'voice',
  });
  // The voice id is the model's `voice` param, but the project names it `voice.voice`.
  return issues.map((i) => (i.field === `${where}.params.voice` ? { ...i, field: `${where}.voice` } : i));
}

/** Generated music (`{ prompt, model }`): the model must make audio and take the prompt. */
export function musicModelIssues(opts: {
  registry: Registry;
  where: string;
  source: MusicSource | undefined;
}): FieldIssue[] {
  const { registry, where, source } = opts;
  if (!source || !('model' in source)) return [];
  const issues = checkModel({
    registry,
    where,
    id: source.model,
    params: { prompt: source.prompt },
    role: 'music',
  });
  return issues.map((i) => (i.field === `${where}.params.prompt` ? { ...i, field: `${where}.prompt` } : i));
}

/** What a scene brings, at `where` (`scenes[2]`, `scene`, or `''` for a scene PATCH body). */
export function sceneModelIssues(opts: {
  registry: Registry;
  where: string;
  scene: {
    visual?: ProjectMedia | undefined;
    overlay?: { image?: ProjectMedia | undefined } | null | undefined;
  };
}): FieldIssue[] {
  const { registry, where, scene } = opts;
  const at = (f: string) => (where ? `${where}.${f}` : f);
  return [
    ...mediaModelIssues({ registry, where: at('visual'), media: scene.visual, role: 'visual' }),
    ...mediaModelIssues({
      registry,
      where: at('overlay.image'),
      media: scene.overlay?.image ?? undefined,
      role: 'overlay',
    }),
  ];
}

/** Every model a new project names (POST /v1/projects). */
export function projectModelIssues(opts: {
  registry: Registry;
  project: {
    scenes: Array<Parameters<typeof sceneModelIssues>[0]['scene']>;
    voice?: Voice | undefined;
    music?: { source?: MusicSource | undefined } | undefined;
  };
}): FieldIssue[] {
  const { registry, project } = opts;
  return [
    ...project.scenes.flatMap((scene, i) => sceneModelIssues({ registry, where: `scenes[${i}]`, scene })),
    ...voiceModelIssues({ registry, where: 'voice', voice: project.voice }),
    ...musicModelIssues({ registry, where: 'music.source', source: project.music?.source }),
  ];
}
