import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProviderInput, outputUrls } from './input.ts';
import { actualCostUsd, estimateCostUsd } from './pricing.ts';
import { RegistryError, loadModelRegistry, parseModelRegistry } from './registry.ts';

const model = (over: Record<string, unknown> = {}) => ({
  id: 'my-image',
  type: 'image',
  provider: 'replicate',
  ref: 'owner/name',
  params: { type: 'object', required: ['prompt'], properties: { prompt: { type: 'string' } } },
  pricing: { unit: 'run', price: 0.01 },
  estimatedTimeSec: 5,
  ...over,
});

function problems(doc: unknown): string[] {
  try {
    parseModelRegistry(doc, 'test.yaml');
  } catch (err) {
    if (err instanceof RegistryError) return err.problems;
    throw err;
  }
  return [];
}

describe('the model registry', () => {
  it('loads the shipped infra/models.yaml, every type present, the avatar models with their limits', () => {
    const r = loadModelRegistry();
    expect(new Set(r.list().map((m) => m.type))).toEqual(
      new Set(['image', 'video', 'audio', 'speech', 'avatar']),
    );
    expect(r.get('fal-ai/infinitalk').limits).toEqual({ maxInputSec: 28.8, fps: 25 });
    expect(r.get('fal-ai/flashtalk').limits).toEqual({ maxInputSec: 20, fps: 25 });
    expect(r.list('avatar').map((m) => m.id)).toEqual([
      'local-avatar',
      'fal-ai/infinitalk',
      'fal-ai/flashtalk',
    ]);
  });

  it('stops with one line per problem, each naming the model and the field', () => {
    const found = problems({
      version: 1,
      models: [
        model(),
        model(),
        model({ id: 'Bad Id', pricing: { unit: 'per_image', price: -1 } }),
        model({
          id: 'typo',
          params: { type: 'object', properties: { prompt: { type: 'string', minLenght: 1 } } },
        }),
        model({
          id: 'bad-default',
          params: { type: 'object', properties: { w: { type: 'integer', minimum: 64, default: 8 } } },
        }),
        model({ id: 'bad-map', input: { prompt_text: 'promt' }, media: { image: 'image' } }),
        model({ id: 'local-x', provider: 'local', ref: 'music' }),
        model({ id: 'tts', type: 'speech', provider: 'elevenlabs', ref: 'eleven_x' }),
      ],
    });
    expect(found).toEqual(
      expect.arrayContaining([
        'models[1] (my-image).id: "my-image" is already the id of models[0]',
        expect.stringMatching(/^models\[2\] \(Bad Id\)\.id: must be 1-100 lower-case/),
        expect.stringMatching(/^models\[2\] \(Bad Id\)\.pricing\.unit: /),
        expect.stringMatching(/^models\[2\] \(Bad Id\)\.pricing\.price: /),
        expect.stringMatching(/^models\[3\] \(typo\)\.params: not a valid JSON Schema: .*minLenght/),
        expect.stringMatching(
          /^models\[4\] \(bad-default\)\.params\.properties\.w\.default: 8 must be >= 64/,
        ),
        'models[5] (bad-map).media.image: names "image", which is not in params.properties',
        'models[5] (bad-map).input.prompt_text: names "promt", which is not in params.properties',
        'models[6] (local-x).ref: the local "music" generator makes audio, not image',
        'models[7] (tts).limits.maxChars: is required for elevenlabs (per-request limit)',
      ]),
    );
    expect(found.length).toBeGreaterThanOrEqual(10);
  });

  it('names a file that is not YAML, or not a registry', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'registry-'));
    await writeFile(join(dir, 'bad.yaml'), 'models: [ {id: x\n');
    expect(() => loadModelRegistry(join(dir, 'bad.yaml'))).toThrow(
      /invalid model registry .*bad\.yaml:\n {2}not valid YAML: /,
    );
    expect(problems({ models: [] })).toEqual([
      'version: must be 1 (the registry file format)',
      'models: must list at least one model',
    ]);
    expect(() => loadModelRegistry(join(dir, 'missing.yaml'))).toThrow(/cannot read the file/);
  });
});

describe('params', () => {
  const r = loadModelRegistry();
  it('fills in defaults and names every bad field at once', () => {
    expect(r.validateParams('local-image', { prompt: 'a fox' })).toEqual({
      ok: true,
      params: { prompt: 'a fox', width: 1024, height: 1024 },
    });
    const bad = r.validateParams('local-image', { prompt: 3, width: 63, size: 'big' });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.issues).toEqual(
      expect.arrayContaining([
        {
          field: 'params.size',
          message: 'is not a param of local-image (it takes prompt, width, height, seed)',
        },
        { field: 'params.prompt', message: 'must be string' },
        { field: 'params.width', message: 'must be >= 64' },
      ]),
    );
  });

  it('says "needs prompt or image" when a video model gets neither', () => {
    const bad = r.validateParams('local-video', { duration: 2 });
    expect(bad).toMatchObject({ ok: false, issues: [{ field: 'params', message: 'needs prompt or image' }] });
  });

  it('names an enum’s values', () => {
    const bad = r.validateParams('local-music', { mood: 'angry' });
    expect(bad).toMatchObject({
      ok: false,
      message: expect.stringMatching(/params\.mood: must be one of "adventurous", /),
    });
  });
});

describe('input mapping and pricing', () => {
  const r = loadModelRegistry();
  it("maps reelbus params and media URLs to the provider's field names, constants included", () => {
    const m = r.get('minimax-video-01');
    expect(
      buildProviderInput({
        model: m,
        params: { prompt: 'waves', image: 'uploads/a.png', promptOptimizer: true },
        mediaUrls: { image: 'https://s3.example/a.png?sig' },
      }),
    ).toEqual({ prompt: 'waves', first_frame_image: 'https://s3.example/a.png?sig', prompt_optimizer: true });
    expect(
      buildProviderInput({
        model: r.get('flux-schnell'),
        params: { prompt: 'x', aspectRatio: '1:1', outputFormat: 'png' },
      }),
    ).toEqual({ prompt: 'x', aspect_ratio: '1:1', output_format: 'png', num_outputs: 1 });
  });

  it('finds output URLs at the model’s path, or anywhere in the result', () => {
    expect(
      outputUrls({
        model: r.get('fal-flux-schnell'),
        result: { images: [{ url: 'https://f/x.png' }], seed: 1 },
      }),
    ).toEqual(['https://f/x.png']);
    expect(outputUrls({ model: r.get('flux-schnell'), result: ['https://r/1.png'] })).toEqual([
      'https://r/1.png',
    ]);
  });

  it('estimates and records costs per unit', () => {
    const musicgen = r.get('musicgen');
    expect(estimateCostUsd({ model: musicgen, params: {} })).toBeCloseTo(0.0014 * 40, 9);
    expect(actualCostUsd({ model: musicgen, facts: { computeSec: 12.5 } })).toBeCloseTo(0.0175, 9);
    expect(actualCostUsd({ model: musicgen, facts: {} })).toBeUndefined();
    const kling = r.get('kling-1.6-i2v');
    expect(estimateCostUsd({ model: kling, params: {} })).toBeCloseTo(0.225, 9);
    expect(actualCostUsd({ model: kling, facts: { outputSec: 10 } })).toBeCloseTo(0.45, 9);
    expect(
      estimateCostUsd({ model: r.get('elevenlabs-multilingual-v2'), params: { text: 'x'.repeat(1000) } }),
    ).toBe(0.3);
  });
});
