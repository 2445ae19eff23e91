import { PermanentError } from '../errors.ts';

/** The blob at `key` does not exist. Permanent: retrying cannot make it appear. */
export class BlobNotFoundError extends Error {
  override name = 'BlobNotFoundError';
  /** Read by `isPermanent()` so a consume loop dead-letters instead of retrying. */
  readonly permanent = true;
  constructor(
    readonly key: string,
    opts: { store?: string; cause?: unknown } = {},
  ) {
    super(`blob "${key}" not found${opts.store ? ` in ${opts.store}` : ''}`, { cause: opts.cause });
  }
}

export function isBlobNotFound(err: unknown): err is BlobNotFoundError {
  return err instanceof Error && err.name === 'BlobNotFoundError';
}

/**
 * Refuses keys that are not relative `/`-separated paths (the contracts' BlobKey rule):
 * an absolute path, a `..` or empty segment, a backslash or a NUL could escape the fs root.
 */
export function assertBlobKey(key: string): void {
  const why =
    typeof key !== 'string' || key.length === 0
      ? 'it is empty'
      : key.length > 1024
        ? 'it is longer than 1024 characters'
        : key.startsWith('/')
          ? 'it is absolute'
          : key.includes('\\')
            ? 'it contains a backslash'
            : key.includes('\0')
              ? 'it contains a NUL byte'
              : key.split('/').some((s) => s === '..' || s === '.')
                ? 'it has a "." or ".." segment'
                : key.endsWith('/') || key.includes('//')
                  ? 'it has an empty segment'
                  : undefined;
  if (why) {
    throw new PermanentError(
      `invalid blob key "${key}": ${why}; use a relative key like jobs/<jobId>/<step>/<file>`,
    );
  }
}

/** A list prefix: empty, or a key-like string that may end with `/`. */
export function assertBlobPrefix(prefix: string): void {
  if (prefix === '') return;
  assertBlobKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}
