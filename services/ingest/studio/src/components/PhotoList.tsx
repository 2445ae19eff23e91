import { useState } from 'preact/hooks';
import { moveItem } from '../forms/reorder.ts';
import { FieldErrors, useObjectUrl } from './ui.tsx';

export interface Photo {
  id: number;
  file: File;
}

/**
 * Photos in the order the video shows them: thumbnails that can be dragged into place, or moved
 * with the Earlier/Later buttons (keyboard and touch). `errorsAt(i)` are the API's messages for
 * the photo at position i.
 */
export function PhotoList({
  photos,
  onChange,
  errorsAt,
}: {
  photos: Photo[];
  onChange(next: Photo[]): void;
  errorsAt(index: number): string[] | undefined;
}) {
  const [dragging, setDragging] = useState<number>();
  const [announce, setAnnounce] = useState('');
  const move = (from: number, to: number) => {
    if (to < 0 || to >= photos.length || from === to) return;
    onChange(moveItem(photos, from, to));
    setAnnounce(`Photo ${from + 1} is now photo ${to + 1}.`);
  };
  if (!photos.length) return null;
  return (
    <>
      <ol class="photos" aria-label="Photos in the order they appear">
        {photos.map((p, i) => (
          <li
            key={p.id}
            class={`photo${dragging === i ? ' photo--dragging' : ''}`}
            draggable
            data-photo-index={i}
            onDragStart={(e) => {
              setDragging(i);
              e.dataTransfer?.setData('text/plain', String(i));
              if (e.dataTransfer) e.dataTransfer.effectAllowed = 'move';
            }}
            onDragEnd={() => setDragging(undefined)}
            onDragOver={(e) => {
              if (dragging !== undefined) e.preventDefault();
            }}
            onDrop={(e) => {
              e.preventDefault();
              if (dragging !== undefined) move(dragging, i);
              setDragging(undefined);
            }}
          >
            <Thumb file={p.file} alt={`Photo ${i + 1}: ${p.file.name}`} />
            <span class="photo__name">
              {i + 1}. {p.file.name}
            </span>
            <span class="photo__buttons">
              <button
                type="button"
                class="icon-button"
                aria-label={`Move photo ${i + 1} earlier`}
                disabled={i === 0}
                onClick={() => move(i, i - 1)}
              >
                ←
              </button>
              <button
                type="button"
                class="icon-button"
                aria-label={`Move photo ${i + 1} later`}
                disabled={i === photos.length - 1}
                onClick={() => move(i, i + 1)}
              >
                →
              </button>
              <button
                type="button"
                class="icon-button"
                aria-label={`Remove photo ${i + 1}`}
                onClick={() => {
                  onChange(photos.filter((x) => x.id !== p.id));
                  setAnnounce(`Photo ${i + 1} removed.`);
                }}
              >
                ×
              </button>
            </span>
            <FieldErrors id={`photo-${i}-error`} errors={errorsAt(i)} />
          </li>
        ))}
      </ol>
      <p class="visually-hidden" aria-live="polite">
        {announce}
      </p>
    </>
  );
}

function Thumb({ file, alt }: { file: File; alt: string }) {
  const url = useObjectUrl(file);
  return url ? (
    <img class="photo__thumb" src={url} alt={alt} draggable={false} />
  ) : (
    <span class="photo__thumb" />
  );
}
