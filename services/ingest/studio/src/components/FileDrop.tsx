import { useState } from 'preact/hooks';
import { bytes } from '../format.ts';
import { FieldErrors, useObjectUrl } from './ui.tsx';

export interface FileDropProps {
  /** The input's id (and the prefix of its hint and error ids). */
  id: string;
  label: string;
  hint?: string;
  accept?: string;
  multiple?: boolean;
  required?: boolean;
  /** The chosen file (single mode), shown with its size and, for images, a thumbnail. */
  file?: File | undefined;
  onFiles(files: File[]): void;
  errors?: string[] | undefined;
}

/**
 * A file field that also takes files dropped on it. The real `<input type=file>` stays in the tab
 * order (visually hidden; its label is the drop zone), so keyboard users press Space to choose.
 */
export function FileDrop(props: FileDropProps) {
  const { id, label, hint, accept, multiple = false, required = false, file, onFiles, errors } = props;
  const [over, setOver] = useState(false);
  const thumb = useObjectUrl(file && file.type.startsWith('image/') ? file : undefined);
  const describedBy = [hint ? `${id}-hint` : '', errors?.length ? `${id}-error` : '']
    .filter(Boolean)
    .join(' ');
  return (
    <div
      class={`drop${over ? ' drop--over' : ''}${errors?.length ? ' drop--invalid' : ''}`}
      data-drop-for={id}
      onDragEnter={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragOver={(e) => {
        e.preventDefault();
        if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        const files = [...(e.dataTransfer?.files ?? [])];
        if (files.length) onFiles(multiple ? files : files.slice(0, 1));
      }}
    >
      <input
        type="file"
        id={id}
        class="visually-hidden"
        accept={accept}
        multiple={multiple}
        required={required && !file}
        aria-invalid={errors?.length ? 'true' : undefined}
        aria-describedby={describedBy || undefined}
        onChange={(e) => {
          const input = e.currentTarget;
          const files = [...(input.files ?? [])];
          if (files.length) onFiles(files);
          input.value = '';
        }}
      />
      <label for={id} class="drop__label">
        {thumb ? <img class="drop__thumb" src={thumb} alt="" /> : null}
        <span class="drop__text">
          <strong>
            {label}
            {required ? ' (required)' : ''}
          </strong>
          {file ? (
            <span class="drop__file">
              {file.name} · {bytes(file.size)}
            </span>
          ) : (
            <span>
              <span class="link">Choose {multiple ? 'files' : 'a file'}</span>, or drop{' '}
              {multiple ? 'them' : 'it'} here
            </span>
          )}
        </span>
      </label>
      {hint ? (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
      <FieldErrors id={`${id}-error`} errors={errors} />
    </div>
  );
}
