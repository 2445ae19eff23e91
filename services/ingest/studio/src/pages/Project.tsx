import { useEffect, useRef, useState } from 'preact/hooks';
import type { ProjectView, Scene } from '../api/projects.ts';
import { MusicControls } from '../components/MusicControls.tsx';
import { RenderJob } from '../components/RenderJob.tsx';
import { SceneEditor, type SceneActions } from '../components/SceneEditor.tsx';
import { SceneList } from '../components/SceneList.tsx';
import { FormErrors, Notice, useTitle } from '../components/ui.tsx';
import { moveItem } from '../forms/reorder.ts';
import { historyShortcut, MUSIC_CONTROLS, sceneControls } from '../projects/model.ts';
import { useProject } from '../projects/useProject.ts';
import '../projects/projects.css';

type Preset = 'preview' | 'final';

/** A new scene's picture until it is given one: drawn by the free local model. */
const NEW_SCENE_VISUAL = { model: 'local-image', params: { prompt: 'a calm plain background' } };

const withScenes = (v: ProjectView, scenes: Scene[]): ProjectView => ({
  ...v,
  project: { ...v.project, scenes },
});

/**
 * The scene-project editor: the scenes (reorder by dragging or with buttons), the chosen scene's
 * narration, visual, duration and product overlay, the voice and music, undo/redo (buttons and
 * Ctrl-Z / Ctrl-Shift-Z), and preview/render with their phases and the video in the page. Every
 * change is saved at once, at the revision the page shows; a change made elsewhere meanwhile is
 * reported, not overwritten.
 */
export function ProjectPage({ id }: { id: string }) {
  const p = useProject(id);
  const view = p.view;
  useTitle(view ? view.project.title : `Project ${id}`);
  const [selected, setSelected] = useState<string>();
  const [render, setRender] = useState<{ jobId: string; preset: Preset; revision: number }>();

  const history = (direction: 'undo' | 'redo') => {
    const v = p.view;
    if (!v) return;
    if (!(direction === 'undo' ? v.history.undo : v.history.redo).length) return;
    void p.write({
      done: direction === 'undo' ? 'Undone' : 'Redone',
      send: (api, revision) => api.history(id, revision, direction),
    });
  };
  // The shortcut handler is added once and calls the newest `history` (it reads the newest view).
  const historyRef = useRef(history);
  historyRef.current = history;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const what = historyShortcut(e, document.activeElement as HTMLElement | null);
      if (!what) return;
      e.preventDefault();
      historyRef.current(what);
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  if (p.loadError && !view) {
    return (
      <section>
        <h1>Project {id}</h1>
        <Notice kind="error">
          {p.loadError.status === 404 ? `There is no project "${id}".` : p.loadError.message}
        </Notice>
        <p>
          <a href="/projects">Back to the projects</a>
        </p>
      </section>
    );
  }
  if (!view) {
    return (
      <section>
        <h1>Project {id}</h1>
        <p class="muted">Loading…</p>
      </section>
    );
  }

  const { project } = view;
  const index = Math.max(
    0,
    project.scenes.findIndex((s) => s.id === selected),
  );
  const scene = project.scenes[index]!;
  const locked = p.conflict;
  const lastUndo = view.history.undo.at(-1);
  const lastRedo = view.history.redo.at(-1);

  const sceneActions: SceneActions = {
    patch: (patch, done, optimistic) =>
      p.write({
        done,
        controls: sceneControls(scene.id, index),
        send: (api, revision) => api.patchScene(id, revision, scene.id, patch),
        ...(optimistic
          ? {
              optimistic: (v: ProjectView) =>
                withScenes(
                  v,
                  v.project.scenes.map((s) => (s.id === scene.id ? optimistic(s) : s)),
                ),
            }
          : {}),
      }),
    revoice: () =>
      p.write({
        done: `Scene ${index + 1} will be voiced anew by the next preview`,
        send: (api, revision) => api.revoice(id, revision, [scene.id]),
      }),
    clearIssue: p.clearIssue,
  };

  const onMove = (from: number, to: number) =>
    void p.write({
      done: 'Scene order saved',
      send: (api, revision) =>
        api.order(
          id,
          revision,
          moveItem(
            project.scenes.map((s) => s.id),
            from,
            to,
          ),
        ),
      optimistic: (v) => withScenes(v, moveItem(v.project.scenes, from, to)),
    });

  const addScene = () =>
    void p.write({
      done: `Scene ${index + 2} added`,
      send: async (api, revision) => {
        const added = await api.addScene(
          id,
          revision,
          { narration: '', visual: NEW_SCENE_VISUAL },
          index + 1,
        );
        setSelected(added.sceneId);
        return added;
      },
    });

  const deleteScene = () => {
    const neighbour = project.scenes[index + 1] ?? project.scenes[index - 1];
    void p
      .write({
        done: `Scene ${index + 1} deleted (Undo brings it back)`,
        send: (api, revision) => api.deleteScene(id, revision, scene.id),
      })
      .then((ok) => ok && neighbour && setSelected(neighbour.id));
  };

  const startRender = (preset: Preset) =>
    void p.write({
      done: preset === 'preview' ? 'Preview started' : 'Render started',
      send: async (api, revision) => {
        const accepted = await api.render(id, revision, preset);
        setRender({ jobId: accepted.jobId, preset, revision: accepted.revision });
        return accepted;
      },
    });

  return (
    <article class="project">
      <div class="page-head">
        <h1>{project.title}</h1>
        <p class="project__status" role="status" aria-live="polite">
          <span>Revision {view.revision}</span>
          {p.status ? <span id="project-status"> · {p.status}</span> : null}
        </p>
      </div>
      <div class="actions project__history" role="group" aria-label="History">
        <button
          type="button"
          class="button button--quiet"
          disabled={locked || !lastUndo}
          aria-keyshortcuts="Control+Z"
          title={lastUndo ? `Undo: ${lastUndo} (Ctrl-Z)` : 'Nothing to undo'}
          onClick={() => history('undo')}
        >
          ↶ Undo
        </button>
        <button
          type="button"
          class="button button--quiet"
          disabled={locked || !lastRedo}
          aria-keyshortcuts="Control+Shift+Z"
          title={lastRedo ? `Redo: ${lastRedo} (Ctrl-Shift-Z)` : 'Nothing to redo'}
          onClick={() => history('redo')}
        >
          ↷ Redo
        </button>
        <span class="hint project__last">{lastUndo ? `Last change: ${lastUndo}` : 'No changes yet'}</span>
      </div>

      {p.conflict ? (
        <div class="notice notice--error" role="alert" id="project-conflict">
          <p>
            <strong>Another tab changed this project</strong> since this page read it, so your last change was
            not saved (nothing was overwritten). Reload it to see the other changes, then make yours again.
          </p>
          <button type="button" class="button" onClick={() => void p.reload()}>
            Reload the project
          </button>
        </div>
      ) : null}
      <FormErrors errors={p.issues.general} />

      <div class="editor">
        <section class="editor__scenes" aria-labelledby="scenes-h">
          <h2 id="scenes-h">Scenes</h2>
          <p class="hint">Drag a scene to its new place, or use the arrows.</p>
          <SceneList
            scenes={project.scenes}
            selected={scene.id}
            disabled={locked}
            onSelect={setSelected}
            onMove={onMove}
          />
          <div class="actions">
            <button type="button" class="button button--quiet" disabled={locked} onClick={addScene}>
              Add a scene after scene {index + 1}
            </button>
            <button
              type="button"
              class="button button--quiet"
              disabled={locked || project.scenes.length < 2}
              onClick={deleteScene}
            >
              Delete scene {index + 1}
            </button>
          </div>
        </section>
        <section class="editor__scene" aria-label={`Scene ${index + 1}`}>
          <SceneEditor
            scene={scene}
            index={index}
            disabled={locked}
            errors={p.issues.byControl}
            actions={sceneActions}
          />
        </section>
      </div>

      <section aria-labelledby="sound-h">
        <h2 id="sound-h">Voice and music</h2>
        <div class="sound">
          <fieldset disabled={locked}>
            <legend>Voice</legend>
            <p>
              Speech model <code>{project.voice.model}</code>
              {project.voice.voice ? (
                <>
                  , voice <code>{project.voice.voice}</code>
                </>
              ) : (
                ', its default voice'
              )}
              . Each scene is voiced on its own and kept until its narration changes.
            </p>
            <div class="actions">
              <button
                type="button"
                class="button button--quiet"
                onClick={() =>
                  void p.write({
                    done: 'Every scene will be voiced anew by the next preview',
                    send: (api, revision) => api.revoice(id, revision),
                  })
                }
              >
                Re-voice all scenes
              </button>
            </div>
          </fieldset>
          <MusicControls
            music={project.music}
            disabled={locked}
            errors={p.issues.byControl}
            clearIssue={p.clearIssue}
            onChange={(patch, done) =>
              p.write({
                done,
                controls: MUSIC_CONTROLS,
                send: (api, revision) => api.patchMusic(id, revision, patch),
                optimistic: (v) => ({
                  ...v,
                  project: { ...v.project, music: v.project.music && { ...v.project.music, ...patch } },
                }),
              })
            }
            onRegenerate={() =>
              p.write({
                done: 'New music at the next preview',
                controls: MUSIC_CONTROLS,
                send: (api, revision) => api.regenerateMusic(id, revision),
              })
            }
          />
        </div>
      </section>

      <section aria-labelledby="render-section-h">
        <h2 id="render-section-h">Preview and render</h2>
        <p class="hint">
          Both render the project as it is now (revision {view.revision}); voiceovers and pictures that did
          not change are reused.
        </p>
        <div class="actions">
          <button type="button" class="button" disabled={locked} onClick={() => startRender('preview')}>
            Preview (480p, 15 fps)
          </button>
          <button
            type="button"
            class="button button--quiet"
            disabled={locked}
            onClick={() => startRender('final')}
          >
            Render the final video ({project.output.shortSide}p)
          </button>
        </div>
        {render ? <RenderJob key={render.jobId} {...render} /> : null}
      </section>
    </article>
  );
}
