// Operations through the real stack (issue 15 §3 and §4): a call whose split-screen video cannot be made
// completes with its speaker clips (`fallback: clips_only`), and a test-mode job runs the same pipeline
// on the local provider, is labelled in its webhook and metrics, and stays out of the real jobs' figures.
//
// One embedded stack for the file, set up as a production stack with paid avatars: AI_PROVIDER=fal,
// pointed at a local server speaking fal's queue protocol (the real `@fal-ai/client` talks to it). The
// encoder's `ffmpeg` is a wrapper that runs the real one, except while the test holds a marker file: then
// it fails like a broken encode would, and the encoder (CONSUMER_MAX_DELIVER=1: the first failure is the
// last attempt) gives up on the video.
import { chmodSync, mkdirSync, openAsBlob, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { startFakeFalServer, type FakeFalServer } from '@reelbus/ai-generator/testing';
import { makeVideo, probeFacts } from '@reelbus/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrometheusText, type Sample } from '../deploy/prometheus-rules.ts';
import { makeSampleCall, type SampleCall } from '../sample.ts';
import { startE2E, type E2E } from './harness.ts';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.ts';

const FAL_KEY = 'fal-e2e-key:secret';

describe('operations end to end: partial calls and test mode', () => {
  let e2e: E2E;
  let fal: FakeFalServer;
  let receiver: WebhookReceiver;
  let sample: SampleCall;
  let failMarker: string;

  beforeAll(async () => {
    const dir = join(process.env.TMPDIR ?? '/tmp', `reelbus-ops-${process.pid}-${Date.now()}`);
    mkdirSync(dir, { recursive: true });
    failMarker = join(dir, 'fail-encodes');
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const realFfmpeg = execFileSync('sh', ['-c', 'command -v ffmpeg'], { encoding: 'utf8' }).trim();
    writeFileSync(
      join(bin, 'ffmpeg'),
      `#!/bin/sh\nif [ -e '${failMarker}' ]; then echo 'ffmpeg: simulated encoder failure (ops e2e)' >&2; exit 1; fi\nexec '${realFfmpeg}' "$@"\n`,
    );
    chmodSync(join(bin, 'ffmpeg'), 0o755);
    const video = await makeVideo({ file: join(dir, 'avatar.mp4'), seconds: 2, width: 320, height: 240 });
    fal = await startFakeFalServer({ key: FAL_KEY, videoFile: video });
    const falEnv = { AI_PROVIDER: 'fal', FAL_KEY, FAL_BASE_URL: fal.url };
    e2e = await startE2E({
      readyTimeoutMs: 150_000, // a loaded machine (as in call.test.ts)
      serviceEnv: {
        compositor: { AI_PROVIDER: 'fal' },
        'ai-generator': falEnv,
        encoder: { PATH: `${bin}:${process.env.PATH ?? ''}`, CONSUMER_MAX_DELIVER: '1' },
      },
    });
    sample = makeSampleCall({ file: join(e2e.dir, 'call.wav') });
    receiver = await startWebhookReceiver({ secret: e2e.stack.secrets.webhookSecret });
  }, 300_000);
  afterAll(async () => {
    await e2e?.close();
    await receiver?.close();
    await fal?.close();
    if (failMarker) rmSync(join(failMarker, '..'), { recursive: true, force: true });
  });

  /** POST /v1/recordings with the sample call and extra text fields (the client has no testMode). */
  async function submitCall(fields: Record<string, string>): Promise<string> {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.set(k, v);
    form.set('callbackUrl', receiver.url);
    form.set('recording', await openAsBlob(sample.file), 'call.wav');
    const res = await fetch(`${e2e.stack.ingestUrl}/v1/recordings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${e2e.stack.secrets.apiKey}` },
      body: form,
    });
    const body = (await res.json()) as { jobId?: string };
    expect(res.status, JSON.stringify(body)).toBe(202);
    return body.jobId!;
  }

  /** The notifier's /metrics, parsed. */
  async function notifierMetrics(): Promise<Sample[]> {
    const notifier = e2e.stack.processes.find((p) => p.service === 'notifier')!;
    const res = await fetch(`http://127.0.0.1:${notifier.healthPort}/metrics`);
    return parsePrometheusText(await res.text());
  }
  const value = (samples: Sample[], name: string, labels: Record<string, string>) =>
    samples
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((a, s) => a + s.value, 0);

  it('a call whose final encode fails for good completes with each speaker’s fal clip (clips_only)', async () => {
    writeFileSync(failMarker, 'fail\n');
    let jobId: string;
    let fallbackReason: string | undefined;
    try {
      jobId = await submitCall({});
      const job = await e2e.client.follow(jobId, () => {}, { pollMs: 250 });
      expect(job.status, JSON.stringify(job.error)).toBe('completed');
      expect(job.fallback).toBe('clips_only');
      expect(job.fallbackReason).toMatch(/^encode \(ffmpeg\) failed: /);
      fallbackReason = job.fallbackReason;
      // each speaker's clip, made by fal (the double saw both), delivered as a named, probed output
      expect(fal.requests.length).toBeGreaterThanOrEqual(2);
      for (const role of ['caller', 'callee'] as const) {
        const out = job.outputs[role]!;
        expect(out.key, role).toBe(`jobs/${jobId}/final-${role}.mp4`);
        const facts = probeFacts(join(e2e.stack.blobDir, out.key));
        expect(facts.video?.codec, role).toBe('h264');
        expect(Math.abs(facts.durationSec - out.durationSec), role).toBeLessThan(0.1);
      }
      expect(job.outputs.video).toBeUndefined();
    } finally {
      rmSync(failMarker, { force: true });
    }
    // the webhook says so
    const hook = await receiver.waitFor(jobId!, { timeoutMs: 60_000 });
    expect(hook.body).toMatchObject({
      event: 'job.completed',
      status: 'completed',
      fallback: 'clips_only',
      fallbackReason,
      testMode: false,
    });
    expect(Object.keys((hook.body as unknown as { outputs: object }).outputs).sort()).toEqual([
      'callee',
      'caller',
    ]);
  }, 600_000);

  it('a test-mode call on the fal stack runs on the local provider, says testMode in its webhook, and is labelled apart in the metrics', async () => {
    const before = await notifierMetrics();
    const falRequests = fal.requests.length;
    const jobId = await submitCall({ testMode: 'true' });
    const job = await e2e.client.follow(jobId, () => {}, { pollMs: 250 });
    expect(job.status, JSON.stringify(job.error)).toBe('completed');
    expect(job.testMode).toBe(true);
    expect(job.fallback).toBeUndefined();
    // the same pipeline, but no paid generation: fal was not asked, the local look was drawn
    expect(fal.requests.length).toBe(falRequests);
    expect(job.steps.generate).toBeUndefined();
    const facts = probeFacts(join(e2e.stack.blobDir, job.outputs.video!.key));
    expect(facts.video).toMatchObject({ codec: 'h264', width: 1280, height: 720 });

    const hook = await receiver.waitFor(jobId, { timeoutMs: 60_000 });
    expect(hook.body).toMatchObject({ event: 'job.completed', status: 'completed', testMode: true });

    // counted under test_mode="true" only: the rules' real-job selections (test_mode="false") do not move
    const after = await notifierMetrics();
    const delta = (name: string, labels: Record<string, string>) =>
      value(after, name, labels) - value(before, name, labels);
    const call = { kind: 'call', outcome: 'completed' };
    expect(delta('reelbus_jobs_finished_total', { ...call, test_mode: 'true' })).toBe(1);
    expect(delta('reelbus_jobs_finished_total', { ...call, test_mode: 'false' })).toBe(0);
    expect(delta('reelbus_job_duration_seconds_count', { ...call, test_mode: 'true' })).toBe(1);
    expect(delta('reelbus_job_duration_seconds_count', { ...call, test_mode: 'false' })).toBe(0);
    expect(delta('reelbus_job_estimated_cost_usd_total', { kind: 'call', test_mode: 'false' })).toBe(0);
  }, 600_000);
});
