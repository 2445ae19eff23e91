import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Job } from '@reelbus/contracts';
import { Bus, KvJobStore } from '@reelbus/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../client.ts';
import { makeSampleCall, type SampleCall } from '../sample.ts';
import { startE2E, type E2E } from './harness.ts';

// The HTTP API of a real embedded stack: ingest as its own process on a real nats-server (limits
// counted in NATS KV), the notifier projecting events. No splitter runs, so jobs stay queued:
// exactly what the active-jobs limit needs.
describe('the job API through the real stack: OpenAPI, keys and limits', () => {
  let e2e: E2E;
  let sample: SampleCall;
  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${e2e.stack.ingestUrl}${path}`, { headers });
  const withKey = () => ({ authorization: `Bearer ${e2e.stack.secrets.apiKey}` });

  beforeAll(async () => {
    e2e = await startE2E({
      services: ['notifier', 'ingest'],
      serviceEnv: {
        // Counted in NATS KV (as several replicas would share them); per replica is unit-tested.
        ingest: {
          RATE_LIMIT_REQUESTS_PER_MINUTE: '12',
          RATE_LIMIT_SCOPE: 'cluster',
          MAX_ACTIVE_JOBS_PER_KEY: '1',
        },
      },
    });
    sample = makeSampleCall({ file: join(e2e.dir, 'call.wav') });
  }, 120_000);
  afterAll(async () => {
    await e2e?.close();
  });

  it('serves the OpenAPI 3.1 document and its docs page without a key', async () => {
    const res = await get('/v1/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      openapi: string;
      servers: Array<{ url: string }>;
      paths: Record<string, unknown>;
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers).toEqual([{ url: e2e.stack.ingestUrl }]);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/recordings',
        '/v1/stories',
        '/v1/merges',
        '/v1/jobs/{id}',
        '/v1/jobs/{id}/hls/links',
        '/v1/hls/{id}/{expires}/{signature}/{*}',
        '/v1/jobs/{id}/events',
        '/v1/keys',
      ]),
    );
    const page = await get('/v1/docs/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('swagger-ui');
  });

  it("records the stack's operator key on the job, and holds the key to its unfinished jobs", async () => {
    const { jobId } = await e2e.client.submitRecording({ file: sample.file });
    const job = await e2e.client.getJob(jobId);
    expect(job.submittedBy).toEqual({ name: 'stack', role: 'operator' });
    // queued until the notifier projects recording.received (no splitter runs, so it goes no further)
    expect(['queued', 'running']).toContain(job.status);

    const second = await e2e.client.submitRecording({ file: sample.file }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(ApiError);
    expect((second as ApiError).status).toBe(429);
    expect((second as ApiError).message).toContain('the API key "stack" has 1 unfinished jobs');

    const keys = await get('/v1/keys', withKey());
    expect(keys.status).toBe(200);
    expect(await keys.json()).toEqual({
      keys: [{ name: 'stack', role: 'operator', requestsPerMinute: 12, maxActiveJobs: 1, activeJobs: 1 }],
    });
  });

  it('cancels the unfinished job (the notifier marks it cancelled) and deletes it with its blobs', async () => {
    // Read through the job store, not the API, to stay under this stack's 12 requests a minute.
    const bus = await Bus.connect({
      servers: e2e.stack.natsUrl,
      namespace: e2e.stack.namespace,
      name: 'e2e-ops',
    });
    const jobs = await KvJobStore.open({ nc: bus.nc, bucket: bus.names.jobsBucket });
    try {
      const [pending] = await jobs.list({ limit: 1 });
      expect(pending?.status, 'the job the previous test left unfinished').toMatch(/^(queued|running)$/);
      const id = pending!.id;
      expect(readdirSync(join(e2e.stack.blobDir, 'jobs', id, 'input'))).not.toEqual([]);

      const cancel = await e2e.client.cancelJob(id, { reason: 'e2e cancel' });
      expect(cancel).toMatchObject({ jobId: id, status: 'cancelling', alreadyCancelled: false });
      let job: Job | undefined;
      for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
        job = await jobs.get(id);
        if (job?.status === 'cancelled') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(job).toMatchObject({ status: 'cancelled', cancel: { by: 'stack', reason: 'e2e cancel' } });
      expect(job!.finishedAt).toBeDefined();

      const deleted = await e2e.client.deleteJob(id);
      expect(deleted).toMatchObject({ jobId: id, deleted: true, cancelled: false, deadLettersRemoved: 0 });
      expect(deleted.blobsRemoved).toBeGreaterThanOrEqual(1);
      expect(await jobs.get(id)).toBeUndefined();
      const dir = join(e2e.stack.blobDir, 'jobs', id);
      expect(
        existsSync(dir) ? readdirSync(dir, { recursive: true }).filter((f) => String(f).includes('.')) : [],
      ).toEqual([]);
    } finally {
      await jobs.close();
      await bus.close();
    }
  });

  it('answers 429 with Retry-After past the requests per minute, and counts it on /metrics', async () => {
    let limited: Response | undefined;
    for (let i = 0; i < 20 && !limited; i++) {
      const res = await get('/v1/jobs?limit=1', withKey());
      if (res.status === 429) limited = res;
      else expect(res.status).toBe(200);
    }
    expect(limited, 'no 429 within 20 requests at 12 a minute').toBeDefined();
    const retryAfter = Number(limited!.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(((await limited!.json()) as { error: { code: string } }).error.code).toBe('rate_limited');

    const ingest = e2e.stack.processes.find((p) => p.service === 'ingest')!;
    const metrics = await (await fetch(`http://127.0.0.1:${ingest.healthPort}/metrics`)).text();
    expect(metrics).toMatch(/reelbus_api_limited_total\{key="stack",limit="requests_per_minute"\} [1-9]/);
    expect(metrics).toMatch(/reelbus_api_limited_total\{key="stack",limit="active_jobs"\} 1/);
  });
});
