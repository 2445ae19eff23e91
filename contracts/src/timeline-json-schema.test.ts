import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parseTimelineRequest } from './timeline-resolve.ts';
import { TIMELINE_CROSS_FIELD_RULES } from './timeline.ts';

/** The exported request schema, as a third party would load it from contracts/schemas/. */
const schema = JSON.parse(
  readFileSync(new URL('../schemas/timeline-request.v1.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;
// A standard JSON Schema 2020-12 validator; `format: uri` is left to the API (no ajv-formats here).
const validate = new Ajv2020({ allErrors: true, strict: false, validateFormats: false }).compile(schema);

/** Every ```json block of the README that is a request Timeline, and the Timeline inside each curl `-d`. */
function readmeTimelines(): unknown[] {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const blocks = [...readme.matchAll(/```json\n([\s\S]*?)\n```/g)].map((m) => JSON.parse(m[1]!) as unknown);
  const renders = readme.slice(readme.indexOf('## Renders'), readme.indexOf('## Merges'));
  const inline = [...renders.matchAll(/(?:-d '|timeline=)(\{[^']*\})'/g)].map(
    (m) => JSON.parse(m[1]!) as unknown,
  );
  return [...blocks, ...inline].filter(
    (t) => typeof t === 'object' && t !== null && (t as { version?: unknown }).version === 1 && 'tracks' in t,
  );
}

const base = {
  version: 1,
  tracks: [
    {
      clips: [
        { type: 'video', source: { key: 'takes/a.mp4' }, transition: { type: 'fade' } },
        { type: 'image', source: { url: 'https://cdn.example.com/p.jpg' }, duration: 4 },
      ],
    },
  ],
  audio: [{ name: 'music', source: { upload: 'music' } }],
};
const withOutput = (output: Record<string, unknown>) => ({ ...base, output });
const withClip = (extra: Record<string, unknown>) => ({
  ...base,
  tracks: [{ clips: [{ ...base.tracks[0]!.clips[0]!, ...extra }, base.tracks[0]!.clips[1]!] }],
});

describe('timeline-request.v1.json under a standard validator (ajv, draft 2020-12)', () => {
  it('accepts the README request Timelines and a request with every kind of source', () => {
    const examples = readmeTimelines();
    expect(examples.length).toBeGreaterThanOrEqual(3);
    for (const t of [
      ...examples,
      base,
      withOutput({ formats: ['mp4', 'hls'], width: 1080, aspect: '9:16' }),
    ]) {
      expect(validate(t), JSON.stringify(validate.errors)).toBe(true);
    }
  });

  it.each([
    ['an odd width', withOutput({ width: 641 }), '/output/width', 'multipleOf'],
    [
      'an absolute blob key',
      withClip({ source: { key: '/etc/passwd' } }),
      '/tracks/0/clips/0/source/key',
      'pattern',
    ],
    ['a ".." blob key', withClip({ source: { key: '../etc' } }), '/tracks/0/clips/0/source/key', 'pattern'],
    ['formats without mp4', withOutput({ formats: ['hls'] }), '/output/formats', 'contains'],
    ['a repeated format', withOutput({ formats: ['mp4', 'mp4'] }), '/output/formats', 'uniqueItems'],
    [
      'a misspelt clip field',
      withClip({ transtion: { type: 'fade' } }),
      '/tracks/0/clips/0',
      'additionalProperties',
    ],
    ['a misspelt output field', withOutput({ fsp: 30 }), '/output', 'additionalProperties'],
    ['a misspelt top-level field', { ...base, tracs: [] }, '', 'additionalProperties'],
  ])('refuses %s, as the API does', (_what, input, instancePath, keyword) => {
    expect(validate(input)).toBe(false);
    expect(validate.errors).toContainEqual(expect.objectContaining({ instancePath, keyword }));
    expect(parseTimelineRequest(input).ok).toBe(false);
  });

  // What only the API checks: the schema accepts these, its description lists the rule.
  it.each([
    [
      'an aspect that contradicts the size',
      withOutput({ aspect: '9:16', width: 1280, height: 720 }),
      'output.aspect',
    ],
    ['two audio tracks of one name', { ...base, audio: [...base.audio, ...base.audio] }, 'audio[1].name'],
    [
      'a transition on the last clip',
      { ...base, tracks: [{ clips: [base.tracks[0]!.clips[0]!] }] },
      'tracks[0].clips[0].transition',
    ],
    [
      'a waveform with no source and no track',
      withClip({ type: 'waveform', source: undefined, transition: undefined }),
      'tracks[0].clips[0].source',
    ],
    ['an empty Timeline without duration', { version: 1 }, 'duration'],
  ])('leaves %s to the API, and says so in its description', (_what, input, path) => {
    expect(validate(input), JSON.stringify(validate.errors)).toBe(true);
    const parsed = parseTimelineRequest(input);
    expect(parsed.ok ? [] : parsed.problems.map((p) => p.path)).toContain(path);
  });

  it('lists every rule only the API checks in its description', () => {
    for (const rule of TIMELINE_CROSS_FIELD_RULES) expect(schema.description).toContain(rule);
  });
});
