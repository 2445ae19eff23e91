import { useLocation } from 'preact-iso';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, isApiError } from '../api/errors.ts';
import { createReel } from '../api/reels.ts';
import type { ModelInfo } from '../api/types.ts';
import { useAuth } from '../auth.tsx';
import { ParamControl } from '../components/ParamControl.tsx';
import { FieldErrors, FormErrors, Notice, useTitle } from '../components/ui.tsx';
import { placeIssues, type PlacedIssues } from '../forms/fields.ts';
import { alternativesNote, paramFields, priceText } from '../forms/schema-form.ts';
import {
  MAX_SECTIONS,
  MIN_SECTIONS,
  REEL_MODEL_TYPES,
  newSectionDraft,
  reelBodyFrom,
  reelControls,
  sectionControlId,
  withModel,
  type SectionDraft,
} from '../reels/draft.ts';

const NO_ISSUES: PlacedIssues = { byControl: {}, general: [], first: undefined };

/**
 * A new reel: a title and its sections, each a video (or avatar) model of the registry with the form
 * built from its params schema (as on the Generations page). `POST /v1/reels` starts one take per
 * section; then the reel's board.
 */
export function ReelNew() {
  useTitle('New reel');
  const { client, signOut } = useAuth();
  const { route } = useLocation();
  const [models, setModels] = useState<ModelInfo[]>();
  const [loadError, setLoadError] = useState<string>();
  const [title, setTitle] = useState('');
  const [sections, setSections] = useState<SectionDraft[]>([]);
  const [issues, setIssues] = useState<PlacedIssues>(NO_ISSUES);
  const [busy, setBusy] = useState(false);
  const nextKey = useRef(1);

  useEffect(() => {
    if (!client) return;
    const ac = new AbortController();
    client.listModels(ac.signal).then(
      (r) => {
        const usable = r.models.filter((m) => REEL_MODEL_TYPES.includes(m.type));
        setModels(usable);
        // Start with two sections of the first model (local-video on the embedded stack: free, offline).
        setSections((s) => (s.length ? s : [0, 1].map(() => newSectionDraft(nextKey.current++, usable[0]))));
      },
      (err) => !ac.signal.aborted && setLoadError(isApiError(err) ? err.message : String(err)),
    );
    return () => ac.abort();
  }, [client]);

  useEffect(() => {
    if (issues.first) document.getElementById(issues.first)?.focus();
  }, [issues]);

  const controls = useMemo(() => reelControls(sections, models ?? []), [sections, models]);
  const clearIssue = (id: string) =>
    setIssues((i) => {
      if (!i.byControl[id]) return i;
      const { [id]: _gone, ...rest } = i.byControl;
      return { ...i, byControl: rest, first: undefined };
    });
  const update = (key: number, change: (d: SectionDraft) => SectionDraft) =>
    setSections((list) => list.map((d) => (d.key === key ? change(d) : d)));

  async function onSubmit(e: Event) {
    e.preventDefault();
    if (!client || !models) return;
    const { body, issues: local } = reelBodyFrom({ title, sections, models });
    if (local.length) {
      setIssues(
        placeIssues(
          new ApiError({ status: 400, code: 'invalid_input', message: 'check the reel', issues: local }),
          controls,
        ),
      );
      return;
    }
    setIssues(NO_ISSUES);
    setBusy(true);
    try {
      const reel = await createReel(client, body);
      route(`/reels/${encodeURIComponent(reel.id)}`);
    } catch (err) {
      setBusy(false);
      if (isApiError(err)) {
        if (err.status === 401) return signOut('The API key is no longer accepted. Sign in again.');
        setIssues(placeIssues(err, controls));
        return;
      }
      setIssues({ ...NO_ISSUES, general: [String(err)] });
    }
  }

  return (
    <section class="narrow">
      <h1>New reel</h1>
      <p class="lede">
        Give the reel a title and describe each section. Every section gets one take at first; on the reel’s
        board you review the takes, regenerate the ones you do not like, and compile.
      </p>
      {loadError ? <Notice kind="error">{loadError}</Notice> : null}
      {!models ? (
        loadError ? null : (
          <p class="muted">Loading models…</p>
        )
      ) : models.length === 0 ? (
        <Notice kind="warning">
          The model registry has no video or avatar model, so no reel can be made.
        </Notice>
      ) : (
        <form onSubmit={onSubmit} noValidate aria-label="New reel">
          <FormErrors errors={issues.general} />
          <fieldset disabled={busy}>
            <legend>Reel</legend>
            <div class="field">
              <label for="reel-title">
                Title <span class="required">(required)</span>
              </label>
              <input
                id="reel-title"
                type="text"
                maxLength={200}
                value={title}
                aria-required="true"
                aria-invalid={issues.byControl['reel-title'] ? 'true' : undefined}
                aria-describedby={issues.byControl['reel-title'] ? 'reel-title-error' : undefined}
                onInput={(e) => {
                  setTitle(e.currentTarget.value);
                  clearIssue('reel-title');
                }}
              />
              <FieldErrors id="reel-title-error" errors={issues.byControl['reel-title']} />
            </div>
          </fieldset>
          <ol class="draft-sections">
            {sections.map((d, i) => (
              <li key={d.key}>
                <SectionForm
                  draft={d}
                  index={i}
                  models={models}
                  issues={issues}
                  disabled={busy}
                  canRemove={sections.length > MIN_SECTIONS}
                  onChange={(change) => update(d.key, change)}
                  onClearIssue={clearIssue}
                  onRemove={() => setSections((list) => list.filter((x) => x.key !== d.key))}
                />
              </li>
            ))}
          </ol>
          <div class="actions">
            <button
              type="button"
              class="button button--quiet"
              disabled={busy || sections.length >= MAX_SECTIONS}
              onClick={() => {
                const key = nextKey.current++;
                const last = sections[sections.length - 1];
                setSections((list) => [
                  ...list,
                  newSectionDraft(key, models.find((m) => m.id === last?.model) ?? models[0]),
                ]);
                // the new section's first field, once it is drawn
                requestAnimationFrame(() => document.getElementById(sectionControlId(key, 'title'))?.focus());
              }}
            >
              Add a section
            </button>
            <button class="button" type="submit" disabled={busy}>
              {busy ? 'Creating…' : 'Create the reel'}
            </button>
          </div>
        </form>
      )}
    </section>
  );
}

function SectionForm({
  draft: d,
  index,
  models,
  issues,
  disabled,
  canRemove,
  onChange,
  onClearIssue,
  onRemove,
}: {
  draft: SectionDraft;
  index: number;
  models: ModelInfo[];
  issues: PlacedIssues;
  disabled: boolean;
  canRemove: boolean;
  onChange: (change: (d: SectionDraft) => SectionDraft) => void;
  onClearIssue: (id: string) => void;
  onRemove: () => void;
}) {
  const model = models.find((m) => m.id === d.model);
  const fields = useMemo(() => (model ? paramFields(model.params) : []), [model]);
  const note = model ? alternativesNote(model.params) : undefined;
  const id = (part: string) => sectionControlId(d.key, part);
  const errorsOf = (part: string) => issues.byControl[id(part)];
  return (
    <fieldset disabled={disabled} class="draft-section">
      <legend>Section {index + 1}</legend>
      <div class="pair">
        <div class="field">
          <label for={id('title')}>Section title</label>
          <input
            id={id('title')}
            type="text"
            maxLength={200}
            value={d.title}
            aria-invalid={errorsOf('title') ? 'true' : undefined}
            aria-describedby={`${id('title')}-hint${errorsOf('title') ? ` ${id('title')}-error` : ''}`}
            onInput={(e) => {
              const title = e.currentTarget.value;
              onChange((x) => ({ ...x, title }));
              onClearIssue(id('title'));
            }}
          />
          <p class="hint" id={`${id('title')}-hint`}>
            Optional; shown on the board.
          </p>
          <FieldErrors id={`${id('title')}-error`} errors={errorsOf('title')} />
        </div>
        <div class="field">
          <label for={id('model')}>Model</label>
          <select
            id={id('model')}
            value={d.model}
            aria-invalid={errorsOf('model') ? 'true' : undefined}
            aria-describedby={`${id('model')}-hint${errorsOf('model') ? ` ${id('model')}-error` : ''}`}
            onChange={(e) => {
              const next = models.find((m) => m.id === e.currentTarget.value);
              onChange((x) => withModel(x, next));
              onClearIssue(id('model'));
            }}
          >
            {d.model === '' ? <option value="">Choose…</option> : null}
            {models.map((m) => (
              <option value={m.id} key={m.id}>
                {m.id} ({m.type}, {priceText(m.pricing)})
              </option>
            ))}
          </select>
          <p class="hint" id={`${id('model')}-hint`}>
            {model?.description ?? 'A video or avatar model of the registry.'}
          </p>
          <FieldErrors id={`${id('model')}-error`} errors={errorsOf('model')} />
        </div>
      </div>
      {note ? <p class="hint">{note}</p> : null}
      {fields.map((f) => (
        <ParamControl
          key={f.name}
          id={id(`param-${f.name}`)}
          field={f}
          value={d.values[f.name] ?? f.initial}
          errors={errorsOf(`param-${f.name}`)}
          onChange={(v) => {
            onChange((x) => ({ ...x, values: { ...x.values, [f.name]: v } }));
            onClearIssue(id(`param-${f.name}`));
          }}
        />
      ))}
      {canRemove ? (
        <div class="actions">
          <button type="button" class="button button--quiet" onClick={onRemove}>
            Remove section {index + 1}
          </button>
        </div>
      ) : null}
    </fieldset>
  );
}
