// The call pipeline on one nats-server, every service as its own process: the encoder crashes
// mid-encode and comes back (redelivery finishes the job, once), and bad input goes through the whole
// system (each ends as a user would expect, dead letters are kept, the services stay up).
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventOf, EventType, Job } from '@reelbus/contracts';
import { Bus, listDeadLetters } from '@reelbus/kit';
import { makeMono, makeStereoCall, makeTone, motionEnergy, probeFacts } from '@reelbus/kit/testing';
import { ApiError } from '../client.ts';
import { makeSampleCall, SAMPLE_DIALOG, type SampleCall } from '../sample.ts';
import type { ServiceProcess } from '../stack.ts';
import { startE2E, type E2E } from './harness.ts';
import { followToEnd, isEncodeStart, jobEvents, logRecorder, procName } from './observe.ts';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.ts';

/** Small enough that a 2 MB upload is refused, large enough for the ~0.6 MB sample call. */
const UPLOAD_MAX_BYTES = 1_500_000;

const countOf = (events: Array<{ type: string }>, type: EventType) =>
  events.filter((e) => e.type === type).length;

describe('crashes and bad input through the whole system', () => {
  let e2e: E2E;
  let bus: Bus;
  let receiver: WebhookReceiver;
  let sample: SampleCall;
  let tmp: string;
  const { onLine, waitForLog } = logRecorder();
  const killed: ServiceProcess[] = [];
  let crashJobId: string | undefined;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'reelbus-crash-test-'));
    e2e = await startE2E({
      // A short AckWait: the killed encoder's message is redelivered after 6 s, not 30.
      env: { TMP_DIR: join(tmp, 'work'), CONSUMER_ACK_WAIT_MS: '6000' },
      serviceEnv: { ingest: { UPLOAD_MAX_BYTES: String(UPLOAD_MAX_BYTES) } },
      readyTimeoutMs: 120_000,
      log: onLine,
    });
    receiver = await startWebhookReceiver({ secret: e2e.stack.secrets.webhookSecret });
    bus = await Bus.connect({
      servers: e2e.stack.natsUrl,
      namespace: e2e.stack.namespace,
      name: 'crash-test',
    });
    // The first two turns (~8 s): the crash is triggered by the encode's start, not by a long encode.
    sample = makeSampleCall({ file: join(tmp, 'call.wav'), dialog: SAMPLE_DIALOG.slice(0, 2) });
  }, 180_000);

  afterAll(async () => {
    await bus?.close();
    await receiver?.close();
    await e2e?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('finishes the job once when the encoder is killed mid-encode and the stack restarts it (redelivery)', async () => {
    const { jobId } = await e2e.client.submitRecording({ file: sample.file, callbackUrl: receiver.url });
    crashJobId = jobId;
    const first = await waitForLog(isEncodeStart(jobId));
    const encoder = e2e.stack.processes.find((p) => procName(p) === first.proc)!;
    await e2e.stack.kill(encoder); // a crash: the stack's supervisor starts it again
    killed.push(encoder);
    const finalFile = join(e2e.stack.blobDir, 'jobs', jobId, 'final.mp4');
    // The kill landed mid-encode: nothing was written yet.
    expect(existsSync(finalFile)).toBe(false);

    const restarted = await e2e.stack.restarted(encoder);
    expect(restarted.process.pid).not.toBe(encoder.process.pid);
    expect(e2e.stack.processes).toContain(restarted);
    const job = await followToEnd({ e2e, jobId, killed });
    expect(job.status, JSON.stringify(job.error)).toBe('completed');

    // The restarted encoder (the killed one is gone, so the only process of that name) rendered the
    // redelivered timeline.ready.
    const second = await waitForLog((l) => isEncodeStart(jobId)(l) && l !== first);
    expect(second.proc).toBe(procName(restarted));
    expect(second.rec.delivery).toBeGreaterThanOrEqual(2);

    // One final video, one video.encoded, one job.completed.
    expect(readdirSync(join(e2e.stack.blobDir, 'jobs', jobId)).filter((f) => f.endsWith('.mp4'))).toEqual([
      'final.mp4',
    ]);
    expect(job.outputs.video?.key).toBe(`jobs/${jobId}/final.mp4`);
    expect(Math.abs(probeFacts(finalFile).durationSec - sample.durationSec)).toBeLessThan(0.1);
    const events = await jobEvents(bus, jobId);
    expect(countOf(events, 'video.encoded')).toBe(1);
    expect(countOf(events, 'job.completed')).toBe(1);

    // One signed webhook, recorded on the job as delivered.
    const delivery = await receiver.waitFor(jobId);
    expect(delivery.body).toMatchObject({ event: 'job.completed', jobId, status: 'completed' });
    expect(delivery.body.outputs?.video?.key).toBe(`jobs/${jobId}/final.mp4`);
    const deadline = Date.now() + 20_000;
    let notified = await e2e.client.getJob(jobId);
    while (!notified.notifications.some((n) => n.ok) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      notified = await e2e.client.getJob(jobId);
    }
    expect(notified.notifications.filter((n) => n.ok)).toHaveLength(1);
    expect(receiver.forJob(jobId)).toHaveLength(1);
    expect(receiver.forJob(jobId)[0]!.verified).toBe(true);
  }, 180_000);

  describe('bad input', () => {
    const jobs: Record<string, Promise<Job>> = {};
    const ids: Record<string, string> = {};
    let mono: { file: string; durationSec: number };
    let oneSided: { file: string; durationSec: number };

    beforeAll(async () => {
      const empty = join(tmp, 'empty.wav');
      writeFileSync(empty, '');
      const text = join(tmp, 'notes.wav');
      writeFileSync(text, 'Meeting notes: call the customer back on Thursday.\n'.repeat(40));
      const monoFile = await makeMono({ file: join(tmp, 'mono.wav'), sampleRate: 8000 });
      mono = { file: monoFile, durationSec: probeFacts(monoFile).durationSec };
      oneSided = await makeStereoCall({
        dir: tmp,
        file: join(tmp, 'callee-silent.wav'),
        left: 'Hello? Hello? Is anybody there? I can not hear you at all.',
        sampleRate: 8000,
      });
      // All at once: the pipeline handles them side by side.
      for (const [name, file] of Object.entries({ empty, text, mono: monoFile, oneSided: oneSided.file })) {
        const { jobId } = await e2e.client.submitRecording({ file });
        ids[name] = jobId;
        jobs[name] = followToEnd({ e2e, jobId, killed });
        jobs[name].catch(() => undefined); // awaited by its test
      }
    }, 60_000);

    it('fails an empty file with a reason that says it is empty', async () => {
      const job = await jobs.empty!;
      expect(job.status).toBe('failed');
      expect(job.error?.step).toBe('split');
      expect(job.error?.reason).toMatch(/empty/i);
      expect(job.outputs.video).toBeUndefined();
    }, 120_000);

    it('fails a text file renamed .wav with a reason that says it is not audio', async () => {
      const job = await jobs.text!;
      expect(job.status).toBe('failed');
      expect(job.error?.step).toBe('split');
      expect(job.error?.reason).toMatch(/not an audio file/i);
    }, 120_000);

    it('makes a one-speaker video from a mono recording', async () => {
      const job = await jobs.mono!;
      expect(job.status, JSON.stringify(job.error)).toBe('completed');
      const file = join(e2e.stack.blobDir, job.outputs.video!.key);
      expect(Math.abs(probeFacts(file).durationSec - mono.durationSec)).toBeLessThan(0.1);
      const timeline = (await jobEvents(bus, ids.mono!)).find((e) => e.type === 'timeline.ready') as
        EventOf<'timeline.ready'> | undefined;
      // The local provider's card, drawn in the middle of the frame (no clip was made); the moving
      // waveform on a track of its own above the still card, its label and face.
      const tracks = timeline!.data.timeline.tracks.map((t) => t.clips.map((c) => [c.type, c.position]));
      expect(tracks).toEqual([
        [
          ['color', { x: 320, y: 0, width: 640, height: 562 }],
          ['image', { x: 320, y: 0, width: 640, height: 562 }],
          ['text', { x: 320, y: 509, width: 640, height: 29 }],
        ],
        [['waveform', { x: 320, y: 562, width: 640, height: 158 }]],
      ]);
      expect(countOf(await jobEvents(bus, ids.mono!), 'clip.requested')).toBe(0);
      // The strip moves with the speech; the face above it stays still.
      const during = { start: 0.5, duration: Math.min(2, mono.durationSec - 1) };
      const strip = motionEnergy({ file, rect: { x: 320, y: 562, width: 640, height: 158 }, ...during });
      const face = motionEnergy({ file, rect: { x: 320, y: 0, width: 640, height: 562 }, ...during });
      expect(strip).toBeGreaterThan(face * 2);
      expect(strip).toBeGreaterThan(0.1);
    }, 120_000);

    it('makes a call with one silent channel into a video with a card on the silent side', async () => {
      const job = await jobs.oneSided!;
      expect(job.status, JSON.stringify(job.error)).toBe('completed');
      const file = join(e2e.stack.blobDir, job.outputs.video!.key);
      expect(Math.abs(probeFacts(file).durationSec - oneSided.durationSec)).toBeLessThan(0.1);
      const events = await jobEvents(bus, ids.oneSided!);
      expect(countOf(events, 'clip.requested')).toBe(0); // the local provider's card is drawn, not made
      const timeline = events.find((e) => e.type === 'timeline.ready') as EventOf<'timeline.ready'>;
      const texts = timeline.data.timeline.tracks.flatMap((t) => t.clips).filter((c) => c.type === 'text');
      expect(texts.map((c) => (c as { text: string }).text)).toEqual(['Caller', 'Callee — silent']);
      // The caller's half moves with the speech; the card on the callee's half stays still.
      const during = { start: 0.5, duration: Math.min(2, oneSided.durationSec - 1) };
      const left = motionEnergy({ file, rect: { x: 0, y: 0, width: 640, height: 720 }, ...during });
      const right = motionEnergy({ file, rect: { x: 640, y: 0, width: 640, height: 720 }, ...during });
      expect(left).toBeGreaterThan(right * 2);
    }, 120_000);

    it('refuses an upload over the size limit with 413', async () => {
      const big = await makeTone({ file: join(tmp, 'big.wav'), seconds: 12, channels: 2 });
      const before = (await e2e.client.listJobs({ limit: 500 })).jobs.length;
      const err = await e2e.client.submitRecording({ file: big }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(413);
      expect((err as ApiError).message).toMatch(/UPLOAD_MAX_BYTES/);
      expect((await e2e.client.listJobs({ limit: 500 })).jobs.length).toBe(before);
    });

    it('keeps the failed messages in the dead-letter stream, and every service stays up', async () => {
      await Promise.allSettled(Object.values(jobs));
      const letters = await listDeadLetters(bus, { limit: 1000 });
      for (const name of ['empty', 'text']) {
        const mine = letters.filter((d) => d.jobId === ids[name]);
        expect(mine, name).toHaveLength(1);
        expect(mine[0]).toMatchObject({
          type: 'recording.received',
          service: 'audio-splitter',
          step: 'split',
        });
      }
      for (const name of ['mono', 'oneSided'])
        expect(
          letters.filter((d) => d.jobId === ids[name]),
          name,
        ).toHaveLength(0);
      for (const p of e2e.stack.processes.filter((x) => !killed.includes(x))) {
        expect(p.process.exitCode, procName(p)).toBeNull();
        const res = await fetch(`http://127.0.0.1:${p.healthPort}/readyz`);
        expect(res.status, procName(p)).toBe(200);
      }
      // Still exactly one webhook for the job whose encoder crashed.
      if (crashJobId) expect(receiver.forJob(crashJobId)).toHaveLength(1);
    });
  });
});
