import { randomBytes } from 'node:crypto';

/** `job_<time>_<random>`: sorts by creation time (base36 ms, fixed width), unguessable tail. */
export function newJobId(now = Date.now()): string {
  return `job_${now.toString(36).padStart(9, '0')}${randomBytes(8).toString('hex')}`;
}
