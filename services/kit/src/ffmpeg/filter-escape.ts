// Values inside a -filter_complex graph pass two parsers: the graph parser (which splits filters on
// `,` `;` and labels on `[` `]`) and then each filter's option parser (which splits options on `:`).
// Both take `\` escapes and '…' quotes. These helpers make any string arrive intact.

/**
 * Escapes a value for a filter option inside -filter_complex: first for the option parser
 * (`\ ' :`), then for the graph parser (`\ ' [ ] , ;`). Works for any text (drawtext `text=`).
 */
export function escapeFilterValue(value: string): string {
  const level1 = value.replace(/[\\':]/g, (c) => `\\${c}`);
  return level1.replace(/[\\'[\],;]/g, (c) => `\\${c}`);
}

/**
 * A file path as a filter option value (`fontfile=`, `textfile=`, `movie=`): single-quoted for the
 * graph parser, `\` and `:` escaped for the option parser — readable in logs. A path with a single
 * quote cannot sit inside quotes, so it is escaped with `escapeFilterValue` instead.
 */
export function filterPath(path: string): string {
  if (path.includes("'")) return escapeFilterValue(path);
  return `'${path.replace(/\\/g, '\\\\').replace(/:/g, '\\:')}'`;
}
