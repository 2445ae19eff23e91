import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Runs `fn` with a fresh temporary directory, and removes the directory afterwards, on success and on failure. */
export async function withTempDir<T>(
  prefix: string,
  fn: (dir: string) => Promise<T>,
  opts: { tmpDir?: string } = {},
): Promise<T> {
  const { tmpDir = tmpdir() } = opts;
  // TMP_DIR may name a directory that does not exist yet (a fresh volume).
  await mkdir(tmpDir, { recursive: true });
  const dir = await mkdtemp(join(tmpDir, prefix.endsWith('-') ? prefix : `${prefix}-`));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  }
}
