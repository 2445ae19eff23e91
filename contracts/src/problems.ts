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

/**
 * How far a union branch is from what the input aimed at: each required field missing and each
 * unknown field present counts one; an object where the branch wants no object (`{ at }` against
 * `boolean`) counts more than any object branch does.
 */
function mismatch(issues: readonly Issue[]): number {
  let n = 0;
  for (const i of issues) {
    if (i.code === 'unrecognized_keys') n += i.keys.length;
    else if (i.code === 'invalid_type' && i.path.length === 0 && /received object/.test(i.message)) n += 1000;
    else if (i.code === 'invalid_type' && i.path.length === 1 && /received undefined/.test(i.message)) n++;
  }
  return n;
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
      if (issue.code === 'unrecognized_keys') {
        // One problem per unknown key, named by its own path (`tracks[1].clips[3].transtion`).
        for (const key of issue.keys)
          out.push({ path: jsonPath([...path, key], prefix), message: 'unknown field' });
        continue;
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
