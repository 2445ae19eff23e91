// The embedded profile's single nats-server dies (issue 11 §2): it is SIGKILLed twice in the middle of
// a call job, and the stack's supervisor starts it again on the same port and store. Every service
// reconnects (the kit's Bus reconnects forever), the consumers and the KV job store carry on, the
// job completes exactly once, and every message the server had stored before it died is still there.
// It runs on nats-server ≥ 2.10 with `sync_interval: always` (fsync before every acknowledgement),
// the embedded default. A SIGKILL loses no page cache, so this proves the restart path, not power-cut
// durability: that comes from the fsync setting, which the test reads back from the server.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventOf, EventType } from '@reelbus/contracts';
import { Bus } from '@reelbus/kit';
import { probeFacts, recentNatsServerBinary, type NatsServerHandle } from '@reelbus/kit/testing';
import { makeSampleCall, SAMPLE_DIALOG, type SampleCall } from '../sample.ts';
import { startE2E, type E2E } from './harness.ts';
import { countJobEvents, followToEnd, logRecorder, procName } from './observe.ts';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.ts';

const CALL_EVENTS: Partial<Record<EventType, number>> = {
  'recording.received': 1,
  'audio.split': 1,
  'clip.requested': 2,
  'clip.generated': 2,
  'timeline.ready': 1,
  'video.encoded': 1,
  'job.completed': 1,
};

interface JszConfig {
  config: { sync_always?: boolean; store_dir: string };
}

/** Every message of a stream by sequence → its Nats-Msg-Id (the stream is small in a test). */
async function storedMessages(bus: Bus, stream: string): Promise<Map<number, string>> {
  const { state } = await bus.jsm.streams.info(stream);
  const seqs: number[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) seqs.push(seq);
  const out = new Map<number, string>();
  await Promise.all(
    seqs.map(async (seq) => {
      const m = await bus.jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (m) out.set(seq, m.header?.get('Nats-Msg-Id') ?? '');
    }),
  );
  return out;
}

describe('the embedded nats-server dies mid-job and the stack restarts it', () => {
  let e2e: E2E;
  let bus: Bus;
  let receiver: WebhookReceiver;
  let sample: SampleCall;
  let tmp: string;
  const { logs, onLine, waitForLog } = logRecorder();

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'reelbus-nats-restart-test-'));
    e2e = await startE2E({
      natsBin: recentNatsServerBinary(),
      natsMonitorPort: 0,
      env: { TMP_DIR: join(tmp, 'work'), CONSUMER_ACK_WAIT_MS: '5000' },
      // The clip path real providers take (clip.requested → ai-generator → clip.generated → fan-in),
      // rendered by the local provider: the offline default draws the speakers in the Timeline instead.
      serviceEnv: { compositor: { CALL_LOCAL_RENDER: 'clips' } },
      readyTimeoutMs: 150_000,
      log: onLine,
    });
    receiver = await startWebhookReceiver({ secret: e2e.stack.secrets.webhookSecret });
    bus = await Bus.connect({
      servers: e2e.stack.natsUrl,
      namespace: e2e.stack.namespace,
      name: 'nats-restart-test',
    });
    sample = makeSampleCall({ file: join(tmp, 'call.wav'), dialog: SAMPLE_DIALOG.slice(0, 2) });
  }, 240_000);

  afterAll(async () => {
    await bus?.close();
    await receiver?.close();
    await e2e?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const jsz = async () => {
    const res = await fetch(`${e2e.stack.natsMonitorUrl}/jsz`);
    expect(res.status).toBe(200);
    return (await res.json()) as JszConfig;
  };

  it('runs nats-server ≥ 2.10 with an fsync on every write, on the stack’s own store', async () => {
    expect(e2e.stack.natsServer).toMatchObject({ syncAlways: true });
    expect(e2e.stack.natsServer!.version[0] * 100 + e2e.stack.natsServer!.version[1]).toBeGreaterThanOrEqual(
      210,
    );
    const { config } = await jsz();
    expect(config.sync_always).toBe(true);
    expect(config.store_dir.startsWith(join(e2e.dir, 'state', 'nats'))).toBe(true);
  });

  it('completes a call job once when nats-server is SIGKILLed twice mid-job; every service reconnects', async () => {
    // The job document's revision in the KV bucket: the sequence of its last entry in the bucket's stream.
    const revisionOfJob = async () =>
      (await bus.jsm.streams.getMessage(`KV_${bus.names.jobsBucket}`, {
        last_by_subj: `$KV.${bus.names.jobsBucket}.${jobId}`,
      }))!.seq;
    const eventsStream = bus.names.eventsStream;
    const { jobId } = await e2e.client.submitRecording({ file: sample.file, callbackUrl: receiver.url });

    // Kill the server while clips are being generated (the compositor's fan-in is half done), and
    // again when the encoder starts (it encodes while the server is down, then publishes).
    const killAt: Array<(e: EventOf<EventType>) => boolean> = [
      (e) => e.type === 'clip.generated',
      (e) =>
        e.type === 'job.progress' &&
        (e as EventOf<'job.progress'>).data.step === 'encode' &&
        (e as EventOf<'job.progress'>).data.status === 'started',
    ];
    const crashes: Array<{
      before: Map<number, string>;
      jobRevision: number;
      killed: NatsServerHandle;
      restarted: NatsServerHandle;
    }> = [];
    let busy = false;
    const crashed = new Promise<void>((resolve, reject) => {
      const watch = bus.watchJob(jobId, (event) => {
        if (busy || !killAt[0]?.(event)) return;
        busy = true;
        killAt.shift();
        void (async () => {
          // What the server holds right now: all of it was stored (and fsynced) before it was acknowledged.
          const before = await storedMessages(bus, eventsStream);
          const jobRevision = await revisionOfJob();
          const killed = e2e.stack.nats!;
          await e2e.stack.kill(killed); // a crash: the supervisor restarts it on the same port and store
          const restarted = await e2e.stack.restarted(killed);
          crashes.push({ before, jobRevision, killed, restarted });
          busy = false;
          if (killAt.length === 0) {
            watch.stop();
            resolve();
          }
        })().catch(reject);
      });
    });

    const job = await followToEnd({ e2e, jobId });
    await crashed;
    expect(job.status, JSON.stringify(job.error)).toBe('completed');

    // Two crashes, two restarts by the supervisor, each on the same port.
    expect(crashes).toHaveLength(2);
    for (const c of crashes) {
      expect(c.killed.process.signalCode).toBe('SIGKILL');
      expect(c.restarted.process.pid).not.toBe(c.killed.process.pid);
      expect(c.restarted.url).toBe(e2e.stack.natsUrl);
    }
    const said = logs.filter((l) => l.proc === 'stack').map((l) => l.rec.msg);
    expect(said).toEqual([
      'nats-server killed by SIGKILL unexpectedly; restarting it in 1 s (crash 1 in a row; it stays down after 5)',
      'nats-server restarted and ready',
      'nats-server killed by SIGKILL unexpectedly; restarting it in 2 s (crash 2 in a row; it stays down after 5)',
      'nats-server restarted and ready',
    ]);

    // Nothing the server had stored before either crash is lost, and the job document only moved on.
    const after = await storedMessages(bus, eventsStream);
    for (const c of crashes) {
      for (const [seq, id] of c.before) expect(after.get(seq), `events stream seq ${seq}`).toBe(id);
      expect(await revisionOfJob()).toBeGreaterThan(c.jobRevision);
    }

    // Exactly once: every pipeline event once, one final video, one webhook.
    const counts = await countJobEvents(bus, jobId);
    for (const [type, n] of Object.entries(CALL_EVENTS)) expect(counts[type] ?? 0, type).toBe(n);
    const jobDir = join(e2e.stack.blobDir, 'jobs', jobId);
    expect(readdirSync(jobDir).filter((f) => f.endsWith('.mp4'))).toEqual(['final.mp4']);
    expect(Math.abs(probeFacts(join(jobDir, 'final.mp4')).durationSec - sample.durationSec)).toBeLessThan(
      0.1,
    );
    await receiver.waitFor(jobId);

    // Every service lost the server and found it again, without a restart of its own.
    for (const p of e2e.stack.processes) {
      const name = procName(p);
      const mine = logs.filter((l) => l.proc === name).map((l) => l.rec.msg);
      expect(mine.filter((m) => m === 'reconnected to NATS').length, name).toBeGreaterThanOrEqual(2);
      expect(p.process.exitCode, name).toBeNull();
      expect((await fetch(`http://127.0.0.1:${p.healthPort}/readyz`)).status, name).toBe(200);
    }
    expect(logs.some((l) => l.proc === 'stack' && /^(?!nats-server)/.test(String(l.rec.msg)))).toBe(false);

    // Every durable consumer caught up: nothing pending, nothing waiting for an ack.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const behind = [];
      for await (const c of bus.jsm.consumers.list(eventsStream))
        if (c.num_pending > 0 || c.num_ack_pending > 0)
          behind.push(`${c.name}: ${c.num_pending}/${c.num_ack_pending}`);
      if (behind.length === 0) break;
      if (Date.now() > deadline) expect(behind, 'consumers still behind (pending/ack pending)').toEqual([]);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(receiver.forJob(jobId)).toHaveLength(1);

    // The restarted server kept its configuration.
    expect((await jsz()).config.sync_always).toBe(true);
  }, 300_000);

  it('runs the next job through every service on the restarted server', async () => {
    const { jobId } = await e2e.client.submitRecording({ file: sample.file, callbackUrl: receiver.url });
    const job = await followToEnd({ e2e, jobId });
    expect(job.status, JSON.stringify(job.error)).toBe('completed');
    const counts = await countJobEvents(bus, jobId);
    for (const [type, n] of Object.entries(CALL_EVENTS)) expect(counts[type] ?? 0, type).toBe(n);
    await waitForLog((l) => l.proc === 'notifier' && l.rec.jobId === jobId && l.rec.type === 'job.completed');
    expect((await receiver.waitFor(jobId)).body).toMatchObject({ event: 'job.completed', jobId });
  }, 180_000);
});
