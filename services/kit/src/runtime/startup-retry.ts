import type { Logger } from 'pino';
import { ConfigError, describeError, isPermanent } from '../errors.ts';

/**
 * Runs a start-up step (create the streams, open the job store, create a consumer) again with backoff
 * while it fails for a reason that may pass — a JetStream cluster still electing leaders, a request
 * timing out while many services start at once — for up to `timeoutMs`, logging each failure; then
 * throws the last error. Configuration and permanent errors are thrown at once.
 */
export async function retryStartup<T>(
  what: string,
  step: () => Promise<T>,
  opts: { logger?: Logger; timeoutMs?: number; initialDelayMs?: number; maxDelayMs?: number } = {},
): Promise<T> {
  const { logger, timeoutMs = 60_000, initialDelayMs = 250, maxDelayMs = 5_000 } = opts;
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1, delay = initialDelayMs; ; attempt++, delay = Math.min(maxDelayMs, delay * 2)) {
    try {
      return await step();
    } catch (err) {
      if (err instanceof ConfigError || isPermanent(err) || Date.now() + delay > deadline) throw err;
      logger?.warn({ err: describeError(err), attempt, retryInMs: delay }, `cannot ${what} yet; retrying`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
