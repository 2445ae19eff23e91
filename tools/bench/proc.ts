// Machine sampling from /proc: CPU use of every core and the memory of processes.
import { readFileSync } from 'node:fs';

export interface CpuTimes {
  /** Per core: [busy, total] jiffies. */
  cores: Array<{ busy: number; total: number }>;
}

export function readCpu(): CpuTimes {
  const lines = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .filter((l) => /^cpu\d+ /.test(l));
  return {
    cores: lines.map((l) => {
      const v = l.trim().split(/\s+/).slice(1).map(Number);
      // user nice system idle iowait irq softirq steal
      const idle = (v[3] ?? 0) + (v[4] ?? 0);
      const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
      return { busy: total - idle, total };
    }),
  };
}

/** Busy share (0-1) of each core between two readings. */
export function cpuUse(a: CpuTimes, b: CpuTimes): number[] {
  return b.cores.map((c, i) => {
    const p = a.cores[i]!;
    const total = c.total - p.total;
    return total > 0 ? (c.busy - p.busy) / total : 0;
  });
}

/** VmRSS and VmHWM (peak) of a process, in MB; undefined when it is gone. */
export function readMemory(pid: number): { rssMb: number; hwmMb: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? Number.NaN);
    return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** Samples the RSS of `pids` every `everyMs` until stopped; returns each pid's peak sampled RSS and final VmHWM. */
export function sampleMemory(opts: { pids: Record<string, number>; everyMs?: number }): {
  stop(): Record<string, { peakRssMb: number; hwmMb: number }>;
} {
  const { pids, everyMs = 250 } = opts;
  const peak: Record<string, number> = {};
  const hwm: Record<string, number> = {};
  const tick = () => {
    for (const [name, pid] of Object.entries(pids)) {
      const m = readMemory(pid);
      if (!m) continue;
      peak[name] = Math.max(peak[name] ?? 0, m.rssMb);
      hwm[name] = m.hwmMb;
    }
  };
  tick();
  const timer = setInterval(tick, everyMs);
  return {
    stop() {
      clearInterval(timer);
      tick();
      return Object.fromEntries(
        Object.keys(pids).map((n) => [n, { peakRssMb: peak[n] ?? Number.NaN, hwmMb: hwm[n] ?? Number.NaN }]),
      );
    },
  };
}

/** CPU seconds a process used, itself plus its children it has waited for (ffmpeg runs), from /proc/<pid>/stat. */
export function readProcessCpuSec(pid: number): number | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // fields after the command: state(3) … utime(14) stime(15) cutime(16) cstime(17), here 0-based from state
    const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    return ticks / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds of the children `pid` has waited for (cutime + cstime of /proc/<pid>/stat): read for
 * this process before and after a command it ran and waited for, the command's whole CPU time.
 */
export function readReapedChildrenCpuSec(pid: number = process.pid): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) / 100; // USER_HZ is 100 on Linux
}
