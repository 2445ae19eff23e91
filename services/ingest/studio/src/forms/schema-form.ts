// A form from a model's params JSON Schema (GET /v1/models), and the params from what was typed.
// Pure and unit-tested; the Generations page renders the fields. The API stays the judge: it checks
// the params against the same schema and names every bad one (`params.width`), which the page puts
// next to its control.
import type { FieldIssue, JsonSchema, ModelPricing } from '../api/types.ts';

export type ParamKind = 'text' | 'long-text' | 'integer' | 'number' | 'choice' | 'boolean' | 'json';

/** One control of the params form. */
export interface ParamField {
  /** The param's name (`prompt`); the API names it `params.<name>`. */
  name: string;
  kind: ParamKind;
  required: boolean;
  /** What the field starts with: the schema's default, as the control holds it. */
  initial: string | boolean;
  description: string | undefined;
  /** For `choice`: the values, as strings (and what each is as JSON). */
  options: Array<{ text: string; value: unknown }>;
  /** For numbers: the input's min, max and step. */
  min: number | undefined;
  max: number | undefined;
  step: number | 'any' | undefined;
  /** For text: the longest value and a pattern to say, not to enforce (the API does). */
  maxLength: number | undefined;
  /** A short hint built from the schema: range, default, pattern. */
  hint: string;
}

/** Params whose text is usually long: a textarea. */
const LONG_TEXT = /^(prompt|negativePrompt|text|script|lyrics)$/;

/** The fields of a params schema, in the schema's order, required ones first. */
export function paramFields(schema: JsonSchema): ParamField[] {
  const props = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const fields = Object.entries(props).map(([name, p]) => paramField(name, p, required.has(name)));
  return [...fields.filter((f) => f.required), ...fields.filter((f) => !f.required)];
}

/** "needs prompt or image" for a schema's `anyOf` of `required` alternatives, shown above the form. */
export function alternativesNote(schema: JsonSchema): string | undefined {
  const alts = (schema.anyOf ?? [])
    .map((a) => a.required?.join(' and '))
    .filter((x): x is string => Boolean(x));
  return alts.length > 1 ? `Give at least one of: ${alts.join(', or ')}.` : undefined;
}

function paramField(name: string, p: JsonSchema, required: boolean): ParamField {
  const enumValues = p.enum;
  const type = Array.isArray(p.type) ? p.type.find((t) => t !== 'null') : p.type;
  const kind: ParamKind = enumValues
    ? 'choice'
    : type === 'integer'
      ? 'integer'
      : type === 'number'
        ? 'number'
        : type === 'boolean'
          ? 'boolean'
          : type === 'string'
            ? LONG_TEXT.test(name) || (p.maxLength ?? 0) > 500
              ? 'long-text'
              : 'text'
            : 'json';
  const min = p.minimum ?? p.exclusiveMinimum;
  const max = p.maximum ?? p.exclusiveMaximum;
  const hint = [
    p.description,
    kind === 'integer' || kind === 'number' ? rangeText(p) : undefined,
    p.default !== undefined && kind !== 'boolean' ? `default ${display(p.default)}` : undefined,
    p.pattern ? `format ${p.pattern}` : undefined,
    kind === 'json' ? 'as JSON' : undefined,
  ]
    .filter(Boolean)
    .join(' · ');
  return {
    name,
    kind,
    required,
    initial:
      kind === 'boolean'
        ? p.default === true
        : p.default === undefined
          ? ''
          : kind === 'json'
            ? JSON.stringify(p.default)
            : String(p.default),
    description: p.description,
    options: (enumValues ?? []).map((v) => ({ text: display(v), value: v })),
    min,
    max,
    step: kind === 'integer' ? (p.multipleOf ?? 1) : kind === 'number' ? (p.multipleOf ?? 'any') : undefined,
    maxLength: p.maxLength,
    hint,
  };
}

function rangeText(p: JsonSchema): string | undefined {
  const lo =
    p.minimum !== undefined
      ? `${p.minimum}`
      : p.exclusiveMinimum !== undefined
        ? `above ${p.exclusiveMinimum}`
        : '';
  const hi =
    p.maximum !== undefined
      ? `${p.maximum}`
      : p.exclusiveMaximum !== undefined
        ? `below ${p.exclusiveMaximum}`
        : '';
  const range = lo && hi ? `${lo} to ${hi}` : lo ? `from ${lo}` : hi ? `up to ${hi}` : '';
  const multiple = p.multipleOf ? `multiple of ${p.multipleOf}` : '';
  return [range, multiple].filter(Boolean).join(', ') || undefined;
}

const display = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

export type ParamValues = Record<string, string | boolean>;

/** The values a form starts with: each field's default. */
export function initialValues(fields: ParamField[]): ParamValues {
  return Object.fromEntries(fields.map((f) => [f.name, f.initial]));
}

/**
 * The params to send, or the fields that cannot be sent as typed (named `params.<name>`, as the API
 * names them). An empty optional field is left out, so the model's default applies; a boolean is sent
 * when it differs from the default (or the param is required).
 */
export function paramsFromValues(
  fields: ParamField[],
  values: ParamValues,
): { params: Record<string, unknown>; issues: FieldIssue[] } {
  const params: Record<string, unknown> = {};
  const issues: FieldIssue[] = [];
  for (const f of fields) {
    const field = `params.${f.name}`;
    const raw = values[f.name] ?? f.initial;
    if (f.kind === 'boolean') {
      if (f.required || raw !== f.initial) params[f.name] = raw === true;
      continue;
    }
    const text = typeof raw === 'string' ? raw.trim() : '';
    if (text === '') {
      if (f.required) issues.push({ field, message: 'is required' });
      continue;
    }
    switch (f.kind) {
      case 'integer':
      case 'number': {
        const n = Number(text);
        if (!Number.isFinite(n)) issues.push({ field, message: 'must be a number' });
        else if (f.kind === 'integer' && !Number.isInteger(n))
          issues.push({ field, message: 'must be a whole number' });
        else params[f.name] = n;
        break;
      }
      case 'choice': {
        const option = f.options.find((o) => o.text === text);
        if (option) params[f.name] = option.value;
        else issues.push({ field, message: `must be one of ${f.options.map((o) => o.text).join(', ')}` });
        break;
      }
      case 'json':
        try {
          params[f.name] = JSON.parse(text);
        } catch {
          issues.push({ field, message: 'must be JSON' });
        }
        break;
      default:
        // Text as typed (a prompt's own spaces matter; only an all-blank one counts as empty).
        params[f.name] = raw;
    }
  }
  return { params, issues };
}

/** "Free", "$0.003 per run", "$0.05 per second of video", "$0.30 per 1,000 characters". */
export function priceText(pricing: ModelPricing): string {
  if (pricing.price === 0) return 'Free';
  const amount = `$${pricing.price < 0.01 ? String(pricing.price) : pricing.price.toFixed(2)}`;
  switch (pricing.unit) {
    case 'run':
      return `${amount} per run`;
    case 'output_second':
      return `${amount} per second of output`;
    case 'compute_second':
      return `${amount} per second of compute${pricing.hardware ? ` (${pricing.hardware})` : ''}`;
    case '1k_characters':
      return `${amount} per 1,000 characters`;
    default:
      return `${amount} per ${String(pricing.unit)}`;
  }
}
