/** An error answered as `{ error: { code, message, field? } }` with `statusCode`. */
export class HttpError extends Error {
  override name = 'HttpError';
  readonly statusCode: number;
  readonly code: string;
  readonly field: string | undefined;
  readonly headers: Record<string, string>;
  constructor(opts: {
    statusCode: number;
    code: string;
    message: string;
    field?: string;
    headers?: Record<string, string>;
    cause?: unknown;
  }) {
    const { statusCode, code, message, field, headers = {}, cause } = opts;
    super(message, { cause });
    this.statusCode = statusCode;
    this.code = code;
    this.field = field;
    this.headers = headers;
  }
}

export function badRequest(field: string, message: string): HttpError {
  return new HttpError({ statusCode: 400, code: 'invalid_input', field, message: `${field}: ${message}` });
}

export function notFound(message: string): HttpError {
  return new HttpError({ statusCode: 404, code: 'not_found', message });
}

export interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

export function errorBody({
  code,
  message,
  field,
}: {
  code: string;
  message: string;
  field?: string | undefined;
}): ErrorBody {
  return { error: field ? { code, message, field } : { code, message } };
}
