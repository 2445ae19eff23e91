// Acceptance of provider webhooks and the polling fallback, against a local server speaking Replicate's
// API through the real `replicate` client, and the real stack (notifier, ai-generator, ingest as
// processes): (a) only the webhook can tell that the run ended; (b) no webhook: polling alone finishes;
// (c) both arrive: exactly one completion, one stored output, one callback.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeReplicateServer, type FakeReplicateServer } from '@reelbus/ai-generator/testing';
import { Bus, FsBlobStore } from '@reelbus/kit';
import { makeImage } from '@reelbus/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2E, type E2E } from './harness.ts';
import { countJobEvents } from './observe.ts';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.ts';

const TOKEN = 'r8_fake_token_for_tests';
const WHSEC = `whsec_${Buffer.from('replicate-webhook-secret-for-e2e!').toString('base64')}`;

let e2e: E2E;
let replicate: FakeReplicateServer;
let receiver: WebhookReceiver;
let bus: Bus;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'reelbus-replicate-'));
  const image = await makeImage({ file: join(dir, 'out.png'), width: 320, height: 240 });
  replicate = await startFakeReplicateServer({
    token: TOKEN,
    webhookSecret: WHSEC,
    outputFile: image,
    behaviour: (input) => {
      const prompt = String(input.prompt);
      if (prompt.startsWith('webhook only')) return { outcome: 'succeed', webhook: true, pollsSeeEnd: false };
      if (prompt.startsWith('poll only')) return { outcome: 'succeed', webhook: false, endsAtPoll: 2 };
      if (prompt.startsWith('failing')) return { outcome: 'fail', webhook: true, endsAtPoll: 1 };
      return { outcome: 'succeed', webhook: true, endsAtPoll: 2 }; // both
    },
  });
  e2e = await startE2E({
    services: ['notifier', 'ai-generator', 'ingest'],
    env: { REPLICATE_WEBHOOK_SECRET: WHSEC },
    serviceEnv: {
      'ai-generator': {
        REPLICATE_API_TOKEN: TOKEN,
        REPLICATE_BASE_URL: replicate.url,
        GENERATION_POLL_INITIAL_MS: '300',
        GENERATION_POLL_MAX_MS: '600',
      },
    },
  });
  receiver = await startWebhookReceiver({ secret: e2e.stack.secrets.webhookSecret });
  bus = await Bus.connect({
    servers: e2e.stack.natsUrl,
    namespace: e2e.stack.namespace,
    name: 'e2e-observer',
  });
}, 120_000);
afterAll(async () => {
  await bus?.close();
  await e2e?.close();
  await receiver?.close();
  await replicate?.close();
});

async function generation(prompt: string) {
  const { jobId } = await e2e.client.generate({
    model: 'flux-schnell',
    params: { prompt },
    callbackUrl: `${receiver.url}/${prompt.replace(/\W+/g, '-')}`,
  });
  const job = await e2e.client.follow(jobId, () => undefined, { pollMs: 200 });
  const prediction = replicate.predictions.find((p) => p.body.input.prompt === prompt)!;
  return { jobId, job, prediction };
}

describe('Replicate generations: webhook, polling fallback, exactly once', () => {
  it('(a) the webhook alone finishes a run that polls never see end', async () => {
    const { jobId, job, prediction } = await generation('webhook only: a red fox');
    expect(job.status).toBe('completed');
    expect(prediction.webhookResponses).toEqual([200]);
    expect(prediction.body).toMatchObject({ webhook_events_filter: ['completed'] });
    expect(prediction.body.webhook).toMatch(new RegExp(`/v1/webhooks/replicate\\?job=${jobId}&token=`));
    expect(job.outputs.image).toMatchObject({
      key: `jobs/${jobId}/generate/image.png`,
      width: 320,
      height: 240,
    });
    expect(job.cost).toMatchObject({ backend: 'replicate', estimateUsd: 0.003, actualUsd: 0.003 });
  });

  it('(b) without a webhook, polling alone finishes it', async () => {
    const { job, prediction } = await generation('poll only: a blue whale');
    expect(job.status).toBe('completed');
    expect(prediction.webhookResponses).toEqual([]);
    expect(prediction.reads).toBeGreaterThanOrEqual(2);
  });

  it('(c) webhook and poll both report the end: one completion, one stored output, one callback', async () => {
    const { jobId, job, prediction } = await generation('both: a green parrot');
    expect(job.status).toBe('completed');
    // The webhook was accepted (200), whether it or the poll got there first.
    expect(await replicate.webhookAnswered(prediction.id)).toBe(200);
    expect(prediction.webhookResponses).toEqual([200]);
    const delivery = await receiver.waitFor(jobId);
    expect(delivery.body.status).toBe('completed');
    const counts = await countJobEvents(bus, jobId);
    expect(counts['job.completed']).toBe(1);
    expect(counts['generation.callback'] ?? 0).toBeLessThanOrEqual(1);
    const stored = await new FsBlobStore({ root: e2e.stack.blobDir }).list(`jobs/${jobId}/generate/`);
    expect(stored.map((b) => b.key).sort()).toEqual([
      `jobs/${jobId}/generate/image.png`,
      `jobs/${jobId}/generate/poster.jpg`,
    ]);
    expect(receiver.forJob(jobId).filter((d) => d.body.event === 'job.completed')).toHaveLength(1);
  });

  it("fails with Replicate's own message when the prediction fails", async () => {
    const { job } = await generation('failing: a purple cow');
    expect(job.status).toBe('failed');
    expect(job.error).toMatchObject({ step: 'generate' });
    expect(job.error?.reason).toMatch(/CUDA out of memory \(fake Replicate\)/);
  });
});
