/**
 * Quotes a file path for use as a filter option value inside a -filter_complex graph:
 * `\` and `:` are escaped for the option level, single quotes protect `,;[]` at the graph level.
 */
export function filterPath(path: string): string {
  if (path.includes("'"))
    throw new Error(`cannot use a path with a single quote in an ffmpeg filter: ${path}`);
  return `'${path.replace(/\\/g, '\\\\').replace(/:/g, '\\:')}'`;
}

/** Seconds as ffmpeg reads them: fixed decimals, no exponent. */
export function sec(value: number): string {
  return value.toFixed(3);
}
