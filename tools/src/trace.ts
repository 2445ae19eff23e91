// Where a job's trace is: the job document keeps its W3C trace id (`job.traceId`), Jaeger shows a
// trace at `<ui>/trace/<traceId>`.

/** The Jaeger UI used when JAEGER_URL is not set (docker compose publishes it here). */
export const DEFAULT_JAEGER_URL = 'http://localhost:16686';

/**
 * The Jaeger link of a trace: `<jaegerUrl>/trace/<traceId>`. `jaegerUrl` defaults to the
 * JAEGER_URL environment variable, then http://localhost:16686. Throws on a malformed trace id.
 */
export function jaegerLink(opts: { jaegerUrl?: string | undefined; traceId: string }): string {
  const { jaegerUrl = process.env.JAEGER_URL || DEFAULT_JAEGER_URL, traceId } = opts;
  if (!/^[0-9a-f]{32}$/.test(traceId) || /^0+$/.test(traceId))
    throw new Error(`"${traceId}" is not a W3C trace id (32 lower-case hex digits, not all zero)`);
  return `${jaegerUrl.replace(/\/+$/, '')}/trace/${traceId}`;
}

/** The line the CLI prints for a job: its Jaeger link, or why there is none. */
export function traceLine(opts: {
  job: { id: string; traceId?: string | undefined };
  jaegerUrl?: string;
}): string {
  const { job, jaegerUrl } = opts;
  if (!job.traceId)
    return `job ${job.id} has no trace id (it was created before tracing, or by a client that sent none)`;
  return `trace: ${jaegerLink({ traceId: job.traceId, ...(jaegerUrl ? { jaegerUrl } : {}) })}`;
}
