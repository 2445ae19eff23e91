import type { ApiError } from '../api/errors.ts';

/**
 * Which form control shows which API field. `fields` are the names the API may use for the control
 * (its JSON path and the aliases it accepts): an issue matches a name exactly or as a prefix followed
 * by `.` or `[` (`images` matches `images[2]`).
 */
export interface ControlFields {
  control: string;
  fields: string[];
}

export interface PlacedIssues {
  /** Messages per control id. */
  byControl: Record<string, string[]>;
  /** Messages about no known control (and errors without a field): shown above the form. */
  general: string[];
  /** The first control with an issue, to move the focus to. */
  first: string | undefined;
}

const matches = (field: string, name: string) =>
  field === name || field.startsWith(`${name}.`) || field.startsWith(`${name}[`);

/** Puts each issue of an API error next to its control. */
export function placeIssues(err: ApiError, controls: ControlFields[]): PlacedIssues {
  const out: PlacedIssues = { byControl: {}, general: [], first: undefined };
  if (err.issues.length === 0) {
    out.general.push(err.message);
    return out;
  }
  for (const issue of err.issues) {
    // The longest matching name wins, so `images[1]` can belong to a per-photo control.
    let best: { control: string; length: number } | undefined;
    for (const c of controls) {
      for (const name of c.fields) {
        if (matches(issue.field, name) && (!best || name.length > best.length))
          best = { control: c.control, length: name.length };
      }
    }
    const text = issueText(issue.field, issue.message);
    if (!best) {
      out.general.push(`${issue.field}: ${text}`);
      continue;
    }
    (out.byControl[best.control] ??= []).push(text);
    out.first ??= best.control;
  }
  return out;
}

/** The API prefixes messages with the field ("music.gainDb: must be …"); next to the field, drop it. */
function issueText(field: string, message: string): string {
  const prefix = `${field}: `;
  const text = message.startsWith(prefix) ? message.slice(prefix.length) : message;
  return text.charAt(0).toUpperCase() + text.slice(1);
}
