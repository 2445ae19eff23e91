// Acceptance of fal generations against a local server speaking fal's queue protocol, through the real
// `@fal-ai/client` and the real stack (notifier, ai-generator, ingest as processes): an avatar model run
// through POST /v1/generations with media from blob storage (hosted on fal storage), and the webhook/polling
// trio: (a) only the signed ED25519 webhook can tell that the run ended; (b) no webhook: polling alone
// finishes it; (c) both arrive: exactly one completion, one stored output, one callback; and fal's own error.
import { copyFileSync, mkdtempSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeFalServer, type FakeFalServer } from '@reelbus/ai-generator/testing';
import { Bus, FsBlobStore } from '@reelbus/kit';
import { makeImage, makeSpeech, makeVideo, probeFacts } from '@reelbus/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2E, type E2E } from './harness.ts';
import { countJobEvents } from './observe.ts';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.ts';

const FAL_KEY = 'fal-e2e-key:secret';
const signing = generateKeyPairSync('ed25519');
const publicX = signing.publicKey.export({ format: 'jwk' }).x!;

let e2e: E2E;
let fal: FakeFalServer;
let receiver: WebhookReceiver;
let bus: Bus;
let blobs: FsBlobStore;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'reelbus-fal-'));
  const video = await makeVideo({ file: join(dir, 'out.mp4'), seconds: 2, width: 320, height: 240 });
  fal = await startFakeFalServer({
    key: FAL_KEY,
    videoFile: video,
    webhook: { privateKey: signing.privateKey, userId: 'e2e-user' },
    request: (input) => {
      const prompt = String(input.prompt ?? '');
      if (prompt.startsWith('webhook only')) return { outcome: 'succeed', webhook: true, pollsSeeEnd: false };
      if (prompt.startsWith('poll only')) return { outcome: 'succeed', webhook: false };
      if (prompt.startsWith('failing')) return { outcome: 'error', webhook: true };
      return { outcome: 'succeed', webhook: true }; // both
    },
  });
  e2e = await startE2E({
    services: ['notifier', 'ai-generator', 'ingest'],
    readyTimeoutMs: 150_000, // a loaded machine (as in merge.test.ts)
    serviceEnv: {
      ingest: { FAL_WEBHOOK_PUBLIC_KEYS: publicX, FAL_WEBHOOK_JWKS_FETCH: 'false' },
      'ai-generator': {
        FAL_KEY,
        FAL_BASE_URL: fal.url,
        GENERATION_POLL_INITIAL_MS: '300',
        GENERATION_POLL_MAX_MS: '600',
      },
    },
  });
  blobs = new FsBlobStore({ root: e2e.stack.blobDir });
  const face = await makeImage({ file: join(dir, 'face.png'), width: 256, height: 256 });
  const voice = await makeSpeech({ text: 'Hello from the fal avatar test.', file: join(dir, 'voice.wav') });
  copyFileSync(face, join(dir, 'face-2.png'));
  await blobs.putFile('uploads/face.png', join(dir, 'face-2.png'));
  await blobs.putFile('uploads/voice.wav', voice);
  receiver = await startWebhookReceiver({ secret: e2e.stack.secrets.webhookSecret });
  bus = await Bus.connect({
    servers: e2e.stack.natsUrl,
    namespace: e2e.stack.namespace,
    name: 'e2e-observer',
  });
}, 240_000);
afterAll(async () => {
  await bus?.close();
  await e2e?.close();
  await receiver?.close();
  await fal?.close();
});

async function avatar(prompt: string) {
  const accepted = await e2e.client.generate({
    model: 'fal-ai/infinitalk',
    params: { audio: 'uploads/voice.wav', image: 'uploads/face.png', prompt },
    callbackUrl: `${receiver.url}/${prompt.replace(/\W+/g, '-')}`,
  });
  const job = await e2e.client.follow(accepted.jobId, () => undefined, { pollMs: 200 });
  const request = fal.requests.find((r) => r.input.prompt === prompt)!;
  return { jobId: accepted.jobId, job, request };
}

describe('fal generations: an avatar model through /v1/generations, webhook, polling fallback, exactly once', () => {
  it('(a) the signed webhook alone finishes a run that polls never see end; inputs go up through fal storage', async () => {
    const { jobId, job, request } = await avatar('webhook only: a friendly wave');
    expect(job.status).toBe('completed');
    expect(request.webhookResponses).toEqual([200]);
    expect(request.webhookUrl).toMatch(new RegExp(`/v1/webhooks/fal\\?job=${jobId}&token=`));
    expect(request.input).toMatchObject({
      image_url: expect.stringMatching(new RegExp(`^${fal.url}/files/`)),
      audio_url: expect.stringMatching(new RegExp(`^${fal.url}/files/`)),
    });
    expect(job.outputs.video).toMatchObject({
      key: `jobs/${jobId}/generate/video.mp4`,
      width: 320,
      height: 240,
    });
    const facts = probeFacts(join(e2e.stack.blobDir, job.outputs.video!.key));
    expect(facts.video?.codec).toBe('h264');
    expect(job.cost).toMatchObject({ backend: 'fal' });
    expect(job.cost?.actualUsd).toBeCloseTo(0.2 * job.outputs.video!.durationSec, 3);
  });

  it('(b) without a webhook, polling alone finishes it', async () => {
    const { job, request } = await avatar('poll only: a nod');
    expect(job.status).toBe('completed');
    expect(request.webhookResponses).toEqual([]);
    expect(request.polls).toBeGreaterThanOrEqual(3);
  });

  it('(c) webhook and poll both report the end: one completion, one stored output, one callback', async () => {
    const { jobId, job, request } = await avatar('both: a smile');
    expect(job.status).toBe('completed');
    await fal.webhookAnswered(request.id);
    const delivery = await receiver.waitFor(jobId);
    expect(delivery.body.status).toBe('completed');
    const counts = await countJobEvents(bus, jobId);
    expect(counts['job.completed']).toBe(1);
    expect(counts['generation.callback'] ?? 0).toBeLessThanOrEqual(1);
    const stored = await blobs.list(`jobs/${jobId}/generate/`);
    expect(stored.map((b) => b.key).sort()).toEqual([
      `jobs/${jobId}/generate/poster.jpg`,
      `jobs/${jobId}/generate/video.mp4`,
    ]);
    expect(receiver.forJob(jobId).filter((d) => d.body.event === 'job.completed')).toHaveLength(1);
  });

  it("fails with fal's own message when the model refuses the input", async () => {
    const { job } = await avatar('failing: a broken face');
    expect(job.status).toBe('failed');
    expect(job.error).toMatchObject({ step: 'generate' });
    expect(job.error?.reason).toMatch(/Could not load the image from the URL \(fake\)/);
  });
});
