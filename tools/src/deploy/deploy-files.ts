// Reads the deployment files (docker-compose.yml, infra/k8s) and the services' environment
// schemas, for the tests beside this file. No Docker and no cluster: YAML parsed with `yaml`.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import type { z } from 'zod';
import { BaseEnv } from '@reelbus/kit';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Every service folder with a `src/main.ts` (the kit is a library, not a service). */
export function serviceNames(root = ROOT): string[] {
  const dir = join(root, 'services');
  return readdirSync(dir)
    .filter((s) => s !== 'kit' && existsSync(join(dir, s, 'src', 'main.ts')))
    .sort();
}

// ---------------------------------------------------------------------------------------------
// Environment schemas

type EnvSchema = z.ZodObject;

export interface EnvVar {
  name: string;
  /** No default and not optional: the service refuses to start without it. */
  required: boolean;
  /** Declared by the kit (every service) or by the service's own config.ts. */
  source: 'kit' | 'service';
}

const ENV_NAME = /^[A-Z][A-Z0-9_]*$/;

function isEnvSchema(v: unknown): v is EnvSchema {
  const shape = (v as { shape?: unknown } | null)?.shape;
  return (
    typeof shape === 'object' &&
    shape !== null &&
    typeof (v as { safeParse?: unknown }).safeParse === 'function' &&
    Object.keys(shape).length > 0 &&
    Object.keys(shape).every((k) => ENV_NAME.test(k))
  );
}

/**
 * The zod object schemas a service's package (`@reelbus/<service>`) exports whose keys are
 * environment variable names (found by shape, so a service need not follow a naming rule).
 */
export async function serviceEnvSchemas(service: string, root = ROOT): Promise<EnvSchema[]> {
  if (!existsSync(join(root, 'services', service, 'src', 'config.ts'))) return [];
  // Through the package's entry point, like any other user of a service (never its src/ files).
  const mod = (await import(`@reelbus/${service}`)) as Record<string, unknown>;
  return [...new Set(Object.values(mod).filter(isEnvSchema))];
}

function varsOf(schema: EnvSchema, source: EnvVar['source']): EnvVar[] {
  return Object.entries(schema.shape as Record<string, z.ZodType>).map(([name, field]) => ({
    name,
    required: !field.safeParse(undefined).success,
    source,
  }));
}

/** Every variable a service reads: the kit's BaseEnv plus its own schema(s). */
export async function serviceEnvVars(service: string, root = ROOT): Promise<EnvVar[]> {
  const byName = new Map<string, EnvVar>();
  for (const v of varsOf(BaseEnv, 'kit')) byName.set(v.name, v);
  for (const schema of await serviceEnvSchemas(service, root))
    for (const v of varsOf(schema, 'service')) byName.set(v.name, v);
  return [...byName.values()];
}

/** `needs: { blobs, jobs }` as written in a service's main.ts (both default to true in the kit). */
export function serviceNeeds(service: string, root = ROOT): { blobs: boolean; jobs: boolean } {
  const src = readFileSync(join(root, 'services', service, 'src', 'main.ts'), 'utf8');
  const flag = (name: string) => {
    const m = new RegExp(`needs:\\s*\\{[^}]*\\b${name}:\\s*(true|false)`).exec(src);
    return m ? m[1] === 'true' : true;
  };
  return { blobs: flag('blobs'), jobs: flag('jobs') };
}

// ---------------------------------------------------------------------------------------------
// docker-compose.yml

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string; args?: Record<string, string>; target?: string };
  environment?: Record<string, string | number | boolean | null>;
  healthcheck?: { test: string[] | string; interval?: string };
  depends_on?: Record<string, { condition: string }>;
  ports?: string[];
  volumes?: string[];
  command?: string[];
  entrypoint?: string[] | string;
  restart?: string;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

export function loadCompose(root = ROOT): ComposeFile {
  // `merge: true`: compose supports YAML merge keys (`<<: *service-env`).
  return parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as ComposeFile;
}

/**
 * Compose's variable interpolation: `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?msg}`,
 * `$VAR` and `$$` (a literal `$`), against `vars` (what a `.env` or the shell would set).
 */
export function interpolate(value: string, vars: Record<string, string | undefined> = {}): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (whole, name?: string, colon?: string, op?: string, arg?: string, bare?: string) => {
      if (whole === '$$') return '$';
      if (bare) return vars[bare] ?? '';
      const v = vars[name!];
      const unset = colon ? v === undefined || v === '' : v === undefined;
      if (!op) return v ?? '';
      if (!unset) return v!;
      if (op === '-') return interpolate(arg ?? '', vars);
      throw new Error(`${name}: ${arg || 'required'} (compose would refuse to start)`);
    },
  );
}

/** A service's environment as compose would pass it, with `vars` as the .env (none by default). */
export function composeEnvironment(
  compose: ComposeFile,
  service: string,
  vars: Record<string, string | undefined> = {},
): Record<string, string> {
  const raw = compose.services[service]?.environment ?? {};
  return Object.fromEntries(
    Object.entries(raw).map(([k, v]) => [k, interpolate(v === null ? '' : String(v), vars)]),
  );
}

// ---------------------------------------------------------------------------------------------
// infra/k8s

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  /** File it came from, relative to infra/k8s. */
  file: string;
}

export const K8S_DIR = join(ROOT, 'infra', 'k8s');

/** Every YAML file under infra/k8s, relative paths. */
export function k8sYamlFiles(dir = K8S_DIR, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? k8sYamlFiles(join(dir, e.name), `${prefix}${e.name}/`)
      : /\.ya?ml$/.test(e.name)
        ? [`${prefix}${e.name}`]
        : [],
  );
}

/** Parses every document of a YAML file; throws naming the file and line on a syntax error. */
export function parseK8sFile(rel: string, dir = K8S_DIR): K8sObject[] {
  const docs = parseAllDocuments(readFileSync(join(dir, rel), 'utf8'));
  return docs.flatMap((d) => {
    if (d.errors.length) throw new Error(`${rel}: ${d.errors.map((e) => e.message).join('; ')}`);
    const obj = d.toJS() as Omit<K8sObject, 'file'> | null;
    return obj ? [{ ...obj, file: rel }] : [];
  });
}

export interface Kustomization {
  namespace?: string;
  resources: string[];
  configMapGenerator?: Array<{ name: string; files?: string[] }>;
  images?: Array<{ name: string; newName?: string; newTag?: string }>;
}

export function loadKustomization(dir = K8S_DIR): Kustomization {
  return parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization;
}

/** The objects kustomize would apply: every resource file the kustomization lists. */
export function loadK8sObjects(dir = K8S_DIR): K8sObject[] {
  return loadKustomization(dir).resources.flatMap((f) => parseK8sFile(f, dir));
}

export interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: Array<{
    name: string;
    value?: string;
    valueFrom?: {
      secretKeyRef?: { name: string; key: string; optional?: boolean };
      fieldRef?: { fieldPath: string };
    };
  }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
}

export interface Probe {
  httpGet?: { path: string; port: number | string };
}

/** The first container of a Deployment or StatefulSet. */
export function podContainer(obj: K8sObject): Container {
  const spec = obj.spec as { template: { spec: { containers: Container[] } } };
  const c = spec.template.spec.containers[0];
  if (!c) throw new Error(`${obj.kind}/${obj.metadata.name} has no container`);
  return c;
}

/** A probe's port as a number (named ports resolved through the container's ports). */
export function probePort(c: Container, probe: Probe): number | undefined {
  const port = probe.httpGet?.port;
  if (typeof port === 'number') return port;
  return c.ports?.find((p) => p.name === port)?.containerPort;
}
