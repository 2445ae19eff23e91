// 4. Throughput and 5. memory: N short call jobs submitted at once to the embedded stack, with one and
// then two replicas of each heavy service. CPU use of every core from /proc/stat over the run; RSS of
// every service process (idle after start, peak while the jobs run) from /proc/<pid>/status.
import { rmSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { makeCall, runCallJob, startBenchStack, tempDir } from './common.ts';
import { cpuUse, readCpu, readMemory, readProcessCpuSec, sampleMemory } from './proc.ts';
import { row, summarize, type Row } from './stats.ts';

const HEAVY = ['audio-splitter', 'ai-generator', 'encoder'];
/** Let a freshly started process finish its start-up work before its idle memory is read. */
const SETTLE_MS = 3_000;

interface RunResult {
  replicas: number;
  jobs: number;
  failed: number;
  wallSec: number;
  jobsPerMin: number;
  perJobSec: number[];
  coreUse: number[];
  /** CPU seconds the stack's processes and their ffmpeg children used, per wall second and core (0-1). */
  stackCpuShare: number;
  idleRssMb: Record<string, number>;
  load: Record<string, { peakRssMb: number; hwmMb: number }>;
}

async function runConfig(opts: {
  root: string;
  replicas: number;
  jobs: number;
  file: string;
  log: (s: string) => void;
}): Promise<RunResult> {
  const { root, replicas, jobs, file, log } = opts;
  const bench = await startBenchStack({
    root,
    replicas: Object.fromEntries(HEAVY.map((s) => [s, replicas])),
  });
  try {
    const pids = Object.fromEntries(
      bench.stack.processes.map((p) => [p.replica ? `${p.service}#${p.replica}` : p.service, p.process.pid!]),
    );
    await delay(SETTLE_MS);
    const idleRssMb = Object.fromEntries(
      Object.entries(pids).map(([n, pid]) => [n, readMemory(pid)?.rssMb ?? Number.NaN]),
    );
    const warm = await runCallJob({ bench, file });
    if (!warm.ok) throw new Error(`warm-up job ${warm.jobId} failed`);
    const mem = sampleMemory({ pids });
    const cpu0 = readCpu();
    const stackCpu = () => Object.values(pids).reduce((a, pid) => a + (readProcessCpuSec(pid) ?? 0), 0);
    const stack0 = stackCpu();
    const t0 = performance.now();
    const results = await Promise.all(
      Array.from({ length: jobs }, () =>
        runCallJob({ bench, file }).catch((err: unknown) => ({ ok: false, totalMs: Number.NaN, err })),
      ),
    );
    const wallSec = (performance.now() - t0) / 1000;
    const coreUse = cpuUse(cpu0, readCpu());
    const stackCpuShare = (stackCpu() - stack0) / wallSec / coreUse.length;
    const load = mem.stop();
    const failed = results.filter((r) => !r.ok).length;
    log(
      `throughput: ${replicas} replica(s): ${jobs} jobs in ${wallSec.toFixed(1)} s, ${failed} failed, cores ${coreUse.map((c) => `${(c * 100).toFixed(0)}%`).join(' ')} (reelbus's own share ${(stackCpuShare * 100).toFixed(0)}%)`,
    );
    return {
      replicas,
      jobs,
      failed,
      wallSec,
      jobsPerMin: (jobs / wallSec) * 60,
      perJobSec: results.filter((r) => r.ok).map((r) => r.totalMs / 1000),
      coreUse,
      stackCpuShare,
      idleRssMb,
      load,
    };
  } finally {
    await bench.close();
  }
}

export async function benchThroughput(opts: {
  quick: boolean;
  log: (s: string) => void;
  root: string;
}): Promise<{ rows: Row[]; raw: unknown }> {
  const { quick, log, root } = opts;
  const jobs = quick ? 6 : 20;
  const seconds = quick ? 5 : 10;
  const dir = tempDir('throughput');
  let one: RunResult;
  let two: RunResult;
  try {
    const call = await makeCall({ dir, seconds });
    one = await runConfig({ root, replicas: 1, jobs, file: call.file, log });
    two = await runConfig({ root, replicas: 2, jobs, file: call.file, log });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const label = `${jobs}×${seconds} s calls`;
  const rows: Row[] = [
    row({
      bench: 'throughput',
      metric: `${label}: jobs/min, 2 replicas vs 1`,
      unit: 'jobs/min',
      subject: [two.jobsPerMin],
      baseline: [one.jobsPerMin],
      note: `failed: ${two.failed} (2 replicas), ${one.failed} (1)`,
    }),
    row({
      bench: 'throughput',
      metric: `${label}: time per job, 2 replicas vs 1`,
      unit: 's',
      subject: two.perJobSec,
      baseline: one.perJobSec,
      keepSamples: false,
    }),
    row({
      bench: 'throughput',
      metric: `${label}: CPU use of all cores (machine), 2 replicas vs 1`,
      unit: '%',
      subject: [(100 * two.coreUse.reduce((a, b) => a + b, 0)) / two.coreUse.length],
      baseline: [(100 * one.coreUse.reduce((a, b) => a + b, 0)) / one.coreUse.length],
      note: `reelbus processes + ffmpeg: ${(two.stackCpuShare * 100).toFixed(0)}% (2), ${(one.stackCpuShare * 100).toFixed(0)}% (1); per core: ${two.coreUse.map((c) => (c * 100).toFixed(0)).join('/')}% (2), ${one.coreUse.map((c) => (c * 100).toFixed(0)).join('/')}% (1)`,
    }),
  ];
  for (const [name, idle] of Object.entries(one.idleRssMb)) {
    const l = one.load[name];
    rows.push(
      row({
        bench: 'memory',
        metric: `${name}: RSS idle (1 replica)`,
        unit: 'MB',
        subject: [idle],
        note: `peak under load ${l?.peakRssMb.toFixed(0) ?? '-'} MB, VmHWM ${l?.hwmMb.toFixed(0) ?? '-'} MB; 2-replica run: idle ${(two.idleRssMb[name] ?? Number.NaN).toFixed(0)}, peak ${(two.load[name]?.peakRssMb ?? Number.NaN).toFixed(0)} MB`,
      }),
    );
  }
  const allIdle = Object.values(one.idleRssMb);
  log(
    `memory: idle RSS per service ${summarize(allIdle).min.toFixed(0)}–${summarize(allIdle).max.toFixed(0)} MB`,
  );
  return { rows, raw: { jobs, seconds, oneReplica: one, twoReplicas: two } };
}
