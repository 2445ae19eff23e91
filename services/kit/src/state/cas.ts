import { TransientError } from '../errors.ts';

/** How often a compare-and-set update re-reads and re-applies its mutation before giving up. */
export const MAX_CAS_ATTEMPTS = 50;

/** A short random pause that grows with the attempt, so racing writers spread out. */
export function casBackoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(100, 2 * 2 ** Math.min(attempt, 6));
  return new Promise((r) => setTimeout(r, ms));
}

/** `what` names the record (`job "j1"`, `document "r1" in reels`), `where` the store. */
export function casExhausted(what: string, where: string): TransientError {
  return new TransientError(
    `${what}: update lost ${MAX_CAS_ATTEMPTS} compare-and-set races in the ${where}; retry later`,
  );
}
