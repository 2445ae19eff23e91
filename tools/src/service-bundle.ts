// One ESM bundle per service (`services/<name>/dist/`, see `BundleManifest`), so that the stack can start a service
// with plain `node` instead of `node --import tsx`. Under tsx every module a service loads (its own
// sources and every package in node_modules) goes through tsx's loader hooks, which run on their own
// thread; a service then spends most of its start-up CPU there, and the end-to-end tests start seven
// services per stack. The bundle holds the repository's own TypeScript (the service, the kit, the
// contracts); npm packages stay outside it and are loaded by node from where the source would load them.
//
// A bundle is used only while it is fresh: newer than every source file it was built from (esbuild's
// list of inputs, kept in its manifest). A stale or missing bundle means tsx, as before.
import { readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Plugin } from 'esbuild';

/**
 * A service's bundles live in `services/<name>/dist/` (not committed): each build in a directory of its
 * own, and `main.json` names the current one and the source files it was built from.
 */
export interface BundleManifest {
  /** The build's directory, relative to `dist/`. */
  dir: string;
  /** Every repository file the bundle was built from, relative to the root. */
  inputs: string[];
  /** When the build started (ms since the epoch): a source changed after that makes it stale. */
  builtAt: number;
}

const distDir = (root: string, service: string) => join(root, 'services', service, 'dist');
const manifestPath = (root: string, service: string) => join(distDir(root, service), 'main.json');

/** A bundle is fresh when no input is missing or changed after its build started (pure). */
export function isFresh(builtMs: number, inputMtimesMs: ReadonlyArray<number | undefined>): boolean {
  return inputMtimesMs.every((m) => m !== undefined && m <= builtMs);
}

const mtimeOf = (file: string): number | undefined => {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
};

/** The entry of `service`'s bundle when it exists and no source it was built from changed since; else undefined. */
export function freshBundle(root: string, service: string): string | undefined {
  let m: BundleManifest;
  try {
    m = JSON.parse(readFileSync(manifestPath(root, service), 'utf8')) as BundleManifest;
  } catch {
    return undefined; // none yet
  }
  const entry = join(distDir(root, service), m.dir, 'main.mjs');
  if (mtimeOf(entry) === undefined) return undefined;
  return isFresh(
    m.builtAt,
    m.inputs.map((f) => mtimeOf(join(root, f))),
  )
    ? entry
    : undefined;
}

/**
 * Keeps the behaviour of the sources: npm packages are left out of the bundle but resolved (by
 * esbuild, with node's conditions) from the importing file, so a service that has its own version of a
 * package in its own node_modules still gets that one; and `import.meta.url` keeps meaning the source
 * file, because services find files next to their sources with it (assets, the studio build, schemas).
 */
function keepSourceSemantics(root: string): Plugin {
  return {
    name: 'reelbus-source-semantics',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === 'resolving' || isBuiltin(args.path) || args.path.startsWith('@reelbus/'))
          return undefined;
        const resolved = await build.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: 'resolving',
        });
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        return { path: resolved.path, external: true };
      });
      build.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (relative(root, args.path).startsWith('..') || args.path.includes('/node_modules/'))
          return undefined;
        const source = await readFile(args.path, 'utf8');
        return {
          contents: source.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)),
          loader: 'ts',
        };
      });
    },
  };
}

/** Builds `service`'s bundle from its `src/main.ts`; returns the entry's path. */
export async function bundleService(root: string, service: string): Promise<string> {
  const { build } = await import('esbuild');
  const dist = distDir(root, service);
  // A new directory per build, named in main.json once complete: a stack starting meanwhile runs the
  // previous build or this one, never half of one.
  const builtAt = Date.now();
  const dir = `bundle-${builtAt.toString(36)}-${process.pid}`;
  const result = await build({
    entryPoints: { main: join(root, 'services', service, 'src', 'main.ts') },
    outdir: join(dist, dir),
    outExtension: { '.js': '.mjs' },
    bundle: true,
    // What a service imports lazily (e.g. the MediaConvert backend and its SDK) stays lazy: own chunks.
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: `node${process.versions.node.split('.')[0]}`,
    // Resolve npm packages as node does: `main` only, and node's export conditions (esbuild's default
    // would add `module`, which picks builds meant for bundlers, e.g. @opentelemetry/api's esm/).
    mainFields: ['main'],
    conditions: ['node'],
    keepNames: true,
    // Stack traces in the services' logs point at the sources (node runs them with --enable-source-maps).
    sourcemap: 'inline',
    sourcesContent: false,
    absWorkingDir: root,
    metafile: true,
    logLevel: 'silent',
    plugins: [keepSourceSemantics(root)],
  });
  const inputs = Object.keys(result.metafile.inputs)
    .filter((f) => !f.startsWith('..') && !f.includes('node_modules/'))
    .sort();
  const manifest: BundleManifest = { dir, inputs, builtAt };
  const tmp = `${manifestPath(root, service)}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(manifest));
  renameSync(tmp, manifestPath(root, service));
  // Earlier builds go; one that another process wrote a moment ago may be in use, so only old ones.
  for (const old of readdirSync(dist)) {
    const path = join(dist, old);
    if (old.startsWith('bundle-') && old !== dir && Date.now() - (mtimeOf(path) ?? 0) > STALE_BUILD_MS)
      rmSync(path, { recursive: true, force: true });
  }
  return join(dist, dir, 'main.mjs');
}

/** Earlier builds older than this are removed by the next build. */
const STALE_BUILD_MS = 10 * 60_000;

/** Builds every given service's bundle (in parallel: esbuild runs them on its own threads). */
export async function bundleServices(root: string, services: string[]): Promise<string[]> {
  return Promise.all(services.map((s) => bundleService(root, s)));
}
