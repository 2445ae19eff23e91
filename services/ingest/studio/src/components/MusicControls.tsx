import { useEffect, useState } from 'preact/hooks';
import type { MusicPatch, MusicSource, Project } from '../api/projects.ts';
import { volumeDb } from '../projects/model.ts';
import { FieldErrors } from './ui.tsx';

/** The local music model's moods (contracts' PROJECT_MUSIC_MOODS). */
const MOODS = ['calm', 'upbeat', 'family', 'adventurous', 'nostalgic', 'reflective'] as const;
/** The API's default volume (the reference's, ≈ −16.5 dB under the narration). */
const DEFAULT_VOLUME = 0.15;

type SourceKind = 'mood' | 'prompt' | 'key';
const sourceKind = (s: MusicSource | undefined): SourceKind =>
  !s || 'mood' in s ? 'mood' : 'prompt' in s ? 'prompt' : 'key';

/**
 * The project's music: on or off, where it comes from (a mood of the local music model, a prompt
 * for an audio model, or a stored file), its volume under the narration, ducking, and a new take.
 */
export function MusicControls({
  music,
  disabled,
  errors,
  onChange,
  onRegenerate,
  clearIssue,
}: {
  music: Project['music'];
  disabled: boolean;
  errors: Record<string, string[]>;
  onChange(patch: MusicPatch, done: string): Promise<boolean>;
  onRegenerate(): Promise<boolean>;
  clearIssue(control: string): void;
}) {
  const enabled = music?.enabled ?? false;
  const [volume, setVolume] = useState(music?.volume ?? DEFAULT_VOLUME);
  useEffect(() => setVolume(music?.volume ?? DEFAULT_VOLUME), [music?.volume]);
  const stored = sourceKind(music?.source);
  const [kind, setKind] = useState<SourceKind>(stored);
  const [text, setText] = useState('');
  const [model, setModel] = useState('local-music');
  useEffect(() => {
    setKind(sourceKind(music?.source));
    const s = music?.source;
    setText(s && 'prompt' in s ? s.prompt : s && 'key' in s ? s.key : '');
    if (s && 'prompt' in s) setModel(s.model);
  }, [JSON.stringify(music?.source)]);
  const err = (c: string) => errors[c];
  const describe = (c: string, hint = false) =>
    [hint ? `${c}-hint` : '', err(c)?.length ? `${c}-error` : ''].filter(Boolean).join(' ') || undefined;
  const mood = music?.source && 'mood' in music.source ? music.source.mood : 'calm';

  function onSource(e: Event) {
    e.preventDefault();
    const source: MusicSource =
      kind === 'prompt' ? { prompt: text.trim(), model: model.trim() } : { key: text.trim() };
    void onChange({ source }, 'Music source saved');
  }

  return (
    <fieldset disabled={disabled} class="music">
      <legend>Music</legend>
      <div class="check">
        <input
          id="music-enabled"
          type="checkbox"
          checked={enabled}
          aria-describedby={describe('music-enabled')}
          onChange={(e) =>
            void onChange(
              { enabled: e.currentTarget.checked },
              e.currentTarget.checked ? 'Music on' : 'Music off',
            )
          }
        />
        <label for="music-enabled">Music under the narration</label>
        <FieldErrors id="music-enabled-error" errors={err('music-enabled')} />
      </div>
      <div class="pair">
        <div class="field">
          <label for="music-source">Music from</label>
          <select
            id="music-source"
            value={kind === 'mood' ? `mood:${mood}` : kind}
            aria-invalid={err('music-source') ? 'true' : undefined}
            aria-describedby={describe('music-source')}
            onChange={(e) => {
              const v = e.currentTarget.value;
              clearIssue('music-source');
              if (v.startsWith('mood:')) {
                setKind('mood');
                void onChange({ source: { mood: v.slice(5) as (typeof MOODS)[number] } }, 'Music mood saved');
              } else {
                setKind(v as SourceKind);
                setText('');
              }
            }}
          >
            <optgroup label="A mood (local music, free)">
              {MOODS.map((m) => (
                <option key={m} value={`mood:${m}`}>
                  {m.charAt(0).toUpperCase() + m.slice(1)}
                </option>
              ))}
            </optgroup>
            <option value="prompt">Generated from a prompt</option>
            <option value="key">A stored file (blob key)</option>
          </select>
          <FieldErrors id="music-source-error" errors={kind === 'mood' ? err('music-source') : undefined} />
        </div>
        <div class="field">
          <label for="music-volume">
            Volume: <output for="music-volume">{Math.round(volume * 100)} %</output>{' '}
            <span class="muted">({volumeDb(volume)})</span>
          </label>
          <input
            id="music-volume"
            type="range"
            min={0}
            max={1}
            step={0.05}
            value={volume}
            aria-valuetext={`${Math.round(volume * 100)} percent, ${volumeDb(volume)}`}
            aria-invalid={err('music-volume') ? 'true' : undefined}
            aria-describedby={describe('music-volume', true)}
            onInput={(e) => setVolume(Number(e.currentTarget.value))}
            onChange={(e) => void onChange({ volume: Number(e.currentTarget.value) }, 'Music volume saved')}
          />
          <p class="hint" id="music-volume-hint">
            After the music is levelled to the voice: 15 % sits well under speech, 100 % is as loud.
          </p>
          <FieldErrors id="music-volume-error" errors={err('music-volume')} />
        </div>
      </div>
      {kind !== 'mood' ? (
        <form class="music__source" onSubmit={onSource} noValidate>
          {kind === 'prompt' ? (
            <div class="field">
              <label for="music-model">Audio model</label>
              <input id="music-model" value={model} onInput={(e) => setModel(e.currentTarget.value)} />
            </div>
          ) : null}
          <div class="field">
            <label for="music-text">{kind === 'prompt' ? 'Music prompt' : 'Blob key of the music'}</label>
            <input
              id="music-text"
              value={text}
              aria-invalid={err('music-source') ? 'true' : undefined}
              aria-describedby={describe('music-source')}
              onInput={(e) => {
                setText(e.currentTarget.value);
                clearIssue('music-source');
              }}
            />
            <FieldErrors id="music-source-error" errors={err('music-source')} />
          </div>
          <button type="submit" class="button button--quiet" disabled={!text.trim()}>
            Use this music
          </button>
        </form>
      ) : null}
      <div class="check">
        <input
          id="music-duck"
          type="checkbox"
          checked={music?.duck ?? true}
          onChange={(e) => void onChange({ duck: e.currentTarget.checked }, 'Ducking saved')}
        />
        <label for="music-duck">Dip the music while the narration speaks</label>
        <FieldErrors id="music-duck-error" errors={err('music-duck')} />
      </div>
      <div class="actions">
        <button
          type="button"
          class="button button--quiet"
          disabled={!music || stored === 'key'}
          aria-describedby="music-regenerate-hint"
          onClick={() => void onRegenerate()}
        >
          Regenerate the music
        </button>
      </div>
      <p class="hint" id="music-regenerate-hint">
        {!music
          ? 'Turn the music on first.'
          : stored === 'key'
            ? 'A stored file is used as it is; only mood or prompt music is made anew.'
            : 'A new take of the music at the next preview or render.'}
      </p>
    </fieldset>
  );
}
