/**
 * The two kinds of failure that matter everywhere (STYLE.md):
 * - permanent: bad input. Retrying cannot help: dead-letter, fail the job with the reason.
 * - transient: network, timeouts, a stalled ffmpeg. Retry with backoff.
 * Anything else thrown is treated as transient by the consume loop, up to MaxDeliver.
 */

export class PermanentError extends Error {
  override name = 'PermanentError';
  /** The pipeline step that failed, when known. */
  readonly step: string | undefined;
  constructor(message: string, opts: { cause?: unknown; step?: string } = {}) {
    super(message, { cause: opts.cause });
    this.step = opts.step;
  }
}

export class TransientError extends Error {
  override name = 'TransientError';
  readonly step: string | undefined;
  constructor(message: string, opts: { cause?: unknown; step?: string } = {}) {
    super(message, { cause: opts.cause });
    this.step = opts.step;
  }
}

/**
 * The job was cancelled (`bus.cancelJob`): the reason a handler's `ctx.signal` aborts with, and what
 * work stopped for that reason throws (directly or as the `cause` of an AbortError, as `runFfmpeg`
 * does). Neither permanent nor transient: the consume loop settles the message as cancelled.
 */
export class JobCancelledError extends Error {
  override name = 'JobCancelledError';
  readonly jobId: string;
  /** Why, as the canceller said. */
  readonly reason: string | undefined;
  /** Who asked. */
  readonly by: string | undefined;
  constructor(opts: { jobId: string; reason?: string | undefined; by?: string | undefined }) {
    const { jobId, reason, by } = opts;
    super(`job ${jobId} was cancelled${by ? ` by ${by}` : ''}${reason ? `: ${reason}` : ''}`);
    this.jobId = jobId;
    this.reason = reason;
    this.by = by;
  }
}

/** True when `err`, or one of its causes, is a JobCancelledError. */
export function isJobCancelled(err: unknown): err is Error {
  let cur: unknown = err;
  for (let i = 0; cur instanceof Error && i < 5; i++) {
    if (cur.name === 'JobCancelledError') return true;
    cur = cur.cause;
  }
  return false;
}

/** Bad configuration: one line per wrong or missing variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

export function isPermanent(err: unknown): err is PermanentError {
  return (
    err instanceof Error &&
    (err.name === 'PermanentError' || (err as { permanent?: unknown }).permanent === true)
  );
}

export function isTransient(err: unknown): boolean {
  return !isPermanent(err);
}

/** The message of an error and of its causes, joined: what a user reads. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let i = 0; cur && i < 5; i++) {
    if (cur instanceof Error) {
      if (!parts.includes(cur.message)) parts.push(cur.message);
      cur = cur.cause;
    } else {
      parts.push(String(cur));
      break;
    }
  }
  return parts.join(': ') || 'unknown error';
}
