// Shared set-up for the benchmarks that run media: sample recordings, the embedded stack, a job
// watcher on the bus.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { HEADERS, names } from '@reelbus/contracts';
import { probe } from '@reelbus/kit';
import { freePort } from '@reelbus/kit/testing';
import { ReelbusClient } from '../src/client.ts';
import { makeSampleCall, SAMPLE_DIALOG } from '../src/sample.ts';
import { startStack, type Stack, type StackOptions } from '../src/stack.ts';

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `reelbus-bench-${prefix}-`));
}

/** A Twilio-like dual-channel 8 kHz call of exactly `seconds` (the demo's dialog, repeated, then trimmed). */
export async function makeCall(opts: {
  dir: string;
  seconds: number;
  name?: string;
}): Promise<{ file: string; durationSec: number }> {
  const { dir, seconds, name = `call-${seconds}s.wav` } = opts;
  const once = makeSampleCall({ file: join(dir, 'dialog-once.wav') });
  const repeats = Math.max(1, Math.ceil(seconds / once.durationSec));
  const long = makeSampleCall({
    file: join(dir, `dialog-x${repeats}.wav`),
    dialog: Array.from({ length: repeats }, () => SAMPLE_DIALOG).flat(),
  });
  const file = join(dir, name);
  execFileSync('sox', [long.file, file, 'trim', '0', String(seconds)]);
  return { file, durationSec: (await probe(file)).durationSec };
}

export interface BenchStack {
  stack: Stack;
  client: ReelbusClient;
  watcher: JobWatcher;
  logs: string[];
  dir: string;
  close(): Promise<void>;
}

/** The services of the call pipeline (others, e.g. a story service in progress, are not started). */
export const CALL_SERVICES = [
  'notifier',
  'audio-splitter',
  'ai-generator',
  'compositor',
  'encoder',
  'ingest',
];

export async function startBenchStack(opts: {
  root: string;
  replicas?: Record<string, number>;
  env?: Record<string, string>;
  serviceEnv?: Record<string, Record<string, string>>;
  services?: string[];
}): Promise<BenchStack> {
  const { root, replicas, env, serviceEnv, services = CALL_SERVICES } = opts;
  const dir = tempDir('stack');
  const logs: string[] = [];
  const stackOpts: StackOptions = {
    root,
    dataDir: join(dir, 'state'),
    natsPort: 0,
    ingestPort: await freePort(),
    rawLogs: true,
    services,
    // a loaded 2-core machine can take a while to start nine tsx processes at once
    readyTimeoutMs: 180_000,
    log: (l) => {
      logs.push(l);
      if (logs.length > 2000) logs.splice(0, 1000);
    },
    ...(replicas ? { replicas } : {}),
    ...(env ? { env } : {}),
    ...(serviceEnv ? { serviceEnv } : {}),
  };
  let stack: Stack;
  try {
    stack = await startStack(stackOpts);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(
      `the stack did not start: ${err instanceof Error ? err.message : String(err)}\n${logs.slice(-10).join('\n')}`,
      { cause: err },
    );
  }
  const client = new ReelbusClient({ baseUrl: stack.ingestUrl, apiKey: stack.secrets.apiKey });
  const watcher = await JobWatcher.start({ url: stack.natsUrl, namespace: stack.namespace });
  return {
    stack,
    client,
    watcher,
    logs,
    dir,
    async close() {
      await watcher.close();
      await stack.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** When each event type of each job was first seen on the bus (performance.now() of this process). */
export class JobWatcher {
  readonly seen = new Map<string, Map<string, number>>();
  readonly #waiters = new Map<string, (r: { type: string; at: number }) => void>();
  private constructor(readonly nc: NatsConnection) {}

  static async start(opts: { url: string; namespace: string }): Promise<JobWatcher> {
    const nc = await connect({ servers: opts.url, name: 'bench-watch' });
    const w = new JobWatcher(nc);
    nc.subscribe(names(opts.namespace).allEvents, {
      callback: (_err, msg) => {
        const at = performance.now();
        const jobId = msg.headers?.get(HEADERS.jobId);
        const type = msg.headers?.get(HEADERS.type);
        if (!jobId || !type) return;
        let m = w.seen.get(jobId);
        if (!m) w.seen.set(jobId, (m = new Map()));
        if (!m.has(type)) m.set(type, at);
        m.set(`${type}#last`, at);
        if (type === 'job.completed' || type === 'job.failed') {
          const r = w.#waiters.get(jobId);
          if (r) {
            w.#waiters.delete(jobId);
            r({ type, at });
          }
        }
      },
    });
    await nc.flush();
    return w;
  }

  /** Resolves at job.completed or job.failed. */
  done(jobId: string): Promise<{ type: string; at: number }> {
    const m = this.seen.get(jobId);
    for (const type of ['job.completed', 'job.failed']) {
      const at = m?.get(type);
      if (at !== undefined) return Promise.resolve({ type, at });
    }
    return new Promise((r) => this.#waiters.set(jobId, r));
  }

  close(): Promise<void> {
    return this.nc.close();
  }
}

/** Uploads `file` and waits for the job to finish; times are ms from just before the upload. */
export async function runCallJob(opts: { bench: BenchStack; file: string; timeoutMs?: number }): Promise<{
  jobId: string;
  ok: boolean;
  totalMs: number;
  steps: Record<string, number>;
}> {
  const { bench, file, timeoutMs = 600_000 } = opts;
  const t0 = performance.now();
  const { jobId } = await bench.client.submitRecording({ file });
  let timer: NodeJS.Timeout | undefined;
  const end = await Promise.race([
    bench.watcher.done(jobId),
    new Promise<never>(
      (_, rej) =>
        (timer = setTimeout(
          () => rej(new Error(`job ${jobId} did not finish within ${timeoutMs} ms`)),
          timeoutMs,
        )),
    ),
  ]).finally(() => clearTimeout(timer));
  const seen = bench.watcher.seen.get(jobId) ?? new Map<string, number>();
  const steps: Record<string, number> = {};
  for (const [type, at] of seen) if (!type.startsWith('job.progress')) steps[type] = at - t0;
  return { jobId, ok: end.type === 'job.completed', totalMs: end.at - t0, steps };
}
