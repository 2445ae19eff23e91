import { useLocation } from 'preact-iso';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, isApiError } from '../api/errors.ts';
import type { ModelInfo } from '../api/types.ts';
import { useAuth } from '../auth.tsx';
import { ParamControl } from '../components/ParamControl.tsx';
import { FormErrors, Notice, useTitle } from '../components/ui.tsx';
import { placeIssues, type ControlFields, type PlacedIssues } from '../forms/fields.ts';
import {
  alternativesNote,
  initialValues,
  paramFields,
  paramsFromValues,
  priceText,
  type ParamValues,
} from '../forms/schema-form.ts';
import { label } from '../format.ts';

const TYPES = ['image', 'video', 'audio', 'speech', 'avatar'] as const;
const NO_ISSUES: PlacedIssues = { byControl: {}, general: [], first: undefined };
const controlId = (param: string) => `param-${param}`;

/**
 * The model registry (`GET /v1/models`) with prices, and one model run: a form built from the chosen
 * model's params JSON Schema, sent to `POST /v1/generations`, then the job page. The chosen model
 * and the type filter are in the URL (`?type=image&model=local-image`).
 */
export function Generations() {
  useTitle('Generations');
  const { client } = useAuth();
  const { query, path, route } = useLocation();
  const [models, setModels] = useState<ModelInfo[]>();
  const [loadError, setLoadError] = useState<string>();
  const type = (TYPES as readonly string[]).includes(query.type ?? '') ? query.type : undefined;

  useEffect(() => {
    if (!client) return;
    const ac = new AbortController();
    client.listModels(ac.signal).then(
      (r) => setModels(r.models),
      (err) => !ac.signal.aborted && setLoadError(isApiError(err) ? err.message : String(err)),
    );
    return () => ac.abort();
  }, [client]);

  const shown = useMemo(() => models?.filter((m) => !type || m.type === type) ?? [], [models, type]);
  const chosen = models?.find((m) => m.id === query.model);
  const setQuery = (next: { type?: string | undefined; model?: string | undefined }) => {
    const q = new URLSearchParams();
    const t = 'type' in next ? next.type : type;
    const m = 'model' in next ? next.model : query.model;
    if (t) q.set('type', t);
    if (m) q.set('model', m);
    const qs = q.toString();
    route(qs ? `${path}?${qs}` : path, true);
  };

  return (
    <section>
      <h1>Generations</h1>
      <p class="lede">
        Pick a model of the registry, fill in its settings, and run it. Local models run offline on this
        machine and cost nothing; the others call their provider and cost what is shown.
      </p>
      {loadError ? <Notice kind="error">{loadError}</Notice> : null}
      {!models ? (
        loadError ? null : (
          <p class="muted">Loading models…</p>
        )
      ) : (
        <div class="generate">
          <div class="generate__models">
            <div class="field field--inline filters">
              <label for="model-type">Type</label>
              <select
                id="model-type"
                value={type ?? ''}
                onChange={(e) => setQuery({ type: e.currentTarget.value || undefined })}
              >
                <option value="">Any type</option>
                {TYPES.map((t) => (
                  <option value={t} key={t}>
                    {label(t)}
                  </option>
                ))}
              </select>
            </div>
            {chosen ? (
              <button
                type="button"
                class="button button--quiet only-narrow"
                onClick={() => {
                  document.getElementById('params-h')?.scrollIntoView();
                  document
                    .querySelector<HTMLElement>('.generate__form input, .generate__form textarea')
                    ?.focus();
                }}
              >
                To the settings of {chosen.id}
              </button>
            ) : null}
            <fieldset class="models" id="model">
              <legend>Model</legend>
              {shown.length === 0 ? <p class="muted">No model of this type.</p> : null}
              {shown.map((m) => (
                <label
                  class={`model${m.id === chosen?.id ? ' model--chosen' : ''}`}
                  key={m.id}
                  data-model={m.id}
                >
                  <input
                    type="radio"
                    name="model"
                    value={m.id}
                    checked={m.id === chosen?.id}
                    onChange={() => setQuery({ model: m.id })}
                  />
                  <span class="model__body">
                    <span class="model__name">{m.id}</span>
                    <span class="model__facts">
                      {label(m.type)} · {m.provider} ·{' '}
                      <strong class="model__price">{priceText(m.pricing)}</strong> · about{' '}
                      {m.estimatedTimeSec} s
                    </span>
                    {m.description ? <span class="model__desc">{m.description}</span> : null}
                  </span>
                </label>
              ))}
            </fieldset>
          </div>
          {chosen ? (
            <GenerationForm model={chosen} key={chosen.id} />
          ) : (
            <div class="empty generate__form">
              <p>Choose a model to see its settings.</p>
            </div>
          )}
        </div>
      )}
    </section>
  );
}

/** The params form of one model; the API's errors next to their fields, then the job page. */
function GenerationForm({ model }: { model: ModelInfo }) {
  const { client, signOut } = useAuth();
  const { route } = useLocation();
  const fields = useMemo(() => paramFields(model.params), [model]);
  const note = alternativesNote(model.params);
  const [values, setValues] = useState<ParamValues>(() => initialValues(fields));
  const [issues, setIssues] = useState<PlacedIssues>(NO_ISSUES);
  const [busy, setBusy] = useState(false);
  const controls: ControlFields[] = useMemo(
    () => [
      { control: 'model', fields: ['model'] },
      ...fields.map((f) => ({ control: controlId(f.name), fields: [`params.${f.name}`] })),
    ],
    [fields],
  );

  useEffect(() => {
    if (issues.first) document.getElementById(issues.first)?.focus();
  }, [issues]);

  async function onSubmit(e: Event) {
    e.preventDefault();
    if (!client) return;
    const { params, issues: local } = paramsFromValues(fields, values);
    if (local.length) {
      setIssues(
        placeIssues(
          new ApiError({ status: 400, code: 'invalid_input', message: 'check the settings', issues: local }),
          controls,
        ),
      );
      return;
    }
    setIssues(NO_ISSUES);
    setBusy(true);
    try {
      const accepted = await client.createGeneration({ model: model.id, params });
      route(`/jobs/${encodeURIComponent(accepted.jobId)}`);
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

  const set = (name: string, value: string | boolean) => {
    setValues((v) => ({ ...v, [name]: value }));
    setIssues((i) => {
      const id = controlId(name);
      if (!i.byControl[id]) return i;
      const { [id]: _gone, ...rest } = i.byControl;
      return { ...i, byControl: rest, first: undefined };
    });
  };

  return (
    <form class="generate__form" onSubmit={onSubmit} noValidate aria-labelledby="params-h">
      <h2 id="params-h">{model.id}</h2>
      <p class="muted">
        {priceText(model.pricing)} · about {model.estimatedTimeSec} s per run
      </p>
      <FormErrors errors={[...issues.general, ...(issues.byControl.model ?? [])]} />
      {note ? <p class="hint">{note}</p> : null}
      <fieldset disabled={busy}>
        <legend>Settings</legend>
        {fields.length === 0 ? <p class="muted">This model takes no settings.</p> : null}
        {fields.map((f) => (
          <ParamControl
            key={f.name}
            id={controlId(f.name)}
            field={f}
            value={values[f.name] ?? f.initial}
            errors={issues.byControl[controlId(f.name)]}
            onChange={(v) => set(f.name, v)}
          />
        ))}
      </fieldset>
      <button class="button" type="submit" disabled={busy}>
        {busy ? 'Starting…' : 'Generate'}
      </button>
    </form>
  );
}
