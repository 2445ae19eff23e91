/** An inclusive byte range inside a blob of known size. */
export interface ResolvedRange {
  start: number;
  end: number;
}

/**
 * Parses a `Range: bytes=…` header against `size`. Undefined means "serve it all" (no header, another
 * unit, several ranges or bad syntax: RFC 9110 lets a server ignore those); 'unsatisfiable' means 416.
 */
export function parseRange(
  header: string | undefined,
  size: number,
): ResolvedRange | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return undefined;
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return undefined;
  if (a === '') {
    const suffix = Number(b);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (b !== '' && Number(b) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}
