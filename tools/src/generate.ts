// `reelbus models` and `reelbus generate <model> key=value…`: the model registry and one model run.
import type { PublicModelView } from './client.ts';

/**
 * `key=value` arguments → params, each value typed by the model's schema: numbers and integers as numbers,
 * booleans as true/false, objects and arrays as JSON, anything else as the string. Throws naming the argument.
 */
export function parseParamArgs(opts: { args: string[]; model: PublicModelView }): Record<string, unknown> {
  const { args, model } = opts;
  const props = model.params.properties ?? {};
  const out: Record<string, unknown> = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0)
      throw new Error(
        `"${arg}" is not key=value (the params of ${model.id}: ${Object.keys(props).join(', ')})`,
      );
    const key = arg.slice(0, eq);
    const raw = arg.slice(eq + 1);
    const schema = props[key];
    const types = schema ? [schema.type ?? []].flat() : [];
    const enumValues = schema?.enum;
    if (
      types.includes('integer') ||
      types.includes('number') ||
      (enumValues && enumValues.every((v) => typeof v === 'number'))
    ) {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new Error(`${key}=${raw}: must be a number`);
      out[key] = n;
    } else if (types.includes('boolean')) {
      if (raw !== 'true' && raw !== 'false') throw new Error(`${key}=${raw}: must be true or false`);
      out[key] = raw === 'true';
    } else if (types.includes('object') || types.includes('array')) {
      try {
        out[key] = JSON.parse(raw);
      } catch {
        throw new Error(`${key}=${raw}: must be JSON`);
      }
    } else out[key] = raw;
  }
  return out;
}

/** One line per model: id, type, provider, price, time, and its params (required ones starred). */
export function formatModels(models: PublicModelView[]): string {
  const unit: Record<string, string> = {
    run: 'run',
    output_second: 's of output',
    compute_second: 'compute s',
    '1k_characters': '1k chars',
  };
  const lines = models.map((m) => {
    const required = new Set(m.params.required ?? []);
    const params = Object.keys(m.params.properties ?? {})
      .map((p) => (required.has(p) ? `${p}*` : p))
      .join(' ');
    const price =
      m.pricing.price === 0 ? 'free' : `$${m.pricing.price}/${unit[m.pricing.unit] ?? m.pricing.unit}`;
    return `${m.id.padEnd(28)} ${m.type.padEnd(7)} ${m.provider.padEnd(11)} ${price.padEnd(22)} ~${String(m.estimatedTimeSec).padStart(3)} s  ${params}`;
  });
  return [
    `${'model'.padEnd(28)} ${'type'.padEnd(7)} ${'provider'.padEnd(11)} ${'price'.padEnd(22)} time    params (* required)`,
    ...lines,
  ].join('\n');
}
