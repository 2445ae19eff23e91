import { z } from 'zod';
import { parseTtl } from './blob/retention.ts';
import { ConfigError } from './errors.ts';

/**
 * Parses environment variables with a zod object whose keys are the variable names.
 * Throws ConfigError with one line per bad or missing variable, e.g.
 * `NATS_URL: must be a nats:// URL (got "localhost")`.
 */
export function parseConfig<S extends z.ZodObject>(
  schema: S,
  env: Record<string, string | undefined>,
): z.infer<S> {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(schema.shape)) {
    const v = env[key];
    input[key] = v === '' ? undefined : v;
  }
  const res = schema.safeParse(input);
  if (res.success) return res.data;
  const problems = res.error.issues.map((i) => {
    const key = String(i.path[0] ?? '(root)');
    const got = input[key];
    return `${key}: ${i.message}${got === undefined ? ' (not set)' : ` (got "${got}")`}`;
  });
  throw new ConfigError(problems);
}

/** Helpers for environment schemas: strings in, typed values out. */
export const env = {
  string: () => z.string().min(1),
  int: (opts: { min?: number; max?: number } = {}) =>
    z.coerce
      .number({ error: 'must be a whole number' })
      .int('must be a whole number')
      .min(opts.min ?? Number.MIN_SAFE_INTEGER, `must be at least ${opts.min}`)
      .max(opts.max ?? Number.MAX_SAFE_INTEGER, `must be at most ${opts.max}`),
  number: (opts: { min?: number; max?: number } = {}) =>
    z.coerce
      .number({ error: 'must be a number' })
      .min(opts.min ?? -Number.MAX_VALUE, `must be at least ${opts.min}`)
      .max(opts.max ?? Number.MAX_VALUE, `must be at most ${opts.max}`),
  bool: () =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  url: (protocols: string[] = ['http', 'https']) =>
    z.string().refine(
      (v) => {
        try {
          return protocols.includes(new URL(v).protocol.replace(/:$/, ''));
        } catch {
          return false;
        }
      },
      { message: `must be a ${protocols.join('/')} URL` },
    ),
  /** Comma-separated list. */
  list: () =>
    z.string().transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  /** A time to live: `0`, `never`, or a number with a unit (`7d`, `12h`, `30m`, `45s`, `500ms`) → ms, undefined for never. */
  ttl: () =>
    z.string().transform((v, ctx): number | undefined => {
      try {
        return parseTtl(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  enum: <const T extends readonly [string, ...string[]]>(values: T) =>
    z.enum(values, { error: `must be one of ${values.join(', ')}` }),
};
