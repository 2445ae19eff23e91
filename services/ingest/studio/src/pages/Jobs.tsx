import { useLocation } from 'preact-iso';
import { useEffect, useRef, useState } from 'preact/hooks';
import { isApiError } from '../api/errors.ts';
import { openEventStream, type StreamState } from '../api/stream.ts';
import type { Envelope, JobKind, JobStatus, JobView } from '../api/types.ts';
import { useAuth } from '../auth.tsx';
import { LiveState } from '../components/LiveState.tsx';
import { Notice, ProgressBar, StatusBadge, useNow, useTitle } from '../components/ui.tsx';
import { age, label } from '../format.ts';
import { addDocuments, applyEvent, visibleJobs, type JobFilter } from '../live/list.ts';

const STATUSES: JobStatus[] = ['queued', 'running', 'completed', 'failed', 'stalled', 'cancelled'];
const LIMIT = 50;

/** The live job list: `GET /v1/jobs` once, then every job event from `GET /v1/events`. */
export function Jobs() {
  useTitle('Jobs');
  const { client, kinds, signOut } = useAuth();
  const { query, route, path } = useLocation();
  const filter: JobFilter = {
    status: (STATUSES as string[]).includes(query.status ?? '') ? (query.status as JobStatus) : undefined,
    kind: query.kind ? (query.kind as JobKind) : undefined,
  };
  const [jobs, setJobs] = useState<JobView[]>();
  const [error, setError] = useState<string>();
  const [live, setLive] = useState<StreamState>({ state: 'connecting' });
  const kindsRef = useRef(kinds);
  kindsRef.current = kinds;
  const now = useNow(15_000);

  useEffect(() => {
    if (!client) return;
    const ac = new AbortController();
    // Jobs the page knows, shown or not (a job may come to match the filter later).
    let known: ReadonlyMap<string, JobView> | undefined;
    let early: Envelope[] = [];
    const reading = new Set<string>();
    const show = (next: ReadonlyMap<string, JobView>) => {
      known = next;
      setJobs(visibleJobs(next, filter, LIMIT));
    };
    // A job the page has not seen (just submitted, or older than the first page): read it once.
    const readJob = (id: string) => {
      if (reading.has(id)) return;
      reading.add(id);
      client.getJob(id, ac.signal).then(
        (doc) => {
          reading.delete(id);
          if (known) show(addDocuments(known, [doc]));
        },
        () => reading.delete(id),
      );
    };
    const onEvent = (e: Envelope) => {
      if (!known) return void early.push(e);
      const r = applyEvent(known, e, kindsRef.current);
      if (r.known !== known) show(r.known);
      if (r.unknown) readJob(e.jobId);
    };
    void openEventStream({
      path: '/v1/events',
      key: client.key,
      signal: ac.signal,
      onState: setLive,
      onFatal: (err) =>
        err.status === 401
          ? signOut('The API key is no longer accepted. Sign in again.')
          : setError(err.message),
      onMessage: (m) => {
        // The server subscribes before it says `ready`, so the list read after it misses nothing;
        // each reconnection starts over from a fresh list.
        if (m.event === 'ready') {
          known = undefined;
          early = [];
          client.listJobs({ ...filter, limit: LIMIT }, ac.signal).then(
            (r) => {
              show(addDocuments(new Map(), r.jobs));
              for (const e of early.splice(0)) onEvent(e);
              setError(undefined);
            },
            (err) => !ac.signal.aborted && setError(isApiError(err) ? err.message : String(err)),
          );
          return;
        }
        if (!m.event || !m.data) return;
        let event: Envelope;
        try {
          event = JSON.parse(m.data) as Envelope;
        } catch {
          return; // not an event envelope
        }
        onEvent(event);
      },
    });
    return () => ac.abort();
  }, [client, filter.status, filter.kind]);

  const setFilter = (next: JobFilter) => {
    const q = new URLSearchParams();
    if (next.status) q.set('status', next.status);
    if (next.kind) q.set('kind', next.kind);
    const qs = q.toString();
    route(qs ? `${path}?${qs}` : path, true);
  };
  const kindNames = Object.keys(kinds).length ? Object.keys(kinds) : ['call', 'story'];

  return (
    <section>
      <div class="page-head">
        <h1>Jobs</h1>
        <LiveState state={live} />
      </div>
      <form class="filters" role="search" aria-label="Filter jobs" onSubmit={(e) => e.preventDefault()}>
        <div class="field field--inline">
          <label for="filter-status">Status</label>
          <select
            id="filter-status"
            value={filter.status ?? ''}
            onChange={(e) =>
              setFilter({ ...filter, status: (e.currentTarget.value || undefined) as JobStatus | undefined })
            }
          >
            <option value="">Any status</option>
            {STATUSES.map((s) => (
              <option value={s} key={s}>
                {label(s)}
              </option>
            ))}
          </select>
        </div>
        <div class="field field--inline">
          <label for="filter-kind">Kind</label>
          <select
            id="filter-kind"
            value={filter.kind ?? ''}
            onChange={(e) =>
              setFilter({ ...filter, kind: (e.currentTarget.value || undefined) as JobKind | undefined })
            }
          >
            <option value="">Any kind</option>
            {kindNames.map((k) => (
              <option value={k} key={k}>
                {label(k)}
              </option>
            ))}
          </select>
        </div>
      </form>
      {error ? <Notice kind="error">{error}</Notice> : null}
      {!jobs ? (
        <p class="muted">Loading jobs…</p>
      ) : jobs.length === 0 ? (
        <div class="empty">
          <p>{filter.status || filter.kind ? 'No jobs match these filters.' : 'No jobs yet.'}</p>
          <p>
            Start with a <a href="/new/call">new call</a> or a <a href="/new/story">new story</a>.
          </p>
        </div>
      ) : (
        <table class="jobs" aria-label="Jobs, newest first">
          <thead>
            <tr>
              <th scope="col">Job</th>
              <th scope="col">Status</th>
              <th scope="col">Progress</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {jobs.map((j) => (
              <tr key={j.id} data-job-id={j.id}>
                <td data-label="Job">
                  <a href={`/jobs/${encodeURIComponent(j.id)}`} class="jobs__link">
                    <span class="jobs__kind">{label(j.kind)}</span>
                    <span class="jobs__id">{j.id}</span>
                  </a>
                </td>
                <td data-label="Status">
                  <StatusBadge status={j.status} />
                </td>
                <td data-label="Progress">
                  <ProgressBar value={j.progress} name={`Progress of ${j.id}`} />
                </td>
                <td data-label="Created">
                  <time dateTime={j.createdAt} title={new Date(j.createdAt).toLocaleString()}>
                    {age(j.createdAt, now)}
                  </time>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
