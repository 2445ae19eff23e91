// Keeps the local stack's processes running, like compose's `restart: unless-stopped`: a process that
// exits without being asked to is started again after a back-off that doubles with each crash that
// follows the previous one within a minute (1 s, 2 s, 4 s …, capped); after `maxCrashes` such crashes
// in a row the supervisor stops restarting it and says so. The decision is a pure function
// (`decideRestart`); the `Supervisor` only carries it out.

/** How a process ended. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RestartPolicy {
  /** Delay before the first restart of a streak; doubles with each crash of the streak. */
  initialDelayMs: number;
  /** Cap of the delay. */
  maxDelayMs: number;
  /** Crashes in a row (each within `windowMs` of the previous one) after which restarts stop. */
  maxCrashes: number;
  /** A crash more than this long after the previous one starts a new streak. */
  windowMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  initialDelayMs: 1_000,
  maxDelayMs: 30_000,
  maxCrashes: 5,
  windowMs: 60_000,
};

/** EX_CONFIG: how a reelbus service says its configuration is wrong; restarting it cannot help. */
export const CONFIG_ERROR_EXIT_CODE = 78;

export type RestartDecision =
  { action: 'restart'; delayMs: number; streak: number } | { action: 'give-up'; reason: string };

/** "killed by SIGKILL", "exited with code 1". */
export function describeExit(exit: ExitInfo): string {
  if (exit.signal) return `killed by ${exit.signal}`;
  if (exit.code !== null) return `exited with code ${exit.code}`;
  return 'exited';
}

/**
 * How many of the latest crashes form a streak: each within `windowMs` of the one before. `crashes`
 * are the crash times in order, the newest last.
 */
export function crashStreak(crashes: readonly number[], windowMs: number): number {
  if (crashes.length === 0) return 0;
  let streak = 1;
  for (let i = crashes.length - 1; i > 0; i--) {
    if (crashes[i]! - crashes[i - 1]! > windowMs) break;
    streak++;
  }
  return streak;
}

/**
 * What to do after a crash (pure). `crashes` includes this one (the newest last). A configuration
 * error (exit 78) is never retried; otherwise restart after `initialDelayMs × 2^(streak−1)` (capped)
 * until the streak reaches `maxCrashes`.
 */
export function decideRestart({
  exit,
  crashes,
  policy = DEFAULT_RESTART_POLICY,
}: {
  exit: ExitInfo;
  crashes: readonly number[];
  policy?: RestartPolicy;
}): RestartDecision {
  if (exit.code === CONFIG_ERROR_EXIT_CODE)
    return {
      action: 'give-up',
      reason: `exited with code ${CONFIG_ERROR_EXIT_CODE} (a configuration error, named in its log above): fix it and start the stack again`,
    };
  const streak = Math.max(1, crashStreak(crashes, policy.windowMs));
  if (streak >= policy.maxCrashes)
    return {
      action: 'give-up',
      reason: `crashed ${streak} times, each within ${Math.round(policy.windowMs / 1000)} s of the last: not restarting it again; fix the cause and start the stack again`,
    };
  const delayMs = Math.min(policy.initialDelayMs * 2 ** (streak - 1), policy.maxDelayMs);
  return { action: 'restart', delayMs, streak };
}

/** A start that did not reach readiness (the process is gone when this is thrown). */
export class StartFailedError extends Error {
  override name = 'StartFailedError';
  constructor(
    message: string,
    readonly exit: ExitInfo,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export type SupervisorLog = (level: 'info' | 'warn' | 'error', msg: string) => void;

export interface SupervisorOptions<P extends object> {
  /** What the log lines call it: `encoder`, `encoder#1`, `nats-server`. */
  name: string;
  /** Starts it and resolves once it is ready; rejects (with the process gone) when it cannot. */
  start(): Promise<P>;
  /** Resolves when `p` has exited. */
  exited(p: P): Promise<ExitInfo>;
  policy?: RestartPolicy;
  log: SupervisorLog;
  /** Called when a restarted process replaces `prev`. */
  onReplace?(prev: P, next: P): void;
  now?: () => number;
}

interface Waiter<P> {
  resolve(p: P): void;
  reject(err: Error): void;
}

/** Restarts one process (a service replica, or nats-server) when it crashes; see the file comment. */
export class Supervisor<P extends object> {
  #current: P | undefined;
  readonly #crashes: number[] = [];
  readonly #expected = new WeakSet<P>();
  readonly #replacements = new WeakMap<P, P>();
  readonly #waiters = new Map<P, Waiter<P>[]>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #gaveUp: string | undefined;

  constructor(private readonly opts: SupervisorOptions<P>) {}

  get name(): string {
    return this.opts.name;
  }

  /** The process running now (or the last one, after the supervisor gave up). */
  get current(): P | undefined {
    return this.#current;
  }

  /** Why the supervisor stopped restarting, once it has. */
  get gaveUp(): string | undefined {
    return this.#gaveUp;
  }

  /** The first start: a failure is thrown to the caller, not retried. */
  async start(): Promise<P> {
    const p = await this.opts.start();
    this.#adopt(p);
    return p;
  }

  /** The next exit of `p` is intended (a stop, or a kill the caller will handle): no restart. */
  expectExit(p: P): void {
    this.#expected.add(p);
  }

  /** Resolves with the process that replaced `p` once it is ready; rejects when the supervisor gives up or stops. */
  replacement(p: P): Promise<P> {
    const next = this.#replacements.get(p);
    if (next) return Promise.resolve(next);
    if (this.#gaveUp) return Promise.reject(new Error(`${this.name} ${this.#gaveUp}`));
    if (this.#stopped) return Promise.reject(new Error(`${this.name}: the stack was stopped`));
    return new Promise((resolve, reject) => {
      const list = this.#waiters.get(p) ?? [];
      list.push({ resolve, reject });
      this.#waiters.set(p, list);
    });
  }

  /** No more restarts (the stack is stopping); pending waits reject. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#rejectAll(new Error(`${this.name}: the stack was stopped`));
  }

  #adopt(p: P): void {
    this.#current = p;
    void this.opts.exited(p).then((exit) => {
      if (this.#stopped || this.#expected.has(p) || this.#current !== p) return;
      this.#crashed(p, exit);
    });
  }

  #crashed(prev: P, exit: ExitInfo): void {
    const now = (this.opts.now ?? Date.now)();
    this.#crashes.push(now);
    const decision = decideRestart({ exit, crashes: this.#crashes, policy: this.opts.policy });
    if (decision.action === 'give-up') {
      this.#gaveUp = `${describeExit(exit)}; ${decision.reason}`;
      this.opts.log('error', `${this.name} ${this.#gaveUp}`);
      this.#rejectAll(new Error(`${this.name} ${this.#gaveUp}`));
      return;
    }
    const max = (this.opts.policy ?? DEFAULT_RESTART_POLICY).maxCrashes;
    this.opts.log(
      'warn',
      `${this.name} ${describeExit(exit)} unexpectedly; restarting it in ${formatDelay(decision.delayMs)} (crash ${decision.streak} in a row; it stays down after ${max})`,
    );
    this.#timer = setTimeout(() => void this.#restart(prev), decision.delayMs);
  }

  async #restart(prev: P): Promise<void> {
    this.#timer = undefined;
    if (this.#stopped) return;
    let next: P;
    try {
      next = await this.opts.start();
    } catch (err) {
      if (this.#stopped) return;
      const exit = err instanceof StartFailedError ? err.exit : { code: null, signal: null };
      this.opts.log(
        'warn',
        `${this.name} did not come back: ${err instanceof Error ? err.message : String(err)}`,
      );
      this.#crashed(prev, exit);
      return;
    }
    this.#replacements.set(prev, next);
    this.opts.onReplace?.(prev, next);
    this.#adopt(next);
    this.opts.log('info', `${this.name} restarted and ready`);
    const waiting = this.#waiters.get(prev) ?? [];
    this.#waiters.delete(prev);
    for (const w of waiting) w.resolve(next);
  }

  #rejectAll(err: Error): void {
    for (const list of this.#waiters.values()) for (const w of list) w.reject(err);
    this.#waiters.clear();
  }
}

function formatDelay(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
