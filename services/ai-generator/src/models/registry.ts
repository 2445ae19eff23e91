import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import {
  ModelEntrySchema,
  RegistryFileSchema,
  type JsonSchemaObject,
  type Model,
  type ModelType,
  type ParamIssue,
  type PublicModel,
} from './types.ts';

// ajv is CommonJS; its 2020-12 build is the class itself (module.exports) under Node's loader.
const require = createRequire(import.meta.url);
type AjvClass = typeof import('ajv/dist/2020.js').default;
const Ajv2020 = require('ajv/dist/2020') as AjvClass;

/** The registry shipped with reelbus (`MODELS_CONFIG` replaces it). */
export const DEFAULT_MODELS_CONFIG = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  '..',
  'infra',
  'models.yaml',
);

/** Local generators and the model type each makes. */
export const LOCAL_GENERATORS: Record<string, ModelType> = {
  image: 'image',
  video: 'video',
  music: 'audio',
  speech: 'speech',
  avatar: 'avatar',
};

/** The registry file is invalid: one line per problem. */
export class RegistryError extends Error {
  override name = 'RegistryError';
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`invalid model registry ${source}:\n  ${problems.join('\n  ')}`);
  }
}

/** An unknown model id. */
export class UnknownModelError extends Error {
  override name = 'UnknownModelError';
  constructor(
    readonly id: string,
    readonly known: string[],
  ) {
    super(`unknown model "${id}" (the registry has ${known.join(', ')})`);
  }
}

export type ParamsResult =
  { ok: true; params: Record<string, unknown> } | { ok: false; issues: ParamIssue[]; message: string };

/** The models reelbus can run, by id; params validators compiled once. */
export class ModelRegistry {
  readonly #models: Map<string, Model>;
  readonly #validators: Map<string, ValidateFunction>;

  constructor(
    readonly source: string,
    models: Model[],
    validators: Map<string, ValidateFunction>,
  ) {
    this.#models = new Map(models.map((m) => [m.id, m]));
    this.#validators = validators;
  }

  /** Every model, in file order, optionally of one type. */
  list(type?: ModelType): Model[] {
    return [...this.#models.values()].filter((m) => !type || m.type === type);
  }

  has(id: string): boolean {
    return this.#models.has(id);
  }

  /** The model `id`, or UnknownModelError naming the known ones. */
  get(id: string): Model {
    const m = this.#models.get(id);
    if (!m) throw new UnknownModelError(id, [...this.#models.keys()]);
    return m;
  }

  /**
   * Checks `params` against the model's schema and fills in its defaults. Every bad field is named by
   * its path (`params.width`), all at once.
   */
  validateParams(id: string, params: unknown): ParamsResult {
    const model = this.get(id);
    const validate = this.#validators.get(id)!;
    const value = structuredClone(params ?? {});
    if (validate(value)) return { ok: true, params: value as Record<string, unknown> };
    const issues = paramIssues(validate.errors ?? [], model);
    const unique = [...new Map(issues.map((i) => [`${i.field}: ${i.message}`, i])).values()];
    return { ok: false, issues: unique, message: unique.map((i) => `${i.field}: ${i.message}`).join('; ') };
  }
}

/** What `GET /v1/models` shows: everything but the provider input mapping and output path. */
export function publicModel(m: Model): PublicModel {
  return {
    id: m.id,
    type: m.type,
    provider: m.provider,
    ref: m.ref,
    ...(m.description ? { description: m.description } : {}),
    params: m.params,
    media: m.media,
    limits: m.limits,
    pricing: m.pricing,
    estimatedTimeSec: m.estimatedTimeSec,
  };
}

/**
 * ajv's errors as params problems. An `anyOf` of `required` alternatives (e.g. a prompt or an image) is
 * one problem, "needs prompt or image", instead of one per alternative.
 */
function paramIssues(errors: ErrorObject[], model: Model): ParamIssue[] {
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.schemaPath));
  const out: ParamIssue[] = [];
  for (const e of errors) {
    const under = [...anyOfPaths].find((p) => e.schemaPath.startsWith(`${p}/`));
    if (under && e.keyword === 'required') continue;
    if (e.keyword === 'anyOf') {
      const alternatives = errors
        .filter((x) => x.keyword === 'required' && x.schemaPath.startsWith(`${e.schemaPath}/`))
        .map((x) => String(x.params.missingProperty));
      if (alternatives.length) {
        out.push({ field: paramIssue(e, model).field, message: `needs ${alternatives.join(' or ')}` });
        continue;
      }
    }
    out.push(paramIssue(e, model));
  }
  return out;
}

function paramIssue(e: ErrorObject, model: Model): ParamIssue {
  const path = e.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const field = (extra?: string) =>
    ['params', ...path, ...(extra ? [extra] : [])]
      .map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`))
      .join('');
  switch (e.keyword) {
    case 'required':
      return { field: field(String(e.params.missingProperty)), message: 'is required' };
    case 'additionalProperties': {
      const known = Object.keys(model.params.properties ?? {});
      return {
        field: field(String(e.params.additionalProperty)),
        message: `is not a param of ${model.id} (it takes ${known.join(', ') || 'none'})`,
      };
    }
    case 'enum':
      return {
        field: field(),
        message: `must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    default:
      return { field: field(), message: e.message ?? e.keyword };
  }
}

function newAjv() {
  // strict: a typo such as `minimun` in a params schema is an error at start, not a silent no-op
  return new Ajv2020({ allErrors: true, useDefaults: true, strict: true, strictRequired: false });
}

/** Reads and validates a registry file (YAML or JSON). Throws RegistryError with one line per problem. */
export function loadModelRegistry(path: string = DEFAULT_MODELS_CONFIG): ModelRegistry {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new RegistryError(path, [`cannot read the file: ${(err as Error).message}`]);
  }
  let doc: unknown;
  try {
    doc = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new RegistryError(path, [
      `not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${((err as Error).message.split('\n')[0] ?? '').trim()}`,
    ]);
  }
  return parseModelRegistry(doc, path);
}

/** Validates a parsed registry document. Throws RegistryError with one line per problem. */
export function parseModelRegistry(doc: unknown, source = '(registry)'): ModelRegistry {
  const problems: string[] = [];
  const file = RegistryFileSchema.safeParse(doc);
  if (!file.success) {
    throw new RegistryError(source, zodLines(file.error, ''));
  }
  const models: Model[] = [];
  const validators = new Map<string, ValidateFunction>();
  const ajv = newAjv();
  const seen = new Map<string, number>();
  file.data.models.forEach((raw, i) => {
    const rawId = (raw as { id?: unknown } | null)?.id;
    const where = `models[${i}]${typeof rawId === 'string' ? ` (${rawId})` : ''}`;
    const entry = ModelEntrySchema.safeParse(raw);
    if (!entry.success) {
      problems.push(...zodLines(entry.error, where));
      return;
    }
    const m = entry.data;
    const before = problems.length;
    if (seen.has(m.id))
      problems.push(`${where}.id: "${m.id}" is already the id of models[${seen.get(m.id)}]`);
    seen.set(m.id, i);
    problems.push(...checkModel(m, where));
    const params = m.params as JsonSchemaObject;
    let validate: ValidateFunction | undefined;
    try {
      validate = ajv.compile(params);
    } catch (err) {
      problems.push(`${where}.params: not a valid JSON Schema: ${(err as Error).message}`);
    }
    if (validate) problems.push(...checkDefaults(ajv, params, where));
    if (problems.length === before && validate) {
      models.push({ ...m, params });
      validators.set(m.id, validate);
    }
  });
  if (problems.length) throw new RegistryError(source, problems);
  return new ModelRegistry(source, models, validators);
}

/** Cross-field rules the entry schema cannot say. */
function checkModel(m: z.infer<typeof ModelEntrySchema>, where: string): string[] {
  const out: string[] = [];
  const params = m.params as { type?: unknown; properties?: Record<string, unknown> };
  if (params.type !== 'object')
    out.push(`${where}.params.type: must be "object" (a JSON Schema of the params)`);
  const props = new Set(Object.keys(params.properties ?? {}));
  const need = (name: string, what: string) => {
    if (!props.has(name)) out.push(`${what}: names "${name}", which is not in params.properties`);
  };
  for (const name of Object.keys(m.media)) need(name, `${where}.media.${name}`);
  for (const [field, v] of Object.entries(m.input ?? {})) {
    if (typeof v === 'string') need(v, `${where}.input.${field}`);
    else if ('param' in v) need(v.param, `${where}.input.${field}.param`);
  }
  if (m.pricing.unit === '1k_characters') need(m.pricing.textParam ?? 'text', `${where}.pricing.textParam`);
  if (m.pricing.unit === 'output_second' && !m.pricing.assumedOutputSec) {
    need(
      m.pricing.durationParam ?? 'duration',
      `${where}.pricing.durationParam (or set pricing.assumedOutputSec)`,
    );
  }
  switch (m.provider) {
    case 'local': {
      const makes = LOCAL_GENERATORS[m.ref];
      if (!makes)
        out.push(
          `${where}.ref: "${m.ref}" is not a local generator (${Object.keys(LOCAL_GENERATORS).join(', ')})`,
        );
      else if (makes !== m.type)
        out.push(`${where}.ref: the local "${m.ref}" generator makes ${makes}, not ${m.type}`);
      break;
    }
    case 'replicate':
      if (!/^[a-z0-9][\w.-]*\/[\w.-]+(:[0-9a-f]{64})?$/i.test(m.ref))
        out.push(`${where}.ref: must be a Replicate model "owner/name" or "owner/name:<64 hex version>"`);
      break;
    case 'fal':
      if (!/^[\w.-]+\/[\w./-]+$/.test(m.ref))
        out.push(`${where}.ref: must be a fal endpoint id such as "fal-ai/flux/schnell"`);
      break;
    case 'elevenlabs':
      if (m.type !== 'speech') out.push(`${where}.type: the elevenlabs provider makes speech only`);
      if (!m.limits.maxChars)
        out.push(`${where}.limits.maxChars: is required for elevenlabs (per-request limit)`);
      need('text', `${where}.params.properties`);
      need('voice', `${where}.params.properties`);
      break;
  }
  if (m.type === 'avatar') {
    if (m.media.audio !== 'audio')
      out.push(`${where}.media.audio: an avatar model takes its audio as media "audio"`);
    if (m.media.image !== undefined && m.media.image !== 'image')
      out.push(`${where}.media.image: must be of kind image`);
    if (!m.limits.fps) out.push(`${where}.limits.fps: is required for avatar models`);
  }
  return out;
}

/** Every `default` in the params schema must itself be valid for its property. */
function checkDefaults(ajv: ReturnType<typeof newAjv>, params: JsonSchemaObject, where: string): string[] {
  const out: string[] = [];
  for (const [name, schema] of Object.entries(params.properties ?? {})) {
    if (!schema || typeof schema !== 'object' || !('default' in schema)) continue;
    const { default: value, ...rest } = schema;
    const ok = ajv.validate(rest, value);
    if (!ok)
      out.push(
        `${where}.params.properties.${name}.default: ${JSON.stringify(value)} ${ajv.errors?.map((e) => e.message).join(', ')}`,
      );
  }
  return out;
}

function zodLines(error: z.ZodError, prefix: string): string[] {
  return error.issues.map((i) => {
    const path = i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    return `${prefix}${path || (prefix ? '' : '(root)')}: ${i.message}`.replace(/^\./, '');
  });
}

/**
 * For a service's main, before it starts: the registry at `path` (MODELS_CONFIG), or — when it is invalid —
 * one line per problem on stderr and exit 78 (EX_CONFIG), like any other configuration error.
 */
export function loadModelRegistryOrExit(opts: { path: string | undefined; service: string }): ModelRegistry {
  try {
    return loadModelRegistry(opts.path || undefined);
  } catch (err) {
    if (!(err instanceof RegistryError)) throw err;
    process.stderr.write(
      `${opts.service}: invalid configuration:\n${err.problems.map((p) => `  MODELS_CONFIG (${err.source}): ${p}`).join('\n')}\n`,
    );
    process.exit(78);
  }
}
