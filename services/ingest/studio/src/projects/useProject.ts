import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { isApiError, type ApiError } from '../api/errors.ts';
import { ProjectsApi, type ProjectView } from '../api/projects.ts';
import { useAuth } from '../auth.tsx';
import { placeIssues, type ControlFields, type PlacedIssues } from '../forms/fields.ts';

const NO_ISSUES: PlacedIssues = { byControl: {}, general: [], first: undefined };

export interface Write {
  /** Said (politely, to screen readers too) when the change is saved: "Overlay size saved". */
  done: string;
  /** The request, at `revision` (sent as If-Match); answers the revision after it. */
  send(api: ProjectsApi, revision: number): Promise<{ revision: number; label?: string }>;
  /** The controls that show the fields this request may be told about. */
  controls?: ControlFields[];
  /** Shown at once, before the answer (a reorder, a slider); the stored project replaces it after. */
  optimistic?(view: ProjectView): ProjectView;
}

export interface ProjectState {
  view: ProjectView | undefined;
  loadError: ApiError | undefined;
  /** A write was refused because the project changed elsewhere since it was read (409). */
  conflict: boolean;
  /** What the last write was told, by control, and what names no control. */
  issues: PlacedIssues;
  /** The last change saved, or what is being saved. */
  status: string;
  busy: boolean;
  api: ProjectsApi | undefined;
  /** Queues a write: writes go one at a time, each at the revision the previous one left. */
  write(w: Write): Promise<boolean>;
  /** Reads the project again (after a conflict: the other tab's version, editing enabled again). */
  reload(): Promise<void>;
  clearIssue(control: string): void;
}

/**
 * One project, as the editor shows and changes it. Every write carries the revision the page shows
 * (`If-Match`) and is followed by a read of the stored project, so the page shows what the API stored
 * (an optimistic change that was refused goes away). A `409 revision_conflict` means another tab or
 * client changed the project: nothing was written, the page keeps what it shows and stops writing
 * until it is reloaded.
 */
export function useProject(id: string): ProjectState {
  const { client } = useAuth();
  const api = useMemo(() => (client ? new ProjectsApi(client) : undefined), [client]);
  const [view, setView] = useState<ProjectView>();
  const [loadError, setLoadError] = useState<ApiError>();
  const [conflict, setConflict] = useState(false);
  const [issues, setIssues] = useState<PlacedIssues>(NO_ISSUES);
  const [status, setStatus] = useState('');
  const [pending, setPending] = useState(0);
  const viewRef = useRef<ProjectView | undefined>(undefined);
  const conflictRef = useRef(false);
  const queue = useRef<Promise<unknown>>(Promise.resolve());

  const show = useCallback((v: ProjectView | undefined) => {
    viewRef.current = v;
    setView(v);
  }, []);

  const read = useCallback(
    async (signal?: AbortSignal) => {
      if (!api) return;
      try {
        show(await api.get(id, signal));
        setLoadError(undefined);
      } catch (err) {
        if (signal?.aborted) return;
        if (isApiError(err)) setLoadError(err);
        else throw err;
      }
    },
    [api, id, show],
  );

  useEffect(() => {
    const ac = new AbortController();
    show(undefined);
    conflictRef.current = false;
    setConflict(false);
    void read(ac.signal);
    return () => ac.abort();
  }, [read, show]);

  const reload = useCallback(async () => {
    await queue.current;
    await read();
    conflictRef.current = false;
    setConflict(false);
    setIssues(NO_ISSUES);
    setStatus('Reloaded: this is the project as it is stored now.');
  }, [read]);

  const write = useCallback(
    (w: Write): Promise<boolean> => {
      const run = async (): Promise<boolean> => {
        const current = viewRef.current;
        if (!api || !current || conflictRef.current) return false;
        setIssues(NO_ISSUES);
        setStatus('Saving…');
        if (w.optimistic) show(w.optimistic(current));
        try {
          const answer = await w.send(api, current.revision);
          await read();
          setStatus(answer.label ? `${w.done}: ${answer.label}` : w.done);
          return true;
        } catch (err) {
          if (!isApiError(err)) throw err;
          if (err.status === 409 && err.code === 'revision_conflict') {
            // Nothing was written: what was shown ahead of the answer goes; the rest stays until reloaded.
            if (w.optimistic) show(current);
            conflictRef.current = true;
            setConflict(true);
            setStatus('Not saved: another tab changed this project.');
            return false;
          }
          setIssues(placeIssues(err, w.controls ?? []));
          setStatus('Not saved.');
          // What was shown ahead of the answer goes back to what is stored.
          if (w.optimistic) await read();
          return false;
        }
      };
      const next = queue.current.then(run, run);
      queue.current = next.catch(() => undefined);
      setPending((n) => n + 1);
      void next.finally(() => setPending((n) => n - 1)).catch(() => undefined);
      return next;
    },
    [api, read, show],
  );

  const clearIssue = useCallback((control: string) => {
    setIssues((cur) => {
      if (!cur.byControl[control]) return cur;
      const byControl = { ...cur.byControl };
      delete byControl[control];
      return { ...cur, byControl };
    });
  }, []);

  return {
    view,
    loadError,
    conflict,
    issues,
    status,
    busy: pending > 0,
    api,
    write,
    reload,
    clearIssue,
  };
}
