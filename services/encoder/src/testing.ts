// Test helpers for the encoder (not exported from the package barrel).
import { spawnSync } from 'node:child_process';
import type { EventDataInput, EventOf, EventType } from '@reelbus/contracts';
import { latestEvent } from '@reelbus/contracts';
import { silentLogger, type HandlerContext } from '@reelbus/kit';

export interface Published {
  type: EventType;
  jobId: string;
  data: unknown;
  id: string | undefined;
}

/** A HandlerContext that records what a handler publishes (data validated like the real bus does). */
export function fakeHandlerContext(): HandlerContext & {
  published: Published[];
  progress: HandlerContext['progress'] & { calls: unknown[][] };
  workingCalls: number;
} {
  const published: Published[] = [];
  const calls: unknown[][] = [];
  const ctx = {
    published,
    workingCalls: 0,
    logger: silentLogger(),
    deliveryCount: 1,
    lastAttempt: false,
    signal: new AbortController().signal,
    traceId: undefined,
    working() {
      ctx.workingCalls++;
    },
    progress: Object.assign(
      async (...args: unknown[]) => {
        calls.push(args);
      },
      { calls },
    ),
    async warn() {},
    async publish<T extends EventType>(
      type: T,
      jobId: string,
      data: EventDataInput<T>,
      opts?: { id?: string },
    ) {
      const parsed = latestEvent(type).data.parse(data);
      published.push({ type, jobId, data: parsed, id: opts?.id });
      return {
        id: opts?.id ?? 'random',
        type,
        version: 1,
        jobId,
        occurredAt: new Date().toISOString(),
        data: parsed,
      } as EventOf<T>;
    },
  };
  return ctx as unknown as ReturnType<typeof fakeHandlerContext>;
}

export { frameDifferences } from '@reelbus/kit/testing';

/** Mean volume (dBFS) of `file` between `start` and `start + duration` after the audio filter `af`. */
export function meanVolumeDb(opts: { file: string; start: number; duration: number; af?: string }): number {
  const { file, start, duration, af } = opts;
  const res = spawnSync(
    'ffmpeg',
    [
      '-hide_banner',
      '-nostats',
      '-ss',
      String(start),
      '-t',
      String(duration),
      '-i',
      file,
      '-vn',
      '-af',
      [af, 'volumedetect'].filter(Boolean).join(','),
      '-f',
      'null',
      '-',
    ],
    { encoding: 'utf8' },
  );
  const m = /mean_volume: (-?[\d.]+|-inf) dB/.exec(String(res.stderr));
  if (res.status !== 0 || !m)
    throw new Error(`volumedetect failed on ${file}: ${String(res.stderr).slice(-500)}`);
  return m[1] === '-inf' ? -Infinity : Number(m[1]);
}
