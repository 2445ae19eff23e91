import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFaststart, motionEnergy, probeFacts, volumeStats } from '@reelbus/kit/testing';
import { makeSampleCall, type SampleCall } from '../sample.ts';
import { ROOT, sharedE2E, waitForJob, type SharedE2E } from './harness.ts';

// On the shared stack a call can wait behind another file's renders: more than vitest's default 60 s.
describe('call recording → split-screen video, end to end', { timeout: 180_000 }, () => {
  let e2e: SharedE2E;
  let sample: SampleCall;

  beforeAll(async () => {
    e2e = await sharedE2E();
    sample = makeSampleCall({ file: join(e2e.dir, 'call.wav') });
  }, 300_000);
  afterAll(async () => {
    await e2e?.close();
  });

  it('turns a stereo call into a web-ready 1280x720 split-screen MP4 that moves with each speaker', async () => {
    const { jobId } = await e2e.client.submitRecording({ file: sample.file });
    const job = await e2e.client.follow(jobId, () => {}, { pollMs: 250 });
    expect(job.status, JSON.stringify(job.error)).toBe('completed');
    const video = job.outputs.video!;
    expect(video.key).toBe(`jobs/${jobId}/final.mp4`);
    const file = join(e2e.stack.blobDir, video.key);

    const facts = probeFacts(file);
    expect(Math.abs(facts.durationSec - sample.durationSec)).toBeLessThan(0.1);
    expect(facts.video).toMatchObject({
      codec: 'h264',
      profile: 'High',
      pixFmt: 'yuv420p',
      width: 1280,
      height: 720,
    });
    expect(facts.audio).toMatchObject({ codec: 'aac', profile: 'LC', sampleRate: 48000, channels: 2 });
    expect(isFaststart(file)).toBe(true);
    // The call's loudness is the recording's, on each side: only the recording is heard.
    for (const channel of [0, 1] as const) {
      const out = volumeStats({ file, channel }).meanDb;
      const rec = volumeStats({ file: sample.file, channel }).meanDb;
      expect(Math.abs(out - rec), `channel ${channel}: ${out} vs ${rec} dB`).toBeLessThan(1);
    }

    // Each half moves while its own speaker talks, and stays (nearly) still while the other side talks.
    const left = { x: 0, y: 0, width: 640, height: 720 };
    const right = { x: 640, y: 0, width: 640, height: 720 };
    const callerTurn = sample.turns.find((t) => t.side === 'caller')!;
    const calleeTurn = sample.turns.find((t) => t.side === 'callee')!;
    const during = (t: { start: number; end: number }) => ({
      start: t.start + 0.5,
      duration: Math.min(2, t.end - t.start - 1),
    });
    const leftWhileCaller = motionEnergy({ file, rect: left, ...during(callerTurn) });
    const rightWhileCaller = motionEnergy({ file, rect: right, ...during(callerTurn) });
    const leftWhileCallee = motionEnergy({ file, rect: left, ...during(calleeTurn) });
    const rightWhileCallee = motionEnergy({ file, rect: right, ...during(calleeTurn) });
    expect(leftWhileCaller).toBeGreaterThan(rightWhileCaller * 2);
    expect(rightWhileCallee).toBeGreaterThan(leftWhileCallee * 2);

    // The job document tells the story of the run. With the local provider the compositor draws the
    // speakers in the Timeline: no clip is generated (no generate step, no clip files), one encode.
    expect(job.progress).toBe(100);
    for (const step of ['split', 'compose', 'encode']) {
      expect(job.steps[step]?.status, step).toBe('completed');
    }
    expect(job.steps.generate).toBeUndefined();
    expect(existsSync(join(e2e.stack.blobDir, 'jobs', jobId, 'clips'))).toBe(false);
  });

  it('runs the pipeline for a recording.received published by any NATS client, and the job shows up in the job API', async () => {
    const jobId = 'bus_example_1';
    const key = `jobs/${jobId}/input/recording.wav`;
    mkdirSync(join(e2e.stack.blobDir, dirname(key)), { recursive: true });
    const sample = makeSampleCall({ file: join(e2e.stack.blobDir, key) });
    const out = execFileSync(
      process.execPath,
      [join(ROOT, 'tools/examples/publish-recording.mjs'), jobId, key],
      {
        env: { ...process.env, NATS_URL: e2e.stack.natsUrl, REELBUS_NAMESPACE: e2e.stack.namespace },
        encoding: 'utf8',
      },
    );
    expect(out).toContain(`published recording.received for job ${jobId}`);
    const job = await waitForJob(e2e, jobId);
    expect(job.status, JSON.stringify(job.error)).toBe('completed');
    expect(job.kind).toBe('call');
    expect(Math.abs(job.outputs.video!.durationSec - sample.durationSec)).toBeLessThan(0.1);
  });
});
