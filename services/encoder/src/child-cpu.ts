import { readFile } from 'node:fs/promises';

/*
 * CPU seconds of ffmpeg. Node exposes no getrusage(RUSAGE_CHILDREN) and sampling /proc/<pid>/stat
 * races the child's exit, but the kernel adds every reaped child's CPU to the parent's
 * `cutime`/`cstime` (/proc/self/stat fields 16-17). libuv reaps the child before runFfmpeg resolves,
 * so the delta around one run is that run's CPU — exact when it is the only child exiting in the
 * window (encoder concurrency 1), an over-count when other children of this process exit meanwhile.
 * Linux only; elsewhere `undefined` (cost then records no cpuSeconds).
 */

/** USER_HZ: the unit of /proc/<pid>/stat times (100 on every mainstream Linux architecture). */
const CLOCK_TICKS_PER_SECOND = 100;

/** Seconds of CPU used by this process's reaped children so far, or undefined off Linux. */
export async function childrenCpuSeconds(): Promise<number | undefined> {
  let stat: string;
  try {
    stat = await readFile('/proc/self/stat', 'utf8');
  } catch {
    return undefined;
  }
  return parseChildrenCpuSeconds(stat);
}

/** cutime + cstime from a /proc/<pid>/stat line, in seconds (the comm field may contain spaces and parentheses). */
export function parseChildrenCpuSeconds(stat: string): number | undefined {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); cutime is field 16, cstime field 17.
  const cutime = Number(fields[13]);
  const cstime = Number(fields[14]);
  if (!Number.isFinite(cutime) || !Number.isFinite(cstime)) return undefined;
  return (cutime + cstime) / CLOCK_TICKS_PER_SECOND;
}

/** Runs `fn` and returns its result with the CPU seconds children reaped meanwhile used. */
export async function measureChildrenCpu<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; cpuSeconds?: number }> {
  const before = await childrenCpuSeconds();
  const result = await fn();
  const after = await childrenCpuSeconds();
  return before === undefined || after === undefined
    ? { result }
    : { result, cpuSeconds: Math.round((after - before) * 100) / 100 };
}
