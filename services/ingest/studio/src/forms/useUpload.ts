import { useLocation } from 'preact-iso';
import { useEffect, useRef, useState } from 'preact/hooks';
import { isApiError } from '../api/errors.ts';
import { uploadForm, type UploadProgress } from '../api/upload.ts';
import { useAuth } from '../auth.tsx';
import { placeIssues, type ControlFields, type PlacedIssues } from './fields.ts';

const NO_ISSUES: PlacedIssues = { byControl: {}, general: [], first: undefined };

/**
 * Submits a job-creating multipart form: upload progress, cancel, the API's errors placed next to
 * their controls (focus moves to the first), and on 202 the job page.
 */
export function useUpload({ path, controls }: { path: string; controls: ControlFields[] }) {
  const { client, signOut } = useAuth();
  const { route } = useLocation();
  const [progress, setProgress] = useState<UploadProgress>();
  const [issues, setIssues] = useState<PlacedIssues>(NO_ISSUES);
  const abort = useRef<AbortController | undefined>(undefined);
  useEffect(() => () => abort.current?.abort(), []);

  useEffect(() => {
    if (issues.first) document.getElementById(issues.first)?.focus();
  }, [issues]);

  async function submit(form: FormData): Promise<void> {
    if (!client) return;
    abort.current = new AbortController();
    setIssues(NO_ISSUES);
    setProgress({ loaded: 0, total: 0 });
    try {
      const accepted = await uploadForm({
        path,
        key: client.key,
        form,
        onProgress: setProgress,
        signal: abort.current.signal,
      });
      route(`/jobs/${encodeURIComponent(accepted.jobId)}`);
    } catch (err) {
      setProgress(undefined);
      if (err instanceof DOMException && err.name === 'AbortError') {
        setIssues({ ...NO_ISSUES, general: ['The upload was cancelled; nothing was submitted.'] });
        return;
      }
      if (isApiError(err)) {
        if (err.status === 401) return signOut('The API key is no longer accepted. Sign in again.');
        setIssues(placeIssues(err, controls));
        return;
      }
      setIssues({ ...NO_ISSUES, general: [String(err)] });
    }
  }

  return {
    submit,
    progress,
    issues,
    busy: progress !== undefined,
    cancel: () => abort.current?.abort(),
    /** Clears a control's messages once the user changed it. */
    clear: (control: string) =>
      setIssues((i) => {
        if (!i.byControl[control]) return i;
        const { [control]: _gone, ...rest } = i.byControl;
        return { ...i, byControl: rest, first: undefined };
      }),
  };
}
