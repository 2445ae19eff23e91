import type { ApiErrorBody, FieldIssue } from './types.ts';

/** An answer of the API that was not 2xx, or a request that never got one (status 0). */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  readonly code: string;
  /** Every field the API named (empty when the error is about the request as a whole). */
  readonly issues: FieldIssue[];
  constructor(opts: { status: number; code: string; message: string; issues?: FieldIssue[] }) {
    super(opts.message);
    this.status = opts.status;
    this.code = opts.code;
    this.issues = opts.issues ?? [];
  }
}

export const isApiError = (e: unknown): e is ApiError => e instanceof ApiError;

/**
 * The ApiError for an answer: the API's `{ error: { code, message, field?, issues? } }` when the body
 * is one, else the status line (a proxy's HTML page, an empty 502).
 */
export function apiErrorFrom({
  status,
  statusText,
  body,
}: {
  status: number;
  statusText: string;
  body: string;
}): ApiError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  const err = (parsed as Partial<ApiErrorBody> | undefined)?.error;
  if (err && typeof err.message === 'string') {
    const issues: FieldIssue[] = Array.isArray(err.issues)
      ? err.issues.filter(
          (i): i is FieldIssue => typeof i?.field === 'string' && typeof i.message === 'string',
        )
      : [];
    if (issues.length === 0 && typeof err.field === 'string')
      issues.push({ field: err.field, message: err.message });
    return new ApiError({ status, code: String(err.code ?? 'error'), message: err.message, issues });
  }
  const message =
    status === 0
      ? 'the server could not be reached; check your connection and try again'
      : `the server answered ${status} ${statusText}`.trim();
  return new ApiError({ status, code: status === 0 ? 'network' : 'http_error', message });
}
