import type { Model } from './types.ts';

/**
 * The provider's input for a run: each field of the model's `input` mapping takes a reelbus param (media
 * params as the URL the provider can fetch, from `mediaUrls`) or a constant. Without a mapping, params go
 * under their own names. Params that are not set (and have no default) are left out.
 */
export function buildProviderInput(opts: {
  model: Model;
  params: Record<string, unknown>;
  mediaUrls?: Record<string, string>;
}): Record<string, unknown> {
  const { model, params, mediaUrls = {} } = opts;
  const value = (name: string) => (name in model.media ? mediaUrls[name] : params[name]);
  const out: Record<string, unknown> = {};
  if (!model.input) {
    for (const name of Object.keys(params)) {
      const v = value(name);
      if (v !== undefined) out[name] = v;
    }
    return out;
  }
  for (const [field, source] of Object.entries(model.input)) {
    const v =
      typeof source === 'string' ? value(source) : 'param' in source ? value(source.param) : source.const;
    if (v !== undefined) out[field] = v;
  }
  return out;
}

/** The value at a dot path (`video.url`, `images.0.url`) of a provider result; undefined when absent. */
export function valueAtPath(value: unknown, path: string): unknown {
  let cur: unknown = value;
  for (const part of path.split('.')) {
    if (cur === null || cur === undefined) return undefined;
    if (Array.isArray(cur)) cur = /^\d+$/.test(part) ? cur[Number(part)] : undefined;
    else if (typeof cur === 'object') cur = (cur as Record<string, unknown>)[part];
    else return undefined;
  }
  return cur;
}

/**
 * The media URLs in a provider's result: at the model's `output.path` when it has one, else every http(s)
 * URL found (Replicate's `output` is a URL or a list of them; fal results hold `{ url }` objects).
 */
export function outputUrls(opts: { model: Model; result: unknown }): string[] {
  const { model, result } = opts;
  const root = model.output.path ? valueAtPath(result, model.output.path) : result;
  const urls: string[] = [];
  const walk = (v: unknown, depth: number) => {
    if (depth > 6 || urls.length >= 16) return;
    if (typeof v === 'string') {
      if (/^https?:\/\//.test(v) || v.startsWith('data:')) urls.push(v);
    } else if (Array.isArray(v)) for (const x of v) walk(x, depth + 1);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.url === 'string') walk(o.url, depth + 1);
      else for (const x of Object.values(o)) walk(x, depth + 1);
    }
  };
  walk(root, 0);
  return urls;
}
