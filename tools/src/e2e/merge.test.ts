// `reelbus merge a.mp4 b.mp4 c.mp4` through the whole embedded stack: the CLI uploads local files and
// passes a blob key and a URL; ingest makes a merge job; the encoder fetches the URL, compares the
// clips, re-encodes the odd one and joins by stream copy; the notifier completes the job.
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '@reelbus/kit';
import { isFaststart, makeVideo, probeFacts } from '@reelbus/kit/testing';
import { ROOT, startE2E, type E2E } from './harness.ts';

const run = promisify(execFile);

describe('merges, end to end', () => {
  let e2e: E2E;
  let server: Server;
  let base: string;
  const logs: string[] = [];

  beforeAll(async () => {
    try {
      e2e = await startE2E({
        env: { MERGE_ALLOW_PRIVATE_URLS: 'true', ALLOW_PRIVATE_URLS: 'true' },
        readyTimeoutMs: 150_000,
        log: (l) => logs.push(l),
      });
    } catch (err) {
      console.error(logs.slice(-40).join('\n'));
      throw err;
    }
    server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'video/mp4' });
      createReadStream(join(e2e.dir, 'url.mp4')).pipe(res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  }, 240_000);
  afterAll(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await e2e?.close();
  });

  it('joins uploaded files, a blob key and a URL in order; only the odd clip is re-encoded; the CLI prints the MP4', async () => {
    const a = await makeVideo({ file: join(e2e.dir, 'a.mp4'), seconds: 2, width: 320, height: 240 });
    const b = await makeVideo({
      file: join(e2e.dir, 'b.mp4'),
      seconds: 1.6,
      width: 320,
      height: 240,
      frequency: 660,
    });
    await makeVideo({
      file: join(e2e.dir, 'url.mp4'),
      seconds: 1.2,
      width: 320,
      height: 240,
      frequency: 880,
    });
    // The odd one: another size.
    const odd = await makeVideo({ file: join(e2e.dir, 'odd.mp4'), seconds: 1, width: 640, height: 360 });
    await new FsBlobStore({ root: e2e.stack.blobDir }).putFile('takes/odd.mp4', odd);

    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'tools/src/cli.ts'), 'merge', a, 'takes/odd.mp4', `${base}/clip.mp4`, b],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          REELBUS_URL: e2e.stack.ingestUrl,
          REELBUS_API_KEY: e2e.stack.secrets.apiKey,
          REELBUS_HOME: join(e2e.dir, 'state'),
        },
        timeout: 300_000,
      },
    );
    const jobId = /^job (\S+) \(4 clips\)$/m.exec(stdout)?.[1];
    expect(jobId, stdout).toBeDefined();
    expect(stdout).toMatch(/video: 320x240, 5\.80 s, [\d.]+ MB, 4 clips joined/);
    expect(stdout).toContain('warning: clips[1]: re-encoded (picture) because');
    const path = join(e2e.stack.blobDir, `jobs/${jobId}/final.mp4`);
    expect(stdout).toContain(path);

    const job = await e2e.client.getJob(jobId!);
    expect(job).toMatchObject({ kind: 'merge', status: 'completed' });
    // Made through ingest's one submit path: the key that asked, and the request's trace.
    expect(job.submittedBy).toEqual({ name: 'stack', role: 'operator' });
    expect(job.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(job.outputs.video).toMatchObject({ key: `jobs/${jobId}/final.mp4`, videoCount: 4 });
    expect(job.steps.fetch?.status).toBe('completed');
    expect(job.steps.merge?.status).toBe('completed');
    expect(job.progress).toBe(100);

    const facts = probeFacts(path);
    expect(facts.video).toMatchObject({ codec: 'h264', width: 320, height: 240, pixFmt: 'yuv420p' });
    expect(facts.audio).toMatchObject({ codec: 'aac', sampleRate: 48000, channels: 2 });
    expect(Math.abs(facts.durationSec - 5.8)).toBeLessThanOrEqual(1 / 25 + 1024 / 48000);
    expect(isFaststart(path)).toBe(true);
    expect(job.outputs.video!.sizeBytes).toBeGreaterThan(0);
  }, 400_000);

  it('fails the job naming the clip that is missing', async () => {
    const res = await fetch(`${e2e.stack.ingestUrl}/v1/merges`, {
      method: 'POST',
      headers: { authorization: `Bearer ${e2e.stack.secrets.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ clips: ['takes/odd.mp4', 'takes/nowhere.mp4'] }),
    });
    expect(res.status).toBe(202);
    const { jobId, clips } = (await res.json()) as { jobId: string; clips: number };
    expect(clips).toBe(2);
    const job = await e2e.client.follow(jobId, () => {}, { pollMs: 250 });
    expect(job.status).toBe('failed');
    expect(job.error).toMatchObject({ step: 'merge' });
    expect(job.error!.reason).toContain('clips[1]: "takes/nowhere.mp4" is not in blob storage');
  }, 120_000);
});
