import { useLocation } from 'preact-iso';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { isApiError } from '../api/errors.ts';
import { ProjectsApi, type ProjectSummary } from '../api/projects.ts';
import { useAuth } from '../auth.tsx';
import { FieldErrors, FormErrors, Notice, useNow, useTitle } from '../components/ui.tsx';
import { placeIssues, type PlacedIssues } from '../forms/fields.ts';
import { age } from '../format.ts';
import { CREATE_CONTROLS, parseSpec, quickProject } from '../projects/model.ts';
import '../projects/projects.css';

const NO_ISSUES: PlacedIssues = { byControl: {}, general: [], first: undefined };

const SPEC_EXAMPLE = `{
  "title": "Lumen launch",
  "music": { "source": { "mood": "calm" }, "volume": 0.15 },
  "scenes": [
    { "id": "open", "narration": "Meet Lumen.",
      "visual": { "model": "local-image", "params": { "prompt": "a sunrise" } } }
  ]
}`;

/** The scene projects: the list, and a new one from a short form or a pasted spec. */
export function Projects() {
  useTitle('Scene projects');
  const { client } = useAuth();
  const api = useMemo(() => (client ? new ProjectsApi(client) : undefined), [client]);
  const now = useNow(30_000);
  const [items, setItems] = useState<ProjectSummary[]>();
  const [listError, setListError] = useState<string>();

  useEffect(() => {
    if (!api) return;
    const ac = new AbortController();
    api.list(ac.signal).then(
      (page) => setItems(page.items),
      (err: unknown) => {
        if (!ac.signal.aborted) setListError(isApiError(err) ? err.message : String(err));
      },
    );
    return () => ac.abort();
  }, [api]);

  return (
    <section class="projects">
      <h1>Scene projects</h1>
      <p class="lede">
        A project is a list of scenes — narration, a picture or clip, an optional product overlay — with a
        voice and music. Edit it, preview it at 480p, then render the final video.
      </p>
      {listError ? <Notice kind="error">Could not list the projects: {listError}</Notice> : null}
      {items === undefined && !listError ? <p class="muted">Loading…</p> : null}
      {items?.length === 0 ? <p class="empty">No projects yet: make the first one below.</p> : null}
      {items?.length ? (
        <ul class="project-list" aria-label="Projects, newest first">
          {items.map((p) => (
            <li key={p.projectId} data-project-id={p.projectId}>
              <a href={`/projects/${encodeURIComponent(p.projectId)}`}>{p.title}</a>
              <span class="muted">
                revision {p.revision} · changed{' '}
                <time dateTime={p.updatedAt} title={new Date(p.updatedAt).toLocaleString()}>
                  {age(p.updatedAt, now)}
                </time>
              </span>
            </li>
          ))}
        </ul>
      ) : null}
      {api ? <NewProject api={api} /> : null}
    </section>
  );
}

function NewProject({ api }: { api: ProjectsApi }) {
  const { route } = useLocation();
  const [title, setTitle] = useState('');
  const [scenes, setScenes] = useState('');
  const [music, setMusic] = useState(true);
  const [spec, setSpec] = useState('');
  const [busy, setBusy] = useState(false);
  const [issues, setIssues] = useState<PlacedIssues>(NO_ISSUES);
  const [specErrors, setSpecErrors] = useState<string[]>();

  async function create(body: unknown, onError: (err: unknown) => void) {
    setBusy(true);
    try {
      const made = await api.create(body);
      route(`/projects/${encodeURIComponent(made.projectId)}`);
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
  }

  function onQuick(e: Event) {
    e.preventDefault();
    setIssues(NO_ISSUES);
    const missing: Record<string, string[]> = {};
    if (!title.trim()) missing['new-project-title'] = ['Give the project a title.'];
    if (!scenes.trim()) missing['new-project-scenes'] = ['Write at least one scene (one line each).'];
    const first = Object.keys(missing)[0];
    if (first) {
      setIssues({ byControl: missing, general: [], first });
      document.getElementById(first)?.focus();
      return;
    }
    void create(quickProject({ title, scenes, music }), (err) => {
      if (!isApiError(err)) throw err;
      const placed = placeIssues(err, CREATE_CONTROLS);
      setIssues(placed);
      if (placed.first) document.getElementById(placed.first)?.focus();
    });
  }

  function onSpec(e: Event) {
    e.preventDefault();
    const parsed = parseSpec(spec);
    if ('error' in parsed) {
      setSpecErrors([parsed.error]);
      document.getElementById('new-project-spec')?.focus();
      return;
    }
    setSpecErrors(undefined);
    void create(parsed.body, (err) => {
      if (!isApiError(err)) throw err;
      // Every field of the spec is the spec's: list them by path under it.
      setSpecErrors(err.issues.length ? err.issues.map((i) => `${i.field}: ${issueText(i)}`) : [err.message]);
      document.getElementById('new-project-spec')?.focus();
    });
  }

  const err = (c: string) => issues.byControl[c];
  return (
    <section class="narrow" aria-labelledby="new-project-h">
      <h2 id="new-project-h">New project</h2>
      <FormErrors errors={issues.general} />
      <form onSubmit={onQuick} noValidate>
        <fieldset disabled={busy}>
          <legend>From a few lines</legend>
          <div class="field">
            <label for="new-project-title">Title</label>
            <input
              id="new-project-title"
              value={title}
              maxLength={200}
              aria-invalid={err('new-project-title') ? 'true' : undefined}
              aria-describedby={err('new-project-title') ? 'new-project-title-error' : undefined}
              onInput={(e) => setTitle(e.currentTarget.value)}
            />
            <FieldErrors id="new-project-title-error" errors={err('new-project-title')} />
          </div>
          <div class="field">
            <label for="new-project-scenes">Scenes, one narration per line</label>
            <textarea
              id="new-project-scenes"
              rows={4}
              value={scenes}
              aria-invalid={err('new-project-scenes') ? 'true' : undefined}
              aria-describedby={`new-project-scenes-hint${err('new-project-scenes') ? ' new-project-scenes-error' : ''}`}
              onInput={(e) => setScenes(e.currentTarget.value)}
            />
            <p class="hint" id="new-project-scenes-hint">
              Each line becomes a scene, spoken by the local voice over a picture drawn from its words. Change
              the pictures, durations and overlays in the editor.
            </p>
            <FieldErrors id="new-project-scenes-error" errors={err('new-project-scenes')} />
          </div>
          <div class="check">
            <input
              id="new-project-music"
              type="checkbox"
              checked={music}
              onChange={(e) => setMusic(e.currentTarget.checked)}
            />
            <label for="new-project-music">Calm music under the voice</label>
          </div>
          <button class="button" type="submit">
            Create the project
          </button>
        </fieldset>
      </form>
      <form onSubmit={onSpec} noValidate>
        <fieldset disabled={busy}>
          <legend>From a spec</legend>
          <div class="field">
            <label for="new-project-spec">Project spec (JSON, the body of POST /v1/projects)</label>
            <textarea
              id="new-project-spec"
              class="code-input"
              rows={8}
              spellcheck={false}
              placeholder={SPEC_EXAMPLE}
              value={spec}
              aria-invalid={specErrors ? 'true' : undefined}
              aria-describedby={specErrors ? 'new-project-spec-error' : undefined}
              onInput={(e) => setSpec(e.currentTarget.value)}
            />
            <FieldErrors id="new-project-spec-error" errors={specErrors} />
          </div>
          <button class="button button--quiet" type="submit">
            Create from the spec
          </button>
        </fieldset>
      </form>
    </section>
  );
}

/** The API prefixes a message with its field; under the spec the field is said once. */
function issueText(i: { field: string; message: string }): string {
  const prefix = `${i.field}: `;
  return i.message.startsWith(prefix) ? i.message.slice(prefix.length) : i.message;
}
