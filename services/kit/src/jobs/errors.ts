/** No job with this id. Permanent: retrying cannot make it appear. */
export class JobNotFoundError extends Error {
  override name = 'JobNotFoundError';
  /** Read by `isPermanent()` so a consume loop dead-letters instead of retrying. */
  readonly permanent = true;
  constructor(
    readonly jobId: string,
    opts: { cause?: unknown } = {},
  ) {
    super(`job "${jobId}" not found`, { cause: opts.cause });
  }
}

export function isJobNotFound(err: unknown): err is JobNotFoundError {
  return err instanceof Error && err.name === 'JobNotFoundError';
}
