import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EventOf, EventType } from '@reelbus/contracts';
import { Bus, FsBlobStore, probe } from '@reelbus/kit';
import {
  makeSpeech,
  makeVideo,
  probeFacts,
  randomNamespace,
  startNatsServer,
  type NatsServerHandle,
} from '@reelbus/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeFalServer, type FakeFalServer } from './testing/fake-fal-server.ts';

const here = dirname(fileURLToPath(import.meta.url));
const KEY = 'svc-key:secret';

let nats: NatsServerHandle;
let fal: FakeFalServer;
let dir: string;
let bus: Bus;
let child: ChildProcess;
let out = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aigen-main-'));
  nats = await startNatsServer();
  const namespace = randomNamespace();
  bus = await Bus.connect({ servers: nats.url, namespace, name: 'test' });
  await bus.ensureStreams();
  fal = await startFakeFalServer({
    key: KEY,
    videoFile: await makeVideo({ file: join(dir, 'model.mp4'), seconds: 2 }),
    behaviour: () => 'fail',
  });
  child = spawn(process.execPath, ['--import', 'tsx', join(here, 'main.ts')], {
    env: {
      ...process.env,
      NATS_URL: nats.url,
      REELBUS_NAMESPACE: namespace,
      BLOB_DIR: join(dir, 'blobs'),
      TMP_DIR: join(dir, 'tmp'),
      HEALTH_HOST: '127.0.0.1',
      HEALTH_PORT: '0',
      WORK_CONCURRENCY: '2',
      AI_PROVIDER: 'local',
      FAL_KEY: KEY,
      FAL_BASE_URL: fal.url,
      FAL_RETRIES: '1',
      FAL_RETRY_BASE_MS: '10',
      FAL_POLL_INTERVAL_MS: '50',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      if (/"msg":"consuming/.test(out)) resolve();
    });
    child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
    child.once('exit', (code) => reject(new Error(`ai-generator exited with ${code}:\n${out.slice(-3000)}`)));
  });
});

afterAll(async () => {
  if (process.env.AIGEN_DEBUG)
    await import('node:fs/promises').then((fs) => fs.writeFile(process.env.AIGEN_DEBUG as string, out));
  if (child && child.exitCode === null && child.signalCode === null) {
    child.removeAllListeners('exit');
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
  }
  await bus?.close();
  await fal?.close();
  await nats?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('ai-generator as a service', () => {
  it('answers both sides of a call: a local clip, and a placeholder with a warning where fal fails for good', async () => {
    const jobId = 'aigen-e2e-1';
    const blobs = new FsBlobStore({ root: join(dir, 'blobs') });
    const speech = await makeSpeech({
      text: 'Hello from the service test.',
      file: join(dir, 'speech.wav'),
      sampleRate: 48_000,
    });
    const seconds = (await probe(speech)).durationSec;
    await blobs.put(`jobs/${jobId}/split/caller.wav`, await readFile(speech));
    await blobs.put(`jobs/${jobId}/split/callee.wav`, await readFile(speech));

    const seen: EventOf<EventType>[] = [];
    const done = new Promise<void>((resolve) => {
      const watch = bus.watchJob(jobId, (e) => {
        seen.push(e);
        const clips = seen.filter((x) => x.type === 'clip.generated').length;
        if (clips === 2 && seen.some((x) => x.type === 'job.warning')) {
          watch.stop();
          resolve();
        }
      });
    });
    await Promise.all(
      (['caller', 'callee'] as const).map((role) =>
        bus.publish(
          'clip.requested',
          jobId,
          {
            role,
            label: role === 'caller' ? 'Caller' : 'Callee',
            audioKey: `jobs/${jobId}/split/${role}.wav`,
            durationSec: seconds,
            expectedClips: 2,
            ...(role === 'callee' ? { provider: 'fal' } : {}),
          },
          { id: `clip.requested:${jobId}:${role}` },
        ),
      ),
    );
    await done;

    const clips = seen.filter((x) => x.type === 'clip.generated') as unknown as EventOf<'clip.generated'>[];
    const caller = clips.find((c) => c.data.role === 'caller');
    const callee = clips.find((c) => c.data.role === 'callee');
    expect(caller).toMatchObject({
      id: `clip.generated:${jobId}:caller`,
      data: { provider: 'local', placeholder: false },
    });
    expect(callee).toMatchObject({ id: `clip.generated:${jobId}:callee`, data: { placeholder: true } });
    expect(callee?.data.warning).toMatch(/Callee side could not be generated with fal/);
    expect(fal.requests).toHaveLength(2);
    for (const role of ['caller', 'callee']) {
      const facts = probeFacts(join(dir, 'blobs', 'jobs', jobId, 'clips', `${role}.mp4`));
      expect(facts.video).toMatchObject({ codec: 'h264', width: 640, height: 720 });
      expect(Math.abs(facts.durationSec - seconds)).toBeLessThanOrEqual(0.04);
    }
  });
});
