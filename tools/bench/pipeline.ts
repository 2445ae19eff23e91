// 2. Pipeline overhead: a stereo call through the embedded stack (upload → job.completed) against ONE
// plain, hand-written ffmpeg command that makes the same look from the same file
// (tools/bench/plain-call.sh), alternating. A second stack renders the same call the way calls were
// made before the compositor drew the local provider's speakers itself (CALL_LOCAL_RENDER=clips: two
// speaker clips, then the final encode), so before and after are measured in the same run. Wall time
// and CPU-seconds (every process of the stack, their ffmpeg children included) for each.
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeCall, runCallJob, startBenchStack, tempDir, type BenchStack } from './common.ts';
import { readProcessCpuSec, readReapedChildrenCpuSec } from './proc.ts';
import { median, row, type Row } from './stats.ts';

const run = promisify(execFile);

/** One call job end to end: wall seconds, CPU-seconds of the whole stack, the steps seen on the bus. */
interface CallRun {
  totalSec: number;
  cpuSec: number;
  /** The same per process of the stack (kept in the JSON: where the CPU went). */
  cpuByProcess: Record<string, number>;
  /** The encoder's own ffmpeg CPU-seconds (the job's cost). */
  encodeCpuSec: number | undefined;
  steps: Record<string, number>;
}

/** Pipeline steps as seen on the bus, seconds: upload+split, compose (clips included), encode, the tail. */
function pipelineSteps(s: Record<string, number>): {
  split: number;
  compose: number;
  encode: number;
  tail: number;
} {
  const split = s['audio.split'] ?? Number.NaN;
  const ready = s['timeline.ready'] ?? Number.NaN;
  const encoded = s['video.encoded'] ?? Number.NaN;
  const done = s['job.completed'] ?? Number.NaN;
  return {
    split: split / 1000,
    compose: (ready - split) / 1000,
    encode: (encoded - ready) / 1000,
    tail: (done - encoded) / 1000,
  };
}

/** CPU-seconds each process of the stack has used so far (services with their reaped ffmpeg runs, nats-server). */
function stackCpuSec(bench: BenchStack): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of bench.stack.processes) {
    const name = p.replica ? `${p.service}#${p.replica}` : p.service;
    if (p.process.pid !== undefined) out[name] = readProcessCpuSec(p.process.pid) ?? 0;
  }
  const nats = bench.stack.nats?.process.pid;
  if (nats !== undefined) out['nats-server'] = readProcessCpuSec(nats) ?? 0;
  return out;
}

async function runReelbus(bench: BenchStack, file: string): Promise<CallRun> {
  const cpu0 = stackCpuSec(bench);
  const res = await runCallJob({ bench, file });
  const cpu1 = stackCpuSec(bench);
  const cpuByProcess = Object.fromEntries(
    Object.entries(cpu1).map(([name, sec]) => [name, Math.round((sec - (cpu0[name] ?? 0)) * 100) / 100]),
  );
  const cpuSec = Object.values(cpuByProcess).reduce((a, b) => a + b, 0);
  if (!res.ok) {
    throw new Error(
      `job ${res.jobId} failed: ${bench.logs
        .filter((l) => /error|fail/i.test(l))
        .slice(-5)
        .join('\n')}`,
    );
  }
  const job = await bench.client.getJob(res.jobId);
  return {
    totalSec: res.totalMs / 1000,
    cpuSec,
    cpuByProcess,
    encodeCpuSec: job.cost?.cpuSeconds,
    steps: res.steps,
  };
}

/** The baseline: tools/bench/plain-call.sh, one ffmpeg command; its wall time and CPU-seconds. */
async function runPlain(
  root: string,
  input: string,
  output: string,
): Promise<{ totalSec: number; cpuSec: number }> {
  const cpu0 = readReapedChildrenCpuSec();
  const t0 = performance.now();
  await run('bash', [join(root, 'tools', 'bench', 'plain-call.sh'), input, output], { maxBuffer: 1 << 20 });
  const totalSec = (performance.now() - t0) / 1000;
  return { totalSec, cpuSec: readReapedChildrenCpuSec() - cpu0 };
}

export async function benchPipeline(opts: {
  quick: boolean;
  log: (s: string) => void;
  root: string;
}): Promise<{ rows: Row[]; raw: unknown }> {
  const { quick, log, root } = opts;
  const seconds = quick ? 20 : 60;
  const rounds = quick ? 1 : 2;
  const dir = tempDir('pipeline');
  const rows: Row[] = [];
  const raw: Record<string, unknown> = { seconds, rounds };
  try {
    const call = await makeCall({ dir, seconds });
    const warm = await makeCall({ dir, seconds: 4, name: 'warmup.wav' });
    log(`pipeline: ${call.durationSec.toFixed(1)} s call; starting the stacks`);
    let t = performance.now();
    // one after the other: two stacks starting at once miss the ready deadline on a loaded 2-core machine
    const now = await startBenchStack({ root });
    const before = await startBenchStack({
      root,
      serviceEnv: { compositor: { CALL_LOCAL_RENDER: 'clips' } },
    }).catch(async (err: unknown) => {
      await now.close();
      throw err;
    });
    log(`pipeline: stacks ready in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const reel: CallRun[] = [];
    const clips: CallRun[] = [];
    const plain: Array<{ totalSec: number; cpuSec: number }> = [];
    const fmt = (r: { totalSec: number; cpuSec: number }) =>
      `${r.totalSec.toFixed(1)} s, ${r.cpuSec.toFixed(1)} CPU-s`;
    try {
      t = performance.now();
      for (const b of [now, before]) {
        const w = await runCallJob({ bench: b, file: warm.file });
        if (!w.ok) throw new Error(`warm-up job ${w.jobId} failed`);
      }
      await runPlain(root, warm.file, join(dir, 'plain-warm.mp4'));
      log(`pipeline: warm-up jobs ${((performance.now() - t) / 1000).toFixed(1)} s`);
      for (let r = 0; r < rounds; r++) {
        const arms = ['reelbus', 'plain', 'clips'] as const;
        const order = r % 2 === 0 ? arms : ([...arms].reverse() as unknown as typeof arms);
        for (const which of order) {
          if (which === 'reelbus') {
            const res = await runReelbus(now, call.file);
            reel.push(res);
            log(`pipeline: reelbus ${fmt(res)} ${JSON.stringify(res.cpuByProcess)}`);
          } else if (which === 'clips') {
            const res = await runReelbus(before, call.file);
            clips.push(res);
            log(`pipeline: reelbus, clip path (before) ${fmt(res)} ${JSON.stringify(res.cpuByProcess)}`);
          } else {
            const out = join(dir, `plain-${r}.mp4`);
            const res = await runPlain(root, call.file, out);
            plain.push(res);
            rmSync(out, { force: true });
            log(`pipeline: one plain ffmpeg command ${fmt(res)}`);
          }
        }
      }
    } finally {
      await Promise.all([now.close(), before.close()]);
    }
    raw.reelbus = reel;
    raw.reelbusClipPath = clips;
    raw.plain = plain;
    raw.plainScript = readFileSync(join(root, 'tools', 'bench', 'plain-call.sh'), 'utf8');
    const label = `${seconds} s call`;
    const wall = (xs: Array<{ totalSec: number }>) => xs.map((x) => x.totalSec);
    const cpu = (xs: Array<{ cpuSec: number }>) => xs.map((x) => x.cpuSec);
    rows.push(
      row({
        bench: 'pipeline',
        metric: `${label}: upload→job.completed vs one plain ffmpeg command`,
        unit: 's',
        subject: wall(reel),
        baseline: wall(plain),
        note: 'ratio target ≤ 1.15× (issue 10 §5); the plain command is tools/bench/plain-call.sh',
      }),
      row({
        bench: 'pipeline',
        metric: `${label}: CPU-seconds, whole stack vs the plain command`,
        unit: 'cpu-s',
        subject: cpu(reel),
        baseline: cpu(plain),
        note: 'every service process with its ffmpeg runs, and nats-server',
      }),
      row({
        bench: 'pipeline',
        metric: `${label}: the encoder's ffmpeg alone vs the plain command`,
        unit: 'cpu-s',
        subject: reel.flatMap((x) => (x.encodeCpuSec !== undefined ? [x.encodeCpuSec] : [])),
        baseline: cpu(plain),
        note: "the job's cost.cpuSeconds",
      }),
    );
    const rs = reel.map((x) => pipelineSteps(x.steps));
    rows.push(
      row({
        bench: 'pipeline',
        metric: `${label}: upload+split → audio.split`,
        unit: 's',
        subject: rs.map((x) => x.split),
      }),
      row({
        bench: 'pipeline',
        metric: `${label}: compose → timeline.ready`,
        unit: 's',
        subject: rs.map((x) => x.compose),
      }),
      row({
        bench: 'pipeline',
        metric: `${label}: encode → video.encoded`,
        unit: 's',
        subject: rs.map((x) => x.encode),
      }),
      row({
        bench: 'pipeline',
        metric: `${label}: video.encoded → job.completed`,
        unit: 's',
        subject: rs.map((x) => x.tail),
      }),
    );
    const cs = clips.map((x) => pipelineSteps(x.steps));
    rows.push(
      row({
        bench: 'pipeline',
        metric: `${label}, clip path (before): upload→job.completed vs the plain command`,
        unit: 's',
        subject: wall(clips),
        baseline: wall(plain),
        note: 'CALL_LOCAL_RENDER=clips: two speaker clips, then the final encode',
      }),
      row({
        bench: 'pipeline',
        metric: `${label}, clip path (before): CPU-seconds vs the plain command`,
        unit: 'cpu-s',
        subject: cpu(clips),
        baseline: cpu(plain),
      }),
      row({
        bench: 'pipeline',
        metric: `${label}: drawn (now) vs clip path (before), upload→job.completed`,
        unit: 's',
        subject: wall(reel),
        baseline: wall(clips),
        note: `clip path: clips ${median(cs.map((x) => x.compose)).toFixed(1)} s, encode ${median(cs.map((x) => x.encode)).toFixed(1)} s`,
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // The 2-minute story has its own benchmark: `npm run bench -- --only story`.
  return { rows, raw };
}
