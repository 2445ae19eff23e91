import { Project, type ProjectInput } from '@reelbus/contracts';
import { describe, expect, it } from 'vitest';
import { mediaOfPath, planAssets, type ModelFacts } from './assets.ts';
import { buildNarrationArgs } from './narration.ts';

const MODELS: Record<string, ModelFacts> = {
  'local-speech': { type: 'speech', params: ['text', 'voice', 'wordsPerMinute'] },
  'local-image': { type: 'image', params: ['prompt', 'width', 'height', 'seed'] },
  'local-video': { type: 'video', params: ['prompt', 'image', 'duration', 'width', 'height'] },
  'local-music': { type: 'audio', params: ['mood', 'tempo', 'duration'] },
  'song-model': { type: 'audio', params: ['prompt'] },
};
const model = (id: string) => MODELS[id];

const project = (over: Partial<ProjectInput> = {}) =>
  Project.parse({
    title: 't',
    scenes: [
      { id: 'a', narration: 'One.', visual: { key: 'uploads/a.mp4' } },
      { id: 'b', narration: 'Two.', visual: { model: 'local-image', params: { prompt: 'sea' } } },
      {
        id: 'c',
        narration: '',
        visual: { url: 'https://cdn.example.com/pics/c.jpg?sig=1' },
        overlay: { image: { key: 'products/p.png' } },
      },
    ],
    music: { source: { mood: 'calm' } },
    ...over,
  });

const plan = (p = project()) => planAssets({ projectId: 'prj_1', project: p, preset: 'final', model });
const keyOf = (p: Project, id: string) => plan(p).assets.find((a) => a.id === id)?.key;

describe('planAssets', () => {
  it('lists a voiceover per spoken scene, generated and fetched visuals, and the music; given keys are used as they are', () => {
    const { assets, direct, problems } = plan();
    expect(problems).toEqual([]);
    expect(assets.map((a) => a.id)).toEqual(['voiceover:a', 'voiceover:b', 'visual:b', 'visual:c', 'music']);
    expect(direct).toEqual({
      'visual:a': { key: 'uploads/a.mp4', media: 'video' },
      'overlay:c': { key: 'products/p.png', media: 'image' },
    });
    expect(assets.every((a) => a.key.startsWith('projects/prj_1/assets/'))).toBe(true);
    const b = assets.find((a) => a.id === 'visual:b')!;
    // Generated visuals at the project's frame size unless the params say otherwise.
    expect(b.make).toEqual({ model: 'local-image', params: { prompt: 'sea', width: 1920, height: 1080 } });
    expect(assets.find((a) => a.id === 'visual:c')).toMatchObject({
      media: 'image',
      make: { url: 'https://cdn.example.com/pics/c.jpg?sig=1' },
    });
    expect(assets.find((a) => a.id === 'voiceover:a')).toMatchObject({
      media: 'audio',
      loudnessLufs: -16,
      make: { model: 'local-speech', params: { text: 'One.' } },
    });
  });

  it('keys voiceovers by text, voice, model and take: editing scene b changes scene b only', () => {
    const p = project();
    const edited = project();
    edited.scenes[1]!.narration = 'Two, again.';
    expect(keyOf(edited, 'voiceover:a')).toBe(keyOf(p, 'voiceover:a'));
    expect(keyOf(edited, 'voiceover:b')).not.toBe(keyOf(p, 'voiceover:b'));
    expect(keyOf(edited, 'visual:b')).toBe(keyOf(p, 'visual:b'));
    expect(keyOf(edited, 'music')).toBe(keyOf(p, 'music'));
    const take = project();
    take.scenes[0]!.voiceTake = 1;
    expect(keyOf(take, 'voiceover:a')).not.toBe(keyOf(p, 'voiceover:a'));
    const voice = project({ voice: { voice: 'en-gb' } });
    expect(keyOf(voice, 'voiceover:a')).not.toBe(keyOf(p, 'voiceover:a'));
    expect(keyOf(voice, 'voiceover:b')).not.toBe(keyOf(p, 'voiceover:b'));
    const music = project({ music: { source: { mood: 'calm' }, take: 1 } });
    expect(keyOf(music, 'music')).not.toBe(keyOf(p, 'music'));
    // The volume is applied in the mix: changing it makes no new music.
    expect(keyOf(project({ music: { source: { mood: 'calm' }, volume: 0.6 } }), 'music')).toBe(
      keyOf(p, 'music'),
    );
  });

  it('names unknown models and models of the wrong type by their field', () => {
    const p = project({ voice: { model: 'nope' } });
    p.scenes[1]!.visual = { model: 'local-music', params: {} };
    p.scenes[2]!.overlay = { ...p.scenes[2]!.overlay!, image: { model: 'ghost', params: {} } };
    expect(plan(p).problems).toEqual([
      'voice.model: unknown model "nope"',
      'scenes[1].visual.model: "local-music" makes audio, not image or video',
      'scenes[2].overlay.image.model: unknown model "ghost" (GET /v1/models lists them)',
    ]);
  });

  it('uses music given as a key as it is: no model, the same asset whatever the take', () => {
    const p = project({ music: { source: { key: 'uploads/theme.mp3' } } });
    const { assets, problems } = plan(p);
    expect(problems).toEqual([]);
    const music = assets.find((a) => a.id === 'music');
    expect(music).toMatchObject({
      role: 'music',
      media: 'audio',
      make: { key: 'uploads/theme.mp3' },
      loudnessLufs: -16,
    });
    expect(music!.key).toMatch(/^projects\/prj_1\/assets\/music-[0-9a-f]{20}\.m4a$/);
    // A new take of given music is the same music; another key is another asset.
    const take = project({ music: { source: { key: 'uploads/theme.mp3' }, take: 2 } });
    expect(keyOf(take, 'music')).toBe(music!.key);
    expect(keyOf(project({ music: { source: { key: 'uploads/other.mp3' } } }), 'music')).not.toBe(music!.key);
  });

  it("plans music from a prompt as a generation with the project's music model, keyed by prompt and take", () => {
    const p = project({ music: { source: { prompt: 'warm strings', model: 'song-model' } } });
    const { assets, problems } = plan(p);
    expect(problems).toEqual([]);
    expect(assets.find((a) => a.id === 'music')).toMatchObject({
      role: 'music',
      media: 'audio',
      make: { model: 'song-model', params: { prompt: 'warm strings' } },
      loudnessLufs: -16,
    });
    const k = keyOf(p, 'music');
    expect(
      keyOf(
        project({ music: { source: { prompt: 'warm strings', model: 'song-model' }, take: 1 } }),
        'music',
      ),
    ).not.toBe(k);
    expect(
      keyOf(project({ music: { source: { prompt: 'cold brass', model: 'song-model' } } }), 'music'),
    ).not.toBe(k);
    // A mood plans the local music model for a minute of music instead.
    expect(plan().assets.find((a) => a.id === 'music')?.make).toEqual({
      model: 'local-music',
      params: { mood: 'calm', duration: 60 },
    });
  });

  it('names an unknown or non-audio music model, and plans no music when it is off or silent', () => {
    expect(plan(project({ music: { source: { prompt: 'x', model: 'ghost' } } })).problems).toEqual([
      'music.source.model: unknown model "ghost"',
    ]);
    expect(plan(project({ music: { source: { prompt: 'x', model: 'local-image' } } })).problems).toEqual([
      'music.source.model: "local-image" makes image, not audio',
    ]);
    expect(keyOf(project({ music: { enabled: false } }), 'music')).toBeUndefined();
    expect(keyOf(project({ music: { volume: 0 } }), 'music')).toBeUndefined();
  });

  it('tells videos from pictures by extension', () => {
    expect(['a.mp4', 'b.MOV', 'c.webm', 'd.png', 'e.jpg', 'f'].map(mediaOfPath)).toEqual([
      'video',
      'video',
      'video',
      'image',
      'image',
      'image',
    ]);
  });
});

describe('buildNarrationArgs', () => {
  it('places each voiceover at its start sample and pads the mix to the video length', () => {
    const args = buildNarrationArgs({
      inputs: [
        { file: 'a.wav', startSec: 0 },
        { file: 'b.wav', startSec: 2.5 },
      ],
      durationSec: 7,
      output: 'n.wav',
    });
    expect(args.slice(0, 4)).toEqual(['-i', 'a.wav', '-i', 'b.wav']);
    const graph = args[args.indexOf('-filter_complex') + 1]!;
    expect(graph).toContain(
      '[1:a]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,adelay=delays=120000S:all=1[v1]',
    );
    expect(graph).not.toContain(
      '[0:a]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,adelay',
    );
    expect(graph).toContain(
      'amix=inputs=2:duration=longest:dropout_transition=0:normalize=0,apad,atrim=end_sample=336000[out]',
    );
    expect(args.slice(-7)).toEqual(['-ar', '48000', '-ac', '2', '-c:a', 'pcm_s16le', 'n.wav']);
  });
});
