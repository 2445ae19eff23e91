import { createHash } from 'node:crypto';
import {
  projectBlobPrefix,
  type Project,
  type ProjectAsset,
  type ProjectMedia,
  type ProjectRenderPreset,
} from '@reelbus/contracts';
import { projectFrame } from './timeline.ts';

/*
 * Which assets a project render needs, as a pure decision. Each made asset lives at a key owned by the
 * project (`projects/<id>/assets/<role>-<hash>.<ext>`, never under `jobs/`, so no job sweep removes
 * it) named by a hash of what makes it: a voiceover by (text, voice, model, take), a generated visual by
 * (model, params), a fetched one by its URL, music by (source, take). An unchanged asset has the same
 * key, so the next render finds and reuses it; editing scene 2's narration changes scene 2's key only.
 */

/** The narration and music loudness: EBU R128 −16 LUFS (music then sits at 20·log10(volume) under it). */
export const PROJECT_LOUDNESS_LUFS = -16;
/** Seconds of generated music (looped under longer videos). */
export const MUSIC_SEC = 60;
/** The default music model for a mood. */
export const MOOD_MUSIC_MODEL = 'local-music';

/** What the planner needs to know of a model of the registry. */
export interface ModelFacts {
  type: string;
  /** Param names the model takes (to fill width/height from the project's frame). */
  params: string[];
}

/** A scene visual or overlay given directly as a blob key: used as it is. */
export interface DirectMedia {
  key: string;
  media: 'image' | 'video';
}

export interface AssetPlan {
  /** Assets made by a step (or found made by an earlier render). */
  assets: ProjectAsset[];
  /** Visuals, overlays and the logo given as blob keys, by asset id (`visual:<sceneId>` …). */
  direct: Record<string, DirectMedia>;
  /** Problems that fail the render before anything is made, naming the scene and field. */
  problems: string[];
}

const VIDEO_EXT = /\.(mp4|m4v|mov|webm|mkv)$/i;
const IMAGE_EXT = /\.(png|jpe?g|webp|gif|bmp|tiff?|heic)$/i;

/** Image or video, by a key's or URL path's extension (anything not a video extension is a picture). */
export function mediaOfPath(path: string): 'image' | 'video' {
  return VIDEO_EXT.test(path) ? 'video' : 'image';
}

const hash = (v: unknown) => createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 20);

function extOf(path: string, media: 'image' | 'video'): string {
  const m = /\.([a-z0-9]{2,5})$/i.exec(path);
  if (m && (VIDEO_EXT.test(path) || IMAGE_EXT.test(path))) return m[1]!.toLowerCase();
  return media === 'video' ? 'mp4' : 'png';
}

/** Every asset of one render of `project`. */
export function planAssets(opts: {
  projectId: string;
  project: Project;
  preset: ProjectRenderPreset;
  model: (id: string) => ModelFacts | undefined;
}): AssetPlan {
  const { projectId, project, model } = opts;
  const base = `${projectBlobPrefix(projectId)}assets`;
  const assets: ProjectAsset[] = [];
  const direct: Record<string, DirectMedia> = {};
  const problems: string[] = [];
  const frame = projectFrame(project.output);

  const picture = (
    id: string,
    role: 'visual' | 'overlay' | 'logo',
    media: ProjectMedia,
    where: string,
    sceneId?: string,
  ) => {
    if ('key' in media) {
      direct[id] = { key: media.key, media: role === 'visual' ? mediaOfPath(media.key) : 'image' };
      return;
    }
    if ('url' in media) {
      const kind = role === 'visual' ? mediaOfPath(new URL(media.url).pathname) : 'image';
      assets.push({
        id,
        role,
        ...(sceneId ? { sceneId } : {}),
        key: `${base}/${role}-${hash(['url', media.url])}.${extOf(new URL(media.url).pathname, kind)}`,
        media: kind,
        make: { url: media.url },
      });
      return;
    }
    const facts = model(media.model);
    if (!facts) {
      problems.push(`${where}.model: unknown model "${media.model}" (GET /v1/models lists them)`);
      return;
    }
    const wanted = role === 'visual' ? ['image', 'video'] : ['image'];
    if (!wanted.includes(facts.type)) {
      problems.push(`${where}.model: "${media.model}" makes ${facts.type}, not ${wanted.join(' or ')}`);
      return;
    }
    // Generated visuals at the frame's size (overlays square at half the short side) unless the params say.
    const size =
      role === 'visual'
        ? frame
        : {
            width: evenNum(Math.min(frame.width, frame.height) / 2),
            height: evenNum(Math.min(frame.width, frame.height) / 2),
          };
    const params: Record<string, unknown> = { ...media.params };
    if (facts.params.includes('width') && params.width === undefined) params.width = size.width;
    if (facts.params.includes('height') && params.height === undefined) params.height = size.height;
    const kind = facts.type as 'image' | 'video';
    assets.push({
      id,
      role,
      ...(sceneId ? { sceneId } : {}),
      key: `${base}/${role}-${hash(['model', media.model, params])}.${kind === 'video' ? 'mp4' : 'png'}`,
      media: kind,
      make: { model: media.model, params },
    });
  };

  const voiceModel = model(project.voice.model);
  if (!voiceModel) problems.push(`voice.model: unknown model "${project.voice.model}"`);
  else if (voiceModel.type !== 'speech')
    problems.push(`voice.model: "${project.voice.model}" makes ${voiceModel.type}, not speech`);

  project.scenes.forEach((scene, i) => {
    const text = scene.narration.trim();
    if (text && voiceModel?.type === 'speech') {
      const params: Record<string, unknown> = {
        text,
        ...(project.voice.voice ? { voice: project.voice.voice } : {}),
      };
      assets.push({
        id: `voiceover:${scene.id}`,
        role: 'voiceover',
        sceneId: scene.id,
        key: `${base}/voiceover-${hash(['voice', text, project.voice.voice ?? null, project.voice.model, scene.voiceTake, PROJECT_LOUDNESS_LUFS])}.wav`,
        media: 'audio',
        make: { model: project.voice.model, params },
        loudnessLufs: PROJECT_LOUDNESS_LUFS,
      });
    }
    picture(`visual:${scene.id}`, 'visual', scene.visual, `scenes[${i}].visual`, scene.id);
    if (scene.overlay?.enabled) {
      picture(`overlay:${scene.id}`, 'overlay', scene.overlay.image, `scenes[${i}].overlay.image`, scene.id);
    }
  });

  const music = project.music;
  if (music?.enabled && music.volume > 0) {
    const src = music.source;
    const make: ProjectAsset['make'] | undefined =
      'key' in src
        ? { key: src.key }
        : 'mood' in src
          ? { model: MOOD_MUSIC_MODEL, params: { mood: src.mood, duration: MUSIC_SEC } }
          : { model: src.model, params: { prompt: src.prompt } };
    if ('model' in make) {
      const facts = model(make.model);
      if (!facts) problems.push(`music.source.model: unknown model "${make.model}"`);
      else if (facts.type !== 'audio')
        problems.push(`music.source.model: "${make.model}" makes ${facts.type}, not audio`);
    }
    assets.push({
      id: 'music',
      role: 'music',
      key: `${base}/music-${hash(['music', make, 'key' in src ? 0 : music.take, PROJECT_LOUDNESS_LUFS])}.m4a`,
      media: 'audio',
      make,
      loudnessLufs: PROJECT_LOUDNESS_LUFS,
    });
  }
  if (project.brand?.logo && (project.brand.intro || project.brand.outro)) {
    picture('logo', 'logo', project.brand.logo, 'brand.logo');
  }
  return { assets, direct, problems };
}

const evenNum = (n: number) => Math.max(64, Math.round(n / 2) * 2);
