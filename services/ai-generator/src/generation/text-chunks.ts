/**
 * Long text for a speech model, cut into requests the model takes: whole sentences packed up to its
 * per-request limit (`limits.maxChars`), so each request ends where a reader would pause. A sentence
 * longer than the limit is cut at its last clause mark (`, ; :` and dashes), else its last space, before
 * the limit; a run of text with neither is cut at the limit. The chunks joined give back the text
 * exactly (whitespace stays with the sentence before it), so character timings of the chunks map onto
 * the whole text by plain offsets.
 */
export function splitText(opts: { text: string; maxChars: number; locale?: string }): string[] {
  const { text, maxChars, locale = 'en' } = opts;
  if (!Number.isInteger(maxChars) || maxChars < 1)
    throw new RangeError('maxChars must be a positive integer');
  if (text.length <= maxChars) return text.length ? [text] : [];
  const sentences = [...new Intl.Segmenter(locale, { granularity: 'sentence' }).segment(text)].flatMap((s) =>
    cutLong(s.segment, maxChars),
  );
  const chunks: string[] = [];
  let current = '';
  for (const s of sentences) {
    if (current && current.length + s.length > maxChars) {
      chunks.push(current);
      current = '';
    }
    current += s;
  }
  if (current) chunks.push(current);
  return chunks;
}

/** One sentence as pieces within `maxChars`: cut after a clause mark, else after a space, else hard. */
function cutLong(sentence: string, maxChars: number): string[] {
  const out: string[] = [];
  let rest = sentence;
  while (rest.length > maxChars) {
    const window = rest.slice(0, maxChars);
    const at = lastBreak(window, /[,;:\u2013\u2014]\s/g) ?? lastBreak(window, /\s/g) ?? maxChars;
    out.push(rest.slice(0, at));
    rest = rest.slice(at);
  }
  if (rest) out.push(rest);
  return out;
}

/** The index just after the last match of `re` in `s` (its whole match, so a space stays with the piece before). */
function lastBreak(s: string, re: RegExp): number | undefined {
  let at: number | undefined;
  for (const m of s.matchAll(re)) {
    const end = m.index + m[0].length;
    if (end > 0 && end <= s.length) at = end;
  }
  return at;
}
