import type { z } from 'zod';

/** One thing wrong with an input: its JSON path (`tracks[1].clips[3].source`) and what is wrong. */
export interface Problem {
  path: string;
  message: string;
}

/** A zod issue path as a JSON path: `['tracks', 1, 'clips', 3, 'source']` → `tracks[1].clips[3].source`. */
export function jsonPath(path: readonly PropertyKey[], prefix = ''): string {
  let out = prefix;
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

type Issue = z.core.$ZodIssue;

/** How many issues in a union branch say a required field is missing or an unknown one is present. */
function mismatch(issues: readonly Issue[]): number {
  return issues.filter(
    (i) =>
      i.code === 'unrecognized_keys' ||
      (i.code === 'invalid_type' && i.path.length <= 1 && /received undefined/.test(i.message)),
  ).length;
}

/**
 * Every problem of a failed parse, as `{ path, message }` with JSON paths, in input order. A failed
 * union (`{ key } | { url } | { upload }`, `Rect | { anchor }`) reports the branch the input was
 * clearly aiming at (the one with no missing or unknown fields), so `{ key: "/abs" }` says what is
 * wrong with the key rather than "invalid input".
 */
export function problemsOf(error: z.ZodError, prefix = ''): Problem[] {
  const out: Problem[] = [];
  const walk = (issues: readonly Issue[], base: readonly PropertyKey[]) => {
    for (const issue of issues) {
      const path = [...base, ...issue.path];
      if (issue.code === 'invalid_union' && issue.errors.length > 0) {
        const scored = issue.errors.map((branch) => ({ branch, score: mismatch(branch) }));
        const best = Math.min(...scored.map((s) => s.score));
        const winners = scored.filter((s) => s.score === best);
        if (winners.length === 1 && winners[0]!.branch.length > 0) {
          walk(winners[0]!.branch, path);
          continue;
        }
      }
      out.push({ path: jsonPath(path, prefix), message: issue.message });
    }
  };
  walk(error.issues, []);
  return out;
}

/** Problems as one line: `tracks[0].clips[1].source: …; output.width: …`. */
export function describeProblems(problems: readonly Problem[]): string {
  return problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; ');
}
