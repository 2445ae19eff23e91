import { useState } from 'preact/hooks';
import type { Scene } from '../api/projects.ts';

/** A scene's line in the list: its narration cut to this many characters. */
const EXCERPT_CHARS = 60;

const excerpt = (text: string) =>
  !text.trim()
    ? '(no narration)'
    : text.length > EXCERPT_CHARS
      ? `${text.slice(0, EXCERPT_CHARS - 1)}…`
      : text;

/**
 * The project's scenes in order: pick one to edit it; drag a scene onto another's place, or use the
 * Earlier/Later buttons (keyboard and touch), to reorder. `onMove` is told the positions; the page
 * saves the new order.
 */
export function SceneList({
  scenes,
  selected,
  disabled,
  onSelect,
  onMove,
}: {
  scenes: Scene[];
  selected: string | undefined;
  disabled: boolean;
  onSelect(sceneId: string): void;
  onMove(from: number, to: number): void;
}) {
  const [dragging, setDragging] = useState<number>();
  const [over, setOver] = useState<number>();
  const [announce, setAnnounce] = useState('');
  const move = (from: number, to: number) => {
    if (disabled || to < 0 || to >= scenes.length || from === to) return;
    onMove(from, to);
    setAnnounce(`Scene ${from + 1} is now scene ${to + 1}.`);
  };
  const end = () => {
    setDragging(undefined);
    setOver(undefined);
  };
  return (
    <>
      <ol class="scenes" aria-label="Scenes in the order they play">
        {scenes.map((s, i) => (
          <li
            key={s.id}
            class={[
              'scene-item',
              s.id === selected ? 'scene-item--selected' : '',
              dragging === i ? 'scene-item--dragging' : '',
              over === i && dragging !== i ? 'scene-item--over' : '',
            ]
              .filter(Boolean)
              .join(' ')}
            draggable={!disabled}
            data-scene-id={s.id}
            onDragStart={(e) => {
              setDragging(i);
              e.dataTransfer?.setData('text/plain', s.id);
              if (e.dataTransfer) e.dataTransfer.effectAllowed = 'move';
            }}
            onDragEnd={end}
            onDragOver={(e) => {
              if (dragging === undefined) return;
              e.preventDefault();
              setOver(i);
            }}
            onDrop={(e) => {
              e.preventDefault();
              if (dragging !== undefined) move(dragging, i);
              end();
            }}
          >
            <span class="scene-item__grip" aria-hidden="true">
              ⠿
            </span>
            <button
              type="button"
              class="scene-item__pick"
              aria-current={s.id === selected ? 'true' : undefined}
              aria-label={`Edit scene ${i + 1}: ${excerpt(s.narration)}`}
              onClick={() => onSelect(s.id)}
            >
              <span class="scene-item__num">{i + 1}</span>
              <span class="scene-item__text">{excerpt(s.narration)}</span>
              <span class="scene-item__facts">
                {s.duration !== undefined ? `${s.duration} s` : 'auto length'}
                {s.overlay ? (s.overlay.enabled ? ' · overlay' : ' · overlay off') : ''}
              </span>
            </button>
            <span class="scene-item__buttons">
              <button
                type="button"
                class="icon-button"
                aria-label={`Move scene ${i + 1} earlier`}
                disabled={disabled || i === 0}
                onClick={() => move(i, i - 1)}
              >
                ↑
              </button>
              <button
                type="button"
                class="icon-button"
                aria-label={`Move scene ${i + 1} later`}
                disabled={disabled || i === scenes.length - 1}
                onClick={() => move(i, i + 1)}
              >
                ↓
              </button>
            </span>
          </li>
        ))}
      </ol>
      <p class="visually-hidden" aria-live="polite">
        {announce}
      </p>
    </>
  );
}
