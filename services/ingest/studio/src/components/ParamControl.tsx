import type { ParamField } from '../forms/schema-form.ts';
import { label } from '../format.ts';
import { FieldErrors } from './ui.tsx';

/**
 * One control of a params form built from a model's JSON Schema (forms/schema-form.ts): a text field,
 * textarea, number, select or checkbox with its label, hint and errors. `id` is unique on the page (a
 * page with several forms, such as a reel's sections, prefixes it).
 */
export function ParamControl({
  id,
  field: f,
  value,
  errors,
  onChange,
}: {
  id: string;
  field: ParamField;
  value: string | boolean;
  errors: string[] | undefined;
  onChange: (v: string | boolean) => void;
}) {
  const describedBy = [f.hint ? `${id}-hint` : '', errors?.length ? `${id}-error` : '']
    .filter(Boolean)
    .join(' ');
  const common = {
    id,
    name: f.name,
    'aria-invalid': errors?.length ? ('true' as const) : undefined,
    'aria-describedby': describedBy || undefined,
    'aria-required': f.required ? ('true' as const) : undefined,
  };
  const text = typeof value === 'string' ? value : '';
  const hint = f.hint ? (
    <p class="hint" id={`${id}-hint`}>
      {f.hint}
    </p>
  ) : null;
  const name = (
    <>
      {label(f.name)}
      {f.required ? <span class="required"> (required)</span> : null}
    </>
  );
  if (f.kind === 'boolean') {
    return (
      <div class="check">
        <input
          {...common}
          type="checkbox"
          checked={value === true}
          onChange={(e) => onChange(e.currentTarget.checked)}
        />
        <label for={id}>{name}</label>
        {hint}
        <FieldErrors id={`${id}-error`} errors={errors} />
      </div>
    );
  }
  return (
    <div class="field">
      <label for={id}>{name}</label>
      {f.kind === 'choice' ? (
        <select {...common} value={text} onChange={(e) => onChange(e.currentTarget.value)}>
          {f.required && text === '' ? <option value="">Choose…</option> : null}
          {!f.required ? <option value="">Default</option> : null}
          {f.options.map((o) => (
            <option value={o.text} key={o.text}>
              {o.text}
            </option>
          ))}
        </select>
      ) : f.kind === 'long-text' || f.kind === 'json' ? (
        <textarea
          {...common}
          rows={f.kind === 'json' ? 3 : 4}
          maxLength={f.maxLength}
          value={text}
          onInput={(e) => onChange(e.currentTarget.value)}
        />
      ) : f.kind === 'integer' || f.kind === 'number' ? (
        <input
          {...common}
          type="number"
          inputMode={f.kind === 'integer' ? 'numeric' : 'decimal'}
          min={f.min}
          max={f.max}
          step={f.step}
          value={text}
          onInput={(e) => onChange(e.currentTarget.value)}
        />
      ) : (
        <input
          {...common}
          type="text"
          maxLength={f.maxLength}
          value={text}
          onInput={(e) => onChange(e.currentTarget.value)}
        />
      )}
      {hint}
      <FieldErrors id={`${id}-error`} errors={errors} />
    </div>
  );
}
