/** One bad field of a request: its JSON path (`tracks[1].clips[3].source`) and what is wrong with it. */
export interface FieldIssue {
  field: string;
  message: string;
}

/** An error answered as `{ error: { code, message, field?, issues? } }` with `statusCode`. */
export class HttpError extends Error {
  override name = 'HttpError';
  readonly statusCode: number;
  readonly code: string;
  readonly field: string | undefined;
  /** Every bad field, when there are several (a 400 names them all at once). */
  readonly issues: FieldIssue[] | undefined;
  readonly headers: Record<string, string>;
  constructor(opts: {
    statusCode: number;
    code: string;
    message: string;
    field?: string;
    issues?: FieldIssue[];
    headers?: Record<string, string>;
    cause?: unknown;
  }) {
    const { statusCode, code, message, field, issues, headers = {}, cause } = opts;
    super(message, { cause });
    this.statusCode = statusCode;
    this.code = code;
    this.field = field;
    this.issues = issues;
    this.headers = headers;
  }
}

export const isHttpError = (err: unknown): err is HttpError => err instanceof HttpError;

/** A 400 naming one bad field. */
export function badRequest(field: string, message: string): HttpError {
  return invalidInput([{ field, message }]);
}

/** A 400 naming every bad field: `field` is the first, `issues` lists them all, `message` joins them. */
export function invalidInput(issues: FieldIssue[]): HttpError {
  return new HttpError({
    statusCode: 400,
    code: 'invalid_input',
    field: issues[0]?.field,
    issues,
    message: issues.map((i) => `${i.field}: ${i.message}`).join('; '),
  });
}

export function notFound(message: string): HttpError {
  return new HttpError({ statusCode: 404, code: 'not_found', message });
}

export interface ErrorBody {
  error: { code: string; message: string; field?: string; issues?: FieldIssue[] };
}

export function errorBody({
  code,
  message,
  field,
  issues,
}: {
  code: string;
  message: string;
  field?: string | undefined;
  issues?: FieldIssue[] | undefined;
}): ErrorBody {
  return {
    error: { code, message, ...(field ? { field } : {}), ...(issues && issues.length ? { issues } : {}) },
  };
}
