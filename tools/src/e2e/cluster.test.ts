// reelbus beyond one machine, on loopback: three clustered nats-server processes, streams and the job
// bucket at 3 replicas, every service as its own process (the encoder twice). A NATS node dies
// mid-job, then an encoder replica dies mid-encode: each time the job completes, exactly once.
// The servers are ≥ 2.10 (`recentNatsServerBinary`: Debian bookworm's 2.9.10 loses concurrent
// compare-and-set updates on replicated streams, so `npm test` fetches trixie's nats-server for this).
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventType } from '@reelbus/contracts';
import { Bus } from '@reelbus/kit';
import { probeFacts, startNatsCluster, type NatsCluster } from '@reelbus/kit/testing';
import { makeSampleCall, SAMPLE_DIALOG, type SampleCall } from '../sample.ts';
import { startE2E, type E2E } from './harness.ts';
import { countJobEvents, followToEnd, isEncodeStart, logRecorder, procName } from './observe.ts';

/** Every pipeline event a call job has, and how many of each: none lost, none duplicated. */
const CALL_EVENTS: Partial<Record<EventType, number>> = {
  'recording.received': 1,
  'audio.split': 1,
  'clip.requested': 2,
  'clip.generated': 2,
  'timeline.ready': 1,
  'video.encoded': 1,
  'job.completed': 1,
};

describe('reelbus on a 3-node NATS JetStream cluster', () => {
  let cluster: NatsCluster;
  let e2e: E2E;
  let bus: Bus;
  let sample: SampleCall;
  let tmp: string;
  const { logs, onLine, waitForLog } = logRecorder();

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'reelbus-cluster-test-'));
    cluster = await startNatsCluster({ size: 3 });
    e2e = await startE2E({
      natsUrl: cluster.urls.join(','),
      replicas: { encoder: 2 },
      env: { STREAM_REPLICAS: '3', TMP_DIR: join(tmp, 'work'), CONSUMER_ACK_WAIT_MS: '6000' },
      // The clip path real providers take (clip.requested → ai-generator → clip.generated → fan-in),
      // rendered by the local provider: the offline default draws the speakers in the Timeline instead.
      serviceEnv: { compositor: { CALL_LOCAL_RENDER: 'clips' } },
      // R3 consumers are Raft groups: the notifier's 13 take a while on a busy 2-core machine
      readyTimeoutMs: 120_000,
      log: onLine,
    });
    // /readyz includes "consuming"; the log line is a second witness that every consumer exists before
    // a node is killed, so the kill cannot hit their creation.
    await Promise.all(
      e2e.stack.processes
        .filter((p) => p.service !== 'ingest')
        .map((p) => waitForLog((l) => l.proc === procName(p) && l.rec.msg === 'consuming')),
    );
    bus = await Bus.connect({ servers: cluster.urls, namespace: e2e.stack.namespace, name: 'cluster-test' });
    // The first two turns (~8 s): the crash is triggered by the encode's start, not by a long encode.
    sample = makeSampleCall({ file: join(tmp, 'call.wav'), dialog: SAMPLE_DIALOG.slice(0, 2) });
  }, 180_000);

  afterAll(async () => {
    await bus?.close();
    await e2e?.close();
    await cluster?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('keeps the events stream, the dead letters and the job bucket at 3 replicas', async () => {
    const { names } = bus;
    for (const stream of [names.eventsStream, names.deadLetterStream, `KV_${names.jobsBucket}`]) {
      const info = await bus.jsm.streams.info(stream);
      expect(info.config.num_replicas, stream).toBe(3);
      expect(info.cluster?.leader, stream).toBeTruthy();
      expect(info.cluster?.replicas ?? [], stream).toHaveLength(2);
    }
  });

  it('completes a call job exactly once when the events stream leader is killed mid-job', async () => {
    const { jobId } = await e2e.client.submitRecording({ file: sample.file });
    // Kill the node that leads the events stream as soon as the job is under way (its audio is split).
    const killed = new Promise<string>((resolve, reject) => {
      const watch = bus.watchJob(jobId, (event) => {
        if (event.type !== 'audio.split') return;
        watch.stop();
        bus.jsm.streams
          .info(bus.names.eventsStream)
          .then(async (info) => {
            const leader = cluster.servers.find((s) => s.name === info.cluster?.leader);
            if (!leader) throw new Error(`no server is named ${info.cluster?.leader}`);
            await leader.kill();
            resolve(leader.name);
          })
          .catch(reject);
      });
    });
    const job = await followToEnd({ e2e, jobId });
    const killedName = await killed;
    expect(job.status, JSON.stringify(job.error)).toBe('completed');
    // Another node took over the stream.
    const newLeader = (await bus.jsm.streams.info(bus.names.eventsStream)).cluster?.leader;
    expect(newLeader).toBeTruthy();
    expect(newLeader).not.toBe(killedName);

    const counts = await countJobEvents(bus, jobId);
    for (const [type, n] of Object.entries(CALL_EVENTS)) expect(counts[type] ?? 0, type).toBe(n);

    const facts = probeFacts(join(e2e.stack.blobDir, job.outputs.video!.key));
    expect(Math.abs(facts.durationSec - sample.durationSec)).toBeLessThan(0.1);

    // Every service found a surviving node and is ready.
    for (const p of e2e.stack.processes) {
      const res = await fetch(`http://127.0.0.1:${p.healthPort}/readyz`);
      expect(res.status, `${p.service}#${p.replica}`).toBe(200);
    }

    // The node comes back and catches up: the stream has its three replicas again.
    const server = cluster.servers.find((s) => s.name === killedName)!;
    await server.restart();
    const info = await bus.jsm.streams.info(bus.names.eventsStream);
    expect([info.cluster?.leader, ...(info.cluster?.replicas ?? []).map((r) => r.name)]).toContain(
      killedName,
    );
  }, 180_000);

  it('completes a job once when the encoder replica that renders it is killed mid-encode', async () => {
    const { jobId } = await e2e.client.submitRecording({ file: sample.file });
    const firstStart = await waitForLog(isEncodeStart(jobId));
    const victim = e2e.stack.processes.find(
      (p) => p.service === 'encoder' && procName(p) === firstStart.proc,
    );
    expect(victim, `no encoder process is named ${firstStart.proc}`).toBeDefined();
    // It stays down (no supervised restart): the other replica has to take the job over.
    await e2e.stack.kill(victim!, { restart: false });

    // After AckWait the other replica gets the message again and renders it.
    const job = await followToEnd({ e2e, jobId, killed: [victim!] });
    expect(job.status, JSON.stringify(job.error)).toBe('completed');
    expect(job.steps.encode?.status).toBe('completed');
    const starts = logs.filter(isEncodeStart(jobId));
    expect(starts.map((l) => l.proc)).toEqual([
      firstStart.proc,
      expect.not.stringMatching(`^${firstStart.proc}$`),
    ]);

    const counts = await countJobEvents(bus, jobId);
    expect(counts['video.encoded']).toBe(1);
    expect(counts['job.completed']).toBe(1);
    const jobDir = join(e2e.stack.blobDir, 'jobs', jobId);
    expect(readdirSync(jobDir).filter((f) => f.endsWith('.mp4'))).toEqual(['final.mp4']);
    const facts = probeFacts(join(jobDir, 'final.mp4'));
    expect(Math.abs(facts.durationSec - sample.durationSec)).toBeLessThan(0.1);
    expect(existsSync(join(e2e.stack.blobDir, job.outputs.video!.key))).toBe(true);
  }, 180_000);
});
