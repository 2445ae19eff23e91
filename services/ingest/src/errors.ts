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
  /** A revisioned document's current revision (409 `revision_conflict`). */
  readonly currentRevision: number | undefined;
  constructor(opts: {
    statusCode: number;
    code: string;
    message: string;
    field?: string;
    issues?: FieldIssue[];
    headers?: Record<string, string>;
    currentRevision?: number;
    cause?: unknown;
  }) {
    const { statusCode, code, message, field, issues, headers = {}, currentRevision, cause } = opts;
    super(message, { cause });
    this.statusCode = statusCode;
    this.code = code;
    this.field = field;
    this.issues = issues;
    this.headers = headers;
    this.currentRevision = currentRevision;
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
  error: { code: string; message: string; field?: string; issues?: FieldIssue[]; currentRevision?: number };
}

export function errorBody({
  code,
  message,
  field,
  issues,
  currentRevision,
}: {
  code: string;
  message: string;
  field?: string | undefined;
  issues?: FieldIssue[] | undefined;
  currentRevision?: number | undefined;
}): ErrorBody {
  return {
    error: {
      code,
      message,
      ...(field ? { field } : {}),
      ...(issues && issues.length ? { issues } : {}),
      ...(currentRevision !== undefined ? { currentRevision } : {}),
    },
  };
}
