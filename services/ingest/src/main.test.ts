import { freePort, randomNamespace, startNatsServer, type NatsServerHandle } from '@reelbus/kit/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hashApiKey } from './api-keys.ts';
import { makeStereoWav } from './testing/helpers.ts';

// ingest as a real process (main.ts + the kit runtime) on a real nats-server.
const KEY = 'process-test-key';
let nats: NatsServerHandle;
let dir: string;
let child: ChildProcess;
let base: string;
let stderr = '';

beforeAll(async () => {
  nats = await startNatsServer();
  dir = await mkdtemp(join(tmpdir(), 'reelbus-ingest-main-'));
  const [port, healthPort] = [await freePort(), await freePort()];
  base = `http://127.0.0.1:${port}`;
  child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./main.ts', import.meta.url))], {
    env: {
      ...process.env,
      NATS_URL: nats.url,
      REELBUS_NAMESPACE: randomNamespace(),
      BLOB_DIR: join(dir, 'blobs'),
      INGEST_HOST: '127.0.0.1',
      INGEST_PORT: String(port),
      HEALTH_PORT: String(healthPort),
      PUBLIC_BASE_URL: base,
      API_KEY_HASHES: hashApiKey(KEY),
      LINK_SIGNING_SECRET: 'process-test-link-secret',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  // No event says "listening" to a parent process: poll the port, with a deadline.
  await vi.waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`ingest exited ${child.exitCode}: ${stderr}`);
      const res = await fetch(`${base}/v1/jobs`);
      expect(res.status).toBe(401);
    },
    { timeout: 30_000, interval: 200 },
  );
});
afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
  await nats?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('ingest process', () => {
  it('takes an upload with an API key, and shuts down cleanly on SIGTERM', async () => {
    const wav = makeStereoWav({ seconds: 0.5 });
    const form = new FormData();
    form.append('recording', new Blob([wav], { type: 'audio/wav' }), 'call.wav');
    const res = await fetch(`${base}/v1/recordings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}` },
      body: form,
    });
    expect(res.status).toBe(202);
    const { jobId, statusUrl } = (await res.json()) as { jobId: string; statusUrl: string };
    const stored = await readFile(join(dir, 'blobs', 'jobs', jobId, 'input', 'recording.wav'));
    expect(stored.equals(wav)).toBe(true);
    const job = await fetch(statusUrl, { headers: { authorization: `Bearer ${KEY}` } });
    expect(((await job.json()) as { status: string }).status).toBe('queued');

    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
