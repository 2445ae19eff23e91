// `npm run bench [-- --quick] [-- --only bus|call|story|encode|merge|render|project|throughput]`: runs the benchmarks, prints
// one table (medians, p95, ratio against the baseline measured in the same run) headed by the load
// average at the start and the end (figures taken at load ≫ cores are indicative only), and writes
// every figure with the machine's description to bench-results/<timestamp>.json. Nothing is asserted.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { natsServerBinary } from '@reelbus/kit/testing';
import { benchBus } from './bus.ts';
import { benchEncode } from './encode.ts';
import { benchMerge } from './merge.ts';
import { benchPipeline } from './pipeline.ts';
import { benchProject } from './project.ts';
import { benchRender } from './render.ts';
import { benchStory } from './story.ts';
import { benchThroughput } from './throughput.ts';
import { formatTable, type Row } from './stats.ts';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

const BENCHES = ['bus', 'pipeline', 'story', 'encode', 'merge', 'render', 'project', 'throughput'] as const;
type BenchName = (typeof BENCHES)[number];

function parseArgs(argv: string[]): { quick: boolean; only: BenchName[]; rounds: number | undefined } {
  let quick = false;
  let rounds: number | undefined;
  const only: BenchName[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') quick = true;
    else if (a === '--rounds' || a.startsWith('--rounds=')) {
      const v = a.includes('=') ? a.slice(9) : argv[++i];
      rounds = Number(v);
      if (!Number.isInteger(rounds) || rounds < 1) {
        console.error(`--rounds: "${v ?? ''}" is not a whole number ≥ 1`);
        process.exit(2);
      }
    } else if (a === '--only' || a.startsWith('--only=')) {
      const v = a.includes('=') ? a.slice(7) : argv[++i];
      for (const name of (v ?? '').split(',')) {
        // `call` is the call pipeline's benchmark (`pipeline`); `memory` comes with `throughput`
        const b = name === 'memory' ? 'throughput' : name === 'call' ? 'pipeline' : name;
        if (!(BENCHES as readonly string[]).includes(b)) {
          console.error(
            `--only: unknown benchmark "${name}" (choose from ${BENCHES.join(', ')}, call, memory)`,
          );
          process.exit(2);
        }
        if (!only.includes(b as BenchName)) only.push(b as BenchName);
      }
    } else if (a === '--help' || a === '-h') {
      console.log(
        'usage: npm run bench [-- --quick] [-- --rounds N] [-- --only bus|call|story|encode|merge|render|project|throughput|memory[,…]]\n' +
          '  --quick  short inputs, one round (a quick check; the full run is what figures are quoted from)\n' +
          '  --rounds N  rounds of the render benchmark (full run: 2; each round of the full run takes 20-30 min)\n' +
          '  call = pipeline (the call end to end against tools/bench/plain-call.sh)',
      );
      process.exit(0);
    } else {
      console.error(`unknown argument "${a}" (try --help)`);
      process.exit(2);
    }
  }
  return { quick, only: only.length ? only : [...BENCHES], rounds };
}

function tryRun(bin: string, args: string[]): string {
  try {
    return execFileSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    return 'unknown';
  }
}

export function machineInfo(): Record<string, unknown> {
  const c = cpus();
  return {
    cpuModel: c[0]?.model ?? 'unknown',
    cores: c.length,
    memoryGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    ffmpeg: tryRun('ffmpeg', ['-version']).split('\n')[0],
    natsServer: tryRun(natsServerBinary(), ['--version']),
    gitCommit: tryRun('git', ['-C', ROOT, 'rev-parse', 'HEAD']),
    gitDirty: tryRun('git', ['-C', ROOT, 'status', '--porcelain']) !== '',
  };
}

/** The 1, 5 and 15 minute load averages, e.g. `1.02 0.87 0.60`. */
function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

async function main(): Promise<void> {
  const { quick, only, rounds } = parseArgs(process.argv.slice(2));
  const machine = machineInfo();
  const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);
  log(
    `${quick ? 'quick' : 'full'} run: ${only.join(', ')} on ${String(machine.cpuModel)} ×${String(machine.cores)}`,
  );
  const started = new Date();
  const loadAtStart = loadAverage();
  log(`load average at start: ${loadAtStart} (${String(machine.cores)} cores)`);
  const rows: Row[] = [];
  const details: Record<string, unknown> = {};
  const timings: Record<string, number> = {};
  for (const name of only) {
    const t = performance.now();
    log(`${name}: starting`);
    try {
      const res =
        name === 'bus'
          ? await benchBus({ quick, log })
          : name === 'pipeline'
            ? await benchPipeline({ quick, log, root: ROOT })
            : name === 'story'
              ? await benchStory({ quick, log, root: ROOT })
              : name === 'encode'
                ? await benchEncode({ quick, log, root: ROOT })
                : name === 'merge'
                  ? await benchMerge({ quick, log })
                  : name === 'render'
                    ? await benchRender({ quick, log, root: ROOT, rounds })
                    : name === 'project'
                      ? await benchProject({ quick, log, root: ROOT })
                      : await benchThroughput({ quick, log, root: ROOT });
      rows.push(...res.rows);
      details[name] = res.raw;
    } catch (err) {
      log(`${name}: FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      details[name] = { error: err instanceof Error ? err.message : String(err) };
    }
    timings[name] = (performance.now() - t) / 1000;
    log(`${name}: ${timings[name]!.toFixed(0)} s`);
  }
  const loadAtEnd = loadAverage();
  console.log('');
  console.log(
    `${quick ? 'quick' : 'full'} run, ${String(machine.cores)} cores; load average (1/5/15 min) at start ${loadAtStart}, at end ${loadAtEnd}` +
      (Number(loadAtStart.split(' ')[0]) > Number(machine.cores)
        ? ' — the machine was busy with other work: wall-clock figures are indicative only, compare CPU-seconds'
        : ''),
  );
  console.log(formatTable(rows));
  const dir = join(ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${started.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      {
        startedAt: started.toISOString(),
        mode: quick ? 'quick' : 'full',
        only,
        machine,
        loadAverage: { start: loadAtStart, end: loadAtEnd },
        secondsPerBench: timings,
        rows,
        details,
      },
      null,
      2,
    ),
  );
  console.log(`\nwrote ${file}`);
}

await main();
