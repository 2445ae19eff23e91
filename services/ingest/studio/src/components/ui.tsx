import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { JobStatus } from '../api/types.ts';
import { label, percent } from '../format.ts';

/** The job's status as a coloured word (the colour is never the only signal). */
export function StatusBadge({ status }: { status: JobStatus }) {
  return <span class={`badge badge--${status}`}>{label(status)}</span>;
}

/** A labelled progress bar with its number beside it. */
export function ProgressBar({ value, name, id }: { value: number; name: string; id?: string }) {
  return (
    <span class="progress">
      <progress id={id} max={100} value={value} aria-label={name}>
        {percent(value)}
      </progress>
      <span class="progress__text" aria-hidden="true">
        {percent(value)}
      </span>
    </span>
  );
}

/** Messages under a field; `id` is what the field's aria-describedby points at. */
export function FieldErrors({ id, errors }: { id: string; errors: string[] | undefined }) {
  if (!errors?.length) return null;
  return (
    <ul class="field-errors" id={id}>
      {errors.map((e) => (
        <li key={e}>{e}</li>
      ))}
    </ul>
  );
}

/** Errors about the form as a whole, announced when they appear. */
export function FormErrors({ errors }: { errors: string[] }) {
  if (!errors.length) return null;
  return (
    <div class="notice notice--error" role="alert">
      {errors.length === 1 ? (
        <p>{errors[0]}</p>
      ) : (
        <ul>
          {errors.map((e) => (
            <li key={e}>{e}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Notice({
  kind,
  children,
}: {
  kind: 'info' | 'error' | 'warning';
  children: ComponentChildren;
}) {
  return (
    <div class={`notice notice--${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

/** The time now, refreshed every `everyMs` (for "5 min ago" and running timers; no API calls). */
export function useNow(everyMs: number): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}

/** Sets the tab title while a page is shown. */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · reelbus studio`;
  }, [title]);
}

/** An object URL for a file, revoked when the file changes or the component goes. */
export function useObjectUrl(file: File | undefined): string | undefined {
  const [url, setUrl] = useState<string>();
  useEffect(() => {
    if (!file) return setUrl(undefined);
    const u = URL.createObjectURL(file);
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [file]);
  return url;
}
