import type { Job } from '@reelbus/contracts';
import { Bus, KvJobStore } from '@reelbus/kit';
import { randomNamespace, startNatsServer, type NatsServerHandle } from '@reelbus/kit/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver } from './test-support.ts';
import { verifyWebhookSignature, type WebhookPayload } from './webhook.ts';

// The notifier as a real process (main.ts through the kit runtime) on a real nats-server.

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const SECRET = 'process-secret-0123456789abcdef';
let server: NatsServerHandle;
let tmp: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  server = await startNatsServer();
  tmp = mkdtempSync(join(tmpdir(), 'reelbus-notifier-'));
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

function startNotifier(env: Record<string, string>): {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? tmp,
      TMP_DIR: tmp,
      BLOB_DIR: join(tmp, 'blobs'),
      HEALTH_PORT: '0',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

describe('notifier process', () => {
  it('refuses to start without WEBHOOK_SECRET, naming it', async () => {
    const p = startNotifier({ NATS_URL: server.url, REELBUS_NAMESPACE: randomNamespace() });
    const code = await p.exited;
    expect(code).not.toBe(0);
    expect(p.output()).toMatch(/WEBHOOK_SECRET/);
  });

  it('projects events, completes the job and sends the signed webhook, then stops cleanly on SIGTERM', async () => {
    const namespace = randomNamespace();
    const receiver = await startReceiver(() => 200);
    const p = startNotifier({
      NATS_URL: server.url,
      REELBUS_NAMESPACE: namespace,
      WEBHOOK_SECRET: SECRET,
      ALLOW_PRIVATE_CALLBACKS: 'true',
      WEBHOOK_BACKOFF_MS: '50',
    });
    const bus = await Bus.connect({ servers: server.url, namespace, name: 'test-publisher' });
    await bus.ensureStreams();
    const jobs = await KvJobStore.open({ nc: bus.nc, bucket: bus.names.jobsBucket });
    try {
      await bus.publish('recording.received', 'proc_1', {
        source: 'bus',
        recording: { key: 'jobs/proc_1/input/recording.wav' },
        callbackUrl: receiver.url,
      });
      await bus.publish('video.encoded', 'proc_1', {
        key: 'jobs/proc_1/final.mp4',
        durationSec: 7.5,
        sizeBytes: 1000,
        width: 1280,
        height: 720,
        videoCodec: 'h264',
        audioCodec: 'aac',
        backend: 'ffmpeg',
        encodeSeconds: 1,
      });
      await receiver.waitFor(1);
      const req = receiver.requests[0]!;
      const ok = verifyWebhookSignature({
        secret: SECRET,
        timestamp: req.headers['reelbus-timestamp'] as string,
        signature: req.headers['reelbus-signature'] as string,
        body: req.body,
      });
      expect(ok).toBe(true);
      expect(JSON.parse(req.body) as WebhookPayload).toMatchObject({
        event: 'job.completed',
        jobId: 'proc_1',
        status: 'completed',
      });

      let job: Job | undefined;
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline && !job?.notifications.some((n) => n.ok)) {
        job = await jobs.get('proc_1');
        if (!job?.notifications.some((n) => n.ok)) await new Promise((r) => setTimeout(r, 50));
      }
      expect(job).toMatchObject({ kind: 'call', status: 'completed', progress: 100 });
      expect(job!.outputs.video?.durationSec).toBe(7.5);

      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
    } finally {
      await receiver.close();
      await jobs.close();
      await bus.close();
    }
  });
});
