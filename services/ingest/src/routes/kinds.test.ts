import { JOB_KINDS } from '@reelbus/contracts';
import { silentLogger } from '@reelbus/kit';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../app.ts';
import { MemoryBlobStore, MemoryBus, MemoryJobStore } from '../testing/fakes.ts';
import { auth, testConfig } from '../testing/helpers.ts';

describe('GET /v1/kinds', () => {
  it('lists every job kind with its steps in order, their weights (summing to 100) and descriptions, and its phases', async () => {
    const app = buildApp({
      config: testConfig(),
      bus: new MemoryBus(),
      jobs: new MemoryJobStore(),
      blobs: new MemoryBlobStore(),
      logger: silentLogger(),
    });
    const res = await app.inject({ method: 'GET', url: '/v1/kinds', headers: auth });
    expect(res.statusCode).toBe(200);
    const { kinds } = res.json() as {
      kinds: Array<{
        kind: string;
        steps: Array<{ name: string; weight: number; optional: boolean; description: string }>;
        phases: string[];
      }>;
    };
    expect(kinds.map((k) => k.kind)).toEqual(Object.keys(JOB_KINDS));
    const call = kinds.find((k) => k.kind === 'call')!;
    expect(call.steps.map((s) => s.name)).toEqual(JOB_KINDS.call.steps.map((s) => s.name));
    expect(call.steps.find((s) => s.name === 'download')).toMatchObject({ optional: true });
    expect(call.steps.find((s) => s.name === 'encode')).toMatchObject({ optional: false });
    for (const k of kinds) {
      expect(
        k.steps.reduce((n, s) => n + s.weight, 0),
        k.kind,
      ).toBe(100);
      for (const s of k.steps) expect(s.description, `${k.kind}.${s.name}`).not.toBe('');
    }
    expect(kinds.find((k) => k.kind === 'render')!.phases.length).toBeGreaterThan(0);
    await app.close();
  });
});
