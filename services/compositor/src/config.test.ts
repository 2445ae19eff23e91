import { describe, expect, it } from 'vitest';
import { BUNDLED_FACES } from '@reelbus/ai-generator/local-look';
import { parseConfig } from '@reelbus/kit';
import { CompositorEnv } from './config.ts';

describe('CompositorEnv', () => {
  it('draws local calls by default, and names every bad call setting', () => {
    expect(parseConfig(CompositorEnv, {})).toMatchObject({
      AI_PROVIDER: 'local',
      CALL_LOCAL_RENDER: 'direct',
    });
    expect(
      parseConfig(CompositorEnv, { DEFAULT_CALLEE_IMAGE: BUNDLED_FACES.callee, CALL_LOCAL_RENDER: 'clips' }),
    ).toMatchObject({ DEFAULT_CALLEE_IMAGE: BUNDLED_FACES.callee, CALL_LOCAL_RENDER: 'clips' });
    let message = '';
    try {
      parseConfig(CompositorEnv, {
        AI_PROVIDER: 'replicate',
        CALL_LOCAL_RENDER: 'fast',
        DEFAULT_CALLER_IMAGE: '/nowhere/face.png',
      });
    } catch (err) {
      message = (err as Error).message;
    }
    for (const line of [
      'AI_PROVIDER: must be one of local, fal (got "replicate")',
      'CALL_LOCAL_RENDER: must be one of direct, clips (got "fast")',
      'DEFAULT_CALLER_IMAGE: is not a file on this machine (a PNG or JPEG path) (got "/nowhere/face.png")',
    ]) {
      expect(message).toContain(line);
    }
  });
});
