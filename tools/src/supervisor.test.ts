import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_RESTART_POLICY,
  StartFailedError,
  Supervisor,
  crashStreak,
  decideRestart,
  describeExit,
  type ExitInfo,
} from './supervisor.ts';

const KILLED: ExitInfo = { code: null, signal: 'SIGKILL' };
const S = 1000;

describe('decideRestart', () => {
  const cases: Array<{ name: string; exit: ExitInfo; crashes: number[]; want: unknown }> = [
    {
      name: 'first crash: 1 s',
      exit: KILLED,
      crashes: [100 * S],
      want: { action: 'restart', delayMs: 1000, streak: 1 },
    },
    {
      name: 'second within a minute: 2 s',
      exit: KILLED,
      crashes: [0, 30 * S],
      want: { action: 'restart', delayMs: 2000, streak: 2 },
    },
    {
      name: 'fourth in a row: 8 s',
      exit: { code: 1, signal: null },
      crashes: [0, 10 * S, 20 * S, 30 * S],
      want: { action: 'restart', delayMs: 8000, streak: 4 },
    },
    {
      name: 'a crash over a minute after the last starts again at 1 s',
      exit: KILLED,
      crashes: [0, 10 * S, 20 * S, 90 * S],
      want: { action: 'restart', delayMs: 1000, streak: 1 },
    },
    {
      name: 'exit 0 without a stop is a crash too',
      exit: { code: 0, signal: null },
      crashes: [0],
      want: { action: 'restart', delayMs: 1000, streak: 1 },
    },
  ];
  for (const c of cases)
    it(c.name, () => expect(decideRestart({ exit: c.exit, crashes: c.crashes })).toEqual(c.want));

  it('gives up at the fifth crash in a row, each within a minute of the last, and says why', () => {
    const d = decideRestart({ exit: KILLED, crashes: [0, 50 * S, 100 * S, 150 * S, 200 * S] });
    expect(d).toEqual({
      action: 'give-up',
      reason: expect.stringMatching(/crashed 5 times, each within 60 s of the last/),
    });
  });

  it('never retries a configuration error (exit 78)', () => {
    expect(decideRestart({ exit: { code: 78, signal: null }, crashes: [0] })).toEqual({
      action: 'give-up',
      reason: expect.stringMatching(/code 78 \(a configuration error/),
    });
  });

  it('caps the delay', () => {
    const policy = { ...DEFAULT_RESTART_POLICY, maxCrashes: 20, maxDelayMs: 5000 };
    const crashes = Array.from({ length: 10 }, (_, i) => i * S);
    expect(decideRestart({ exit: KILLED, crashes, policy })).toMatchObject({
      action: 'restart',
      delayMs: 5000,
    });
  });

  it('counts a streak from the newest crash back to the first gap over the window', () => {
    expect(crashStreak([], 60 * S)).toBe(0);
    expect(crashStreak([0, 61 * S, 62 * S], 60 * S)).toBe(2);
    expect(crashStreak([0, 60 * S, 120 * S], 60 * S)).toBe(3);
  });

  it('describes an exit', () => {
    expect(describeExit(KILLED)).toBe('killed by SIGKILL');
    expect(describeExit({ code: 1, signal: null })).toBe('exited with code 1');
  });
});

/** A fake process: exits when told to. */
interface Fake {
  id: number;
  exit(info: ExitInfo): void;
  exited: Promise<ExitInfo>;
}

describe('Supervisor (fake processes, fake clock)', () => {
  let next = 0;
  let starts: Fake[];
  let failNext: ExitInfo[];
  let lines: Array<[string, string]>;
  const fake = (): Fake => {
    let exit!: (i: ExitInfo) => void;
    const exited = new Promise<ExitInfo>((r) => (exit = r));
    return { id: next++, exit, exited };
  };
  const supervisor = () =>
    new Supervisor<Fake>({
      name: 'encoder',
      start: async () => {
        const f = failNext.shift();
        if (f) throw new StartFailedError('encoder exited before it was ready', f);
        const p = fake();
        starts.push(p);
        return p;
      },
      exited: (p) => p.exited,
      log: (level, msg) => lines.push([level, msg]),
    });

  beforeEach(() => {
    vi.useFakeTimers();
    starts = [];
    failNext = [];
    lines = [];
  });
  afterEach(() => vi.useRealTimers());

  it('restarts a crashed process after 1 s, logs it, and hands the new one to whoever waits', async () => {
    const sup = supervisor();
    const first = await sup.start();
    const replaced = sup.replacement(first);
    first.exit(KILLED);
    await vi.advanceTimersByTimeAsync(999);
    expect(starts).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    const second = await replaced;
    expect(second).toBe(starts[1]);
    expect(sup.current).toBe(second);
    expect(lines).toEqual([
      [
        'warn',
        expect.stringMatching(
          /^encoder killed by SIGKILL unexpectedly; restarting it in 1 s \(crash 1 in a row/,
        ),
      ],
      ['info', 'encoder restarted and ready'],
    ]);
    // Asking again (after the fact) gives the same answer.
    expect(await sup.replacement(first)).toBe(second);
  });

  it('doubles the delay while crashes follow each other, and stops after five, saying so', async () => {
    const sup = supervisor();
    let p = await sup.start();
    for (const delay of [1000, 2000, 4000, 8000]) {
      const replaced = sup.replacement(p);
      p.exit(KILLED);
      await vi.advanceTimersByTimeAsync(delay - 1);
      expect(sup.current).toBe(p);
      await vi.advanceTimersByTimeAsync(1);
      p = await replaced;
    }
    const last = sup.replacement(p);
    last.catch(() => undefined);
    p.exit({ code: 1, signal: null });
    await vi.advanceTimersByTimeAsync(120_000);
    await expect(last).rejects.toThrow(/encoder exited with code 1; crashed 5 times/);
    expect(starts).toHaveLength(5);
    expect(sup.gaveUp).toMatch(/crashed 5 times/);
    expect(lines.at(-1)).toEqual([
      'error',
      expect.stringMatching(/^encoder exited with code 1; crashed 5 times/),
    ]);
  });

  it('counts a restart that dies before it is ready as another crash', async () => {
    const sup = supervisor();
    const first = await sup.start();
    const replaced = sup.replacement(first);
    failNext.push({ code: 1, signal: null });
    first.exit(KILLED);
    await vi.advanceTimersByTimeAsync(1000); // the first restart fails at once
    expect(lines.map(([, m]) => m)).toEqual([
      expect.stringMatching(/restarting it in 1 s/),
      'encoder did not come back: encoder exited before it was ready',
      expect.stringMatching(
        /encoder exited with code 1 unexpectedly; restarting it in 2 s \(crash 2 in a row/,
      ),
    ]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(await replaced).toBe(starts[1]);
  });

  it('does not restart what it was told would exit, nor anything after stop()', async () => {
    const sup = supervisor();
    const first = await sup.start();
    sup.expectExit(first);
    first.exit(KILLED);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(starts).toHaveLength(1);

    const other = supervisor();
    const p = await other.start();
    const waiting = other.replacement(p);
    waiting.catch(() => undefined);
    p.exit(KILLED); // a restart is scheduled …
    other.stop(); // … and cancelled
    await vi.advanceTimersByTimeAsync(60_000);
    expect(starts).toHaveLength(2);
    await expect(waiting).rejects.toThrow(/stopped/);
  });

  it('gives up at once on a configuration error', async () => {
    const sup = supervisor();
    const p = await sup.start();
    const waiting = sup.replacement(p);
    waiting.catch(() => undefined);
    p.exit({ code: 78, signal: null });
    await vi.advanceTimersByTimeAsync(60_000);
    await expect(waiting).rejects.toThrow(/code 78/);
    expect(starts).toHaveLength(1);
  });
});
