// One generation through the real stack (nats-server, notifier, ai-generator and ingest as processes) with
// the offline local provider, driven by the CLI as a user would.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { probeFacts } from '@reelbus/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, sharedE2E, type SharedE2E } from './harness.ts';

let e2e: SharedE2E;

beforeAll(async () => {
  e2e = await sharedE2E();
}, 300_000);
afterAll(async () => {
  await e2e?.close();
});

/** Runs the CLI against the stack; resolves to its stdout. */
async function cli(args: string[]): Promise<string> {
  return (await runCli(e2e, args)).stdout;
}

describe('generation end to end, offline (local provider)', () => {
  it('lists the models with `reelbus models`', async () => {
    const out = await cli(['models', '--type', 'video']);
    expect(out).toMatch(/local-video\s+video\s+local\s+free/);
    expect(out).not.toMatch(/local-image/);
  });

  it('`reelbus generate local-video …` follows the job and prints the stored video, which plays', async () => {
    const out = await cli([
      'generate',
      'local-video',
      'prompt=waves at night',
      'duration=2',
      'width=320',
      'height=180',
    ]);
    const jobId = /job (job_\w+)/.exec(out)?.[1];
    expect(jobId).toBeDefined();
    const videoPath = out.split('\n').find((l) => l.endsWith('/generate/video.mp4'));
    expect(videoPath && existsSync(videoPath)).toBe(true);
    const facts = probeFacts(videoPath!);
    expect(facts.video).toMatchObject({ codec: 'h264', width: 320, height: 180 });
    expect(Math.abs(facts.durationSec - 2)).toBeLessThanOrEqual(0.05);
    const job = await e2e.client.getJob(jobId!);
    expect(job).toMatchObject({
      kind: 'generation',
      status: 'completed',
      progress: 100,
      outputs: {
        video: { key: `jobs/${jobId}/generate/video.mp4`, width: 320, height: 180 },
        poster: { key: `jobs/${jobId}/generate/poster.jpg`, contentType: 'image/jpeg' },
      },
      cost: { backend: 'local', estimateUsd: 0, actualUsd: 0 },
    });
    expect(job.steps).toMatchObject({ generate: { status: 'completed' }, store: { status: 'completed' } });
  });

  it('generates speech through the API, and refuses bad params with 400', async () => {
    const { jobId } = await e2e.client.generate({
      model: 'local-speech',
      params: { text: 'Hello from the bus.' },
    });
    const done = await e2e.client.follow(jobId, () => undefined, { pollMs: 200 });
    expect(done.status).toBe('completed');
    const audio = done.outputs.audio!;
    const facts = probeFacts(join(e2e.stack.blobDir, audio.key));
    expect(facts.audio?.codec).toBe('pcm_s16le');
    expect(audio.durationSec).toBeGreaterThan(0.5);
    await expect(e2e.client.generate({ model: 'local-speech', params: { text: '' } })).rejects.toThrow(
      /400 params\.text: must NOT have fewer than 1 characters/,
    );
  });
});
