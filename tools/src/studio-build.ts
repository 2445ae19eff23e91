// The studio (services/ingest/studio) is a Vite build that ingest serves. `npm run build` makes it;
// `reelbus stack` and the browser tests make it when it is missing or older than its sources.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const STUDIO_PACKAGE = '@reelbus/studio';

/** Where the studio's sources and build are in the repository at `root`. */
export function studioPaths(root: string): { dir: string; dist: string; index: string; sources: string[] } {
  const dir = join(root, 'services', 'ingest', 'studio');
  return {
    dir,
    dist: join(dir, 'dist'),
    index: join(dir, 'dist', 'index.html'),
    sources: ['src', 'public', 'index.html', 'vite.config.ts', 'tsconfig.json', 'package.json'].map((p) =>
      join(dir, p),
    ),
  };
}

/** Build when there is no build, or a source changed after it was made. */
export function studioBuildNeeded({
  builtAtMs,
  newestSourceMs,
}: {
  builtAtMs: number | undefined;
  newestSourceMs: number;
}): boolean {
  return builtAtMs === undefined || newestSourceMs > builtAtMs;
}

/** The newest modification time under `paths` (files and folders, recursively); 0 for none. */
export function newestMtimeMs(paths: string[]): number {
  let newest = 0;
  const visit = (p: string) => {
    if (!existsSync(p)) return;
    const st = statSync(p);
    newest = Math.max(newest, st.mtimeMs);
    if (st.isDirectory()) for (const name of readdirSync(p)) visit(join(p, name));
  };
  for (const p of paths) visit(p);
  return newest;
}

/** Builds the studio when needed (`npm run build -w @reelbus/studio`); rejects with its output on failure. */
export async function ensureStudioBuilt(opts: {
  root: string;
  log?: (line: string) => void;
}): Promise<{ built: boolean; index: string }> {
  const { root, log = () => {} } = opts;
  const paths = studioPaths(root);
  const builtAtMs = existsSync(paths.index) ? statSync(paths.index).mtimeMs : undefined;
  if (!studioBuildNeeded({ builtAtMs, newestSourceMs: newestMtimeMs(paths.sources) }))
    return { built: false, index: paths.index };
  log(
    builtAtMs === undefined
      ? 'building the studio (first start)…'
      : 'rebuilding the studio (sources changed)…',
  );
  const output: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn('npm', ['run', 'build', '-w', STUDIO_PACKAGE], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const s of [child.stdout, child.stderr]) s.on('data', (d: Buffer) => output.push(d.toString()));
    child.on('error', reject);
    child.on('exit', resolve);
  });
  if (code !== 0 || !existsSync(paths.index)) {
    throw new Error(
      `building the studio failed (npm run build -w ${STUDIO_PACKAGE}, exit ${code}):\n${output.join('').slice(-4000)}`,
    );
  }
  return { built: true, index: paths.index };
}
