// What end-to-end tests watch while the stack runs: the events of a job on the bus, the services'
// log lines, and a job followed to its end while no service may die unnoticed.
import { appendFileSync } from 'node:fs';
import { HEADERS, parseEnvelope, type EventOf, type EventType, type Job } from '@reelbus/contracts';
import type { Bus } from '@reelbus/kit';
import type { ServiceProcess } from '../stack.ts';
import type { E2E } from './harness.ts';

/** A job's events in stream order, read from the whole events stream (it is small in a test). */
export async function jobEvents(bus: Bus, jobId: string): Promise<Array<EventOf<EventType>>> {
  const stream = bus.names.eventsStream;
  const { state } = await bus.jsm.streams.info(stream);
  const out: Array<EventOf<EventType>> = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
    const m = await bus.jsm.streams.getMessage(stream, { seq });
    if (!m || m.header?.get(HEADERS.jobId) !== jobId) continue;
    const parsed = parseEnvelope(m.data);
    if (parsed.ok) out.push(parsed.event);
  }
  return out;
}

/** How many events of each type a job has. */
export async function countJobEvents(bus: Bus, jobId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const e of await jobEvents(bus, jobId)) counts[e.type] = (counts[e.type] ?? 0) + 1;
  return counts;
}

export interface LogRecord {
  proc: string;
  rec: Record<string, unknown>;
}

/** Splits a raw stack log line (`[encoder#1]   {json}`) into the process name and its record. */
export function parseLogLine(line: string): LogRecord | undefined {
  const m = /^\[([^\]]+)\]\s+(\{.*\})\s*$/.exec(line);
  if (!m) return undefined;
  try {
    return { proc: m[1]!, rec: JSON.parse(m[2]!) as Record<string, unknown> };
  } catch {
    return undefined;
  }
}

/** The name a process logs under: `encoder`, `encoder#1`, … */
export const procName = (p: ServiceProcess) => (p.replica > 0 ? `${p.service}#${p.replica}` : p.service);

export const isEncodeStart = (jobId: string) => (l: LogRecord) =>
  l.rec.msg === 'ffmpeg starting' && l.rec.step === 'encode' && l.rec.jobId === jobId;

/**
 * Keeps the stack's log records (and, with REELBUS_TEST_LOG=<file>, the raw lines) and resolves
 * waits on them: pass `onLine` as the stack's `log`.
 */
export function logRecorder(): {
  logs: LogRecord[];
  onLine(line: string): void;
  waitForLog(match: (l: LogRecord) => boolean): Promise<LogRecord>;
} {
  const logs: LogRecord[] = [];
  const watchers = new Set<(l: LogRecord) => void>();
  return {
    logs,
    onLine(line) {
      if (process.env.REELBUS_TEST_LOG) appendFileSync(process.env.REELBUS_TEST_LOG, line + '\n');
      const l = parseLogLine(line);
      if (!l) return;
      logs.push(l);
      for (const w of [...watchers]) w(l);
    },
    /** Resolves with the first log record (past or future) that matches. */
    waitForLog(match) {
      const seen = logs.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => {
        const w = (l: LogRecord) => {
          if (!match(l)) return;
          watchers.delete(w);
          resolve(l);
        };
        watchers.add(w);
      });
    },
  };
}

/** Follows a job to its end, failing at once if a service process dies that the test did not kill. */
export function followToEnd(opts: { e2e: E2E; jobId: string; killed?: ServiceProcess[] }): Promise<Job> {
  const { e2e, jobId, killed = [] } = opts;
  const crashed = e2e.stack.processes
    .filter((p) => !killed.includes(p))
    .map((p) =>
      p.exited.then((code) => {
        throw new Error(`${procName(p)} exited (code ${code}) while job ${jobId} ran`);
      }),
    );
  return Promise.race([
    e2e.client.follow(jobId, () => {}, { pollMs: 250, signal: AbortSignal.timeout(150_000) }),
    ...crashed,
  ]);
}
