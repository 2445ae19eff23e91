import { describe, expect, it } from 'vitest';
import type { JsonSchema } from '../api/types.ts';
import { alternativesNote, initialValues, paramFields, paramsFromValues, priceText } from './schema-form.ts';

// The params schemas of infra/models.yaml's local-video and flux-schnell, trimmed.
const localVideo: JsonSchema = {
  type: 'object',
  anyOf: [{ required: ['prompt'] }, { required: ['image'] }],
  properties: {
    prompt: { type: 'string', minLength: 1, maxLength: 2000 },
    image: {
      type: 'string',
      minLength: 1,
      maxLength: 2048,
      description: 'blob key or http(s) URL of the first frame',
    },
    duration: { type: 'number', exclusiveMinimum: 0, maximum: 30, default: 4 },
    width: { type: 'integer', minimum: 64, maximum: 3840, multipleOf: 2, default: 1280 },
  },
};
const flux: JsonSchema = {
  type: 'object',
  required: ['prompt'],
  properties: {
    aspectRatio: { enum: ['1:1', '16:9'], default: '1:1' },
    prompt: { type: 'string', minLength: 1, maxLength: 2000 },
    goFast: { type: 'boolean', default: true },
    seed: { type: 'integer', minimum: 0 },
    extra: { type: 'object' },
  },
};

describe('paramFields', () => {
  it('makes one control per param, required first, with kinds, ranges and defaults from the schema', () => {
    const fields = paramFields(flux);
    expect(fields.map((f) => [f.name, f.kind, f.required])).toEqual([
      ['prompt', 'long-text', true],
      ['aspectRatio', 'choice', false],
      ['goFast', 'boolean', false],
      ['seed', 'integer', false],
      ['extra', 'json', false],
    ]);
    expect(initialValues(fields)).toEqual({
      prompt: '',
      aspectRatio: '1:1',
      goFast: true,
      seed: '',
      extra: '',
    });
    const [, , , seed] = fields;
    expect(seed).toMatchObject({ min: 0, max: undefined, step: 1, hint: 'from 0' });
  });

  it('says ranges with exclusive bounds and multiples, and the default', () => {
    const [, , duration, width] = paramFields(localVideo);
    expect(duration).toMatchObject({ kind: 'number', step: 'any', hint: 'above 0 to 30 · default 4' });
    expect(width).toMatchObject({
      kind: 'integer',
      step: 2,
      min: 64,
      hint: '64 to 3840, multiple of 2 · default 1280',
    });
    expect(alternativesNote(localVideo)).toBe('Give at least one of: prompt, or image.');
    expect(alternativesNote(flux)).toBeUndefined();
  });
});

describe('paramsFromValues', () => {
  it('sends what was typed as the schema’s types and leaves empty optional fields to the defaults', () => {
    const fields = paramFields(flux);
    const { params, issues } = paramsFromValues(fields, {
      ...initialValues(fields),
      prompt: '  a red fox ',
      aspectRatio: '16:9',
      goFast: false,
      seed: '42',
      extra: '{"a":1}',
    });
    expect(issues).toEqual([]);
    expect(params).toEqual({
      prompt: '  a red fox ',
      aspectRatio: '16:9',
      goFast: false,
      seed: 42,
      extra: { a: 1 },
    });
    // Untouched: only the required prompt (a boolean equal to its default is left to the default).
    expect(paramsFromValues(fields, { ...initialValues(fields), prompt: 'x' }).params).toEqual({
      prompt: 'x',
      aspectRatio: '1:1',
    });
  });

  it('names every field that cannot be sent as the API names it', () => {
    const fields = paramFields(flux);
    const { issues } = paramsFromValues(fields, {
      ...initialValues(fields),
      prompt: '   ',
      seed: '4.5',
      extra: '{nope',
    });
    expect(issues).toEqual([
      { field: 'params.prompt', message: 'is required' },
      { field: 'params.seed', message: 'must be a whole number' },
      { field: 'params.extra', message: 'must be JSON' },
    ]);
    const video = paramFields(localVideo);
    expect(paramsFromValues(video, { ...initialValues(video), duration: 'abc' }).issues).toEqual([
      { field: 'params.duration', message: 'must be a number' },
    ]);
  });
});

describe('priceText', () => {
  it('writes each pricing unit for people', () => {
    expect(priceText({ unit: 'run', price: 0 })).toBe('Free');
    expect(priceText({ unit: 'run', price: 0.003 })).toBe('$0.003 per run');
    expect(priceText({ unit: 'output_second', price: 0.05 })).toBe('$0.05 per second of output');
    expect(priceText({ unit: 'compute_second', price: 0.0014, hardware: 'Nvidia L40S GPU' })).toBe(
      '$0.0014 per second of compute (Nvidia L40S GPU)',
    );
    expect(priceText({ unit: '1k_characters', price: 0.3 })).toBe('$0.30 per 1,000 characters');
  });
});
