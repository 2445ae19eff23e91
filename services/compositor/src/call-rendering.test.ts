import { describe, expect, it } from 'vitest';
import { decideCallRendering } from './call-rendering.ts';

describe('decideCallRendering', () => {
  it.each([
    // job provider, AI_PROVIDER, CALL_LOCAL_RENDER → provider, rendering
    [undefined, 'local', 'direct', 'local', 'direct'],
    ['local', 'fal', 'direct', 'local', 'direct'],
    [undefined, 'fal', 'direct', 'fal', 'clips'],
    ['fal', 'local', 'direct', 'fal', 'clips'],
    [undefined, 'local', 'clips', 'local', 'clips'],
    ['  ', 'local', 'direct', 'local', 'direct'],
    [42, 'fal', 'direct', 'fal', 'clips'],
    // an unknown provider still goes to the ai-generator, which fails the job naming it
    ['acme', 'local', 'direct', 'acme', 'clips'],
  ] as const)(
    'job provider %j, AI_PROVIDER=%s, CALL_LOCAL_RENDER=%s → %s drawn %s',
    (jobProvider, defaultProvider, localRender, provider, rendering) => {
      expect(decideCallRendering({ jobProvider, defaultProvider, localRender })).toEqual({
        provider,
        rendering,
      });
    },
  );

  it.each([
    // a test run pays for no generation: local unless the job names its provider
    [undefined, 'fal', 'local', 'direct'],
    ['fal', 'fal', 'fal', 'clips'],
    ['fal', 'local', 'fal', 'clips'],
  ] as const)(
    'test mode: job provider %j, AI_PROVIDER=%s → %s drawn %s',
    (jobProvider, defaultProvider, provider, rendering) => {
      expect(
        decideCallRendering({ jobProvider, defaultProvider, localRender: 'direct', testMode: true }),
      ).toEqual({ provider, rendering });
    },
  );
});
