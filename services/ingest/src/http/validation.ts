import { jsonPath } from '@reelbus/contracts';
import type { FastifySchemaCompiler } from 'fastify';
import { z } from 'zod';
import type { FieldIssue } from '../errors.ts';

/**
 * Request validation with zod, naming every bad field by its JSON path at once.
 *
 * Multipart bodies are documented with a schema but never validated here: the route reads them as
 * a stream (files go straight to blob storage) and checks each part as it arrives.
 */

type Issue = z.core.$ZodIssue;

const depth = (issues: readonly Issue[]) => Math.max(0, ...issues.map((i) => i.path.length));

/**
 * The issues a person should read: for a value that matches no branch of a union, the issues of
 * the branch that got furthest into it (`images[0]`, `music.mood` rather than "images: invalid
 * input"), when one got inside at all. (contracts' `problemsOf` prefers the branch without missing
 * or unknown fields, which suits Timeline unions; request bodies with aliases read better this way.)
 */
function leafIssues(issue: Issue, prefix: readonly PropertyKey[] = []): Issue[] {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const best = issue.errors.reduce((a, b) => (depth(b) > depth(a) ? b : a));
    if (depth(best) > 0) return best.flatMap((i) => leafIssues(i, path));
  }
  return [{ ...issue, path } as Issue];
}

/** One FieldIssue per bad field of a zod error; each unknown key is an issue of its own. */
export function fieldIssues(error: z.ZodError, part = 'body'): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const issue of error.issues.flatMap((i) => leafIssues(i))) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push({ field: jsonPath([...issue.path, key]), message: 'unknown field' });
      }
      continue;
    }
    out.push({ field: jsonPath(issue.path) || part, message: issue.message });
  }
  return out;
}

/** A request part that does not match its schema: answered 400 `invalid_input` with every issue. */
export class RequestValidationError extends Error {
  override name = 'RequestValidationError';
  readonly statusCode = 400;
  constructor(
    readonly issues: FieldIssue[],
    readonly part: string,
  ) {
    super(issues.map((i) => `${i.field}: ${i.message}`).join('; '));
  }
}

const PART_NAME: Record<string, string> = {
  body: 'body',
  querystring: 'query',
  params: 'path',
  headers: 'headers',
};

/** Fastify validator compiler for zod schemas (see the module comment for multipart). */
export const zodValidatorCompiler: FastifySchemaCompiler<z.ZodType> = ({
  schema,
  httpPart,
  contentType,
  method,
  url,
}) => {
  if (httpPart === 'body' && contentType === 'multipart/form-data') return () => true;
  if (!(schema instanceof z.ZodType)) {
    throw new Error(`${method} ${url}: the ${httpPart} schema must be a zod schema`);
  }
  const part = PART_NAME[httpPart ?? 'body'] ?? 'body';
  return (data: unknown) => {
    // Fastify hands a missing body over as null; an optional body schema means "may be absent".
    const result = schema.safeParse(httpPart === 'body' && data === null ? undefined : data);
    if (result.success) return { value: result.data };
    return { error: new RequestValidationError(fieldIssues(result.error, part), part) };
  };
};
