import { useEffect, useRef, useState } from 'preact/hooks';
import { type ApiError } from '../api/errors.ts';
import { openEventStream, type StreamState } from '../api/stream.ts';
import type { Envelope, JobView } from '../api/types.ts';
import { useAuth } from '../auth.tsx';
import { foldEvent, isTerminal, mergeDocument } from './fold.ts';

const TERMINAL_EVENTS = new Set(['job.completed', 'job.failed']);
/** Pauses before each read of a finished job's document (see readFinal). */
const FINAL_READ_PAUSES_MS = [0, 250, 500, 1000, 2000, 4000];

/**
 * One job, live: `GET /v1/jobs/:id/events` sends the stored document, then the job's events, which
 * are folded into it as they come (no polling). When a terminal event arrives, the document is read
 * once more for what only the API adds (the signed video link, the trace link) — again, with
 * growing pauses, while the store does not show the end yet. The stream ends
 * with the job; a dropped connection is retried and starts again from the stored document.
 */
export function useJob(id: string): {
  job: JobView | undefined;
  live: StreamState;
  fatal: ApiError | undefined;
  /** Follows the job again from its stored document (after a retry reopened it). */
  follow: () => void;
} {
  const { client, kinds, signOut } = useAuth();
  const [job, setJob] = useState<JobView>();
  const [live, setLive] = useState<StreamState>({ state: 'connecting' });
  const [fatal, setFatal] = useState<ApiError>();
  const current = useRef<JobView | undefined>(undefined);
  const kindsRef = useRef(kinds);
  kindsRef.current = kinds;
  const [round, setRound] = useState(0);
  const shownId = useRef<string | undefined>(undefined);

  useEffect(() => {
    if (!client) return;
    const ac = new AbortController();
    current.current = undefined;
    // A new job starts blank; following the same one again keeps it on screen until the document comes.
    if (shownId.current !== id) setJob(undefined);
    shownId.current = id;
    setFatal(undefined);
    const update = (next: JobView) => {
      current.current = next;
      setJob(next);
    };
    // The job's end is read from the store for what only the API adds (signed links). A service that
    // publishes `job.completed` itself (a generation) can be faster than the notifier storing it, so
    // an answer that does not show the end yet is read again, a few times with growing pauses.
    const readFinal = async () => {
      for (const pauseMs of FINAL_READ_PAUSES_MS) {
        if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
        if (ac.signal.aborted) return;
        let doc: JobView;
        try {
          doc = await client.getJob(id, ac.signal);
        } catch {
          return; // the folded state stands; a reload shows the stored one
        }
        update(mergeDocument(current.current, doc));
        if (isTerminal(doc.status)) return;
      }
    };
    void openEventStream({
      path: `/v1/jobs/${encodeURIComponent(id)}/events`,
      key: client.key,
      signal: ac.signal,
      onState: setLive,
      onFatal: (err) =>
        err.status === 401 ? signOut('The API key is no longer accepted. Sign in again.') : setFatal(err),
      reconnectAfterEnd: () => !current.current || !isTerminal(current.current.status),
      onMessage: (m) => {
        if (!m.data) return;
        let payload: unknown;
        try {
          payload = JSON.parse(m.data);
        } catch {
          return;
        }
        if (m.event === 'job') {
          update(mergeDocument(current.current, payload as JobView));
          return;
        }
        const cur = current.current;
        if (!cur) return;
        const event = payload as Envelope;
        const next = foldEvent(cur, event, kindsRef.current[cur.kind]);
        if (next !== cur) update(next);
        if (TERMINAL_EVENTS.has(event.type)) void readFinal();
      },
    });
    return () => ac.abort();
  }, [client, id, round]);

  return { job, live, fatal, follow: () => setRound((n) => n + 1) };
}
