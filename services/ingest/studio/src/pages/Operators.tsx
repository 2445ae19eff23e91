import { useEffect, useState } from 'preact/hooks';
import { isApiError } from '../api/errors.ts';
import type { DeadLetter } from '../api/types.ts';
import { useAuth } from '../auth.tsx';
import { Notice, useNow, useTitle } from '../components/ui.tsx';
import { age, label } from '../format.ts';

const PAGE = 50;

/**
 * For operator keys: the dead letters (messages a service gave up on) with their reasons, and a
 * replay button for each (`POST /v1/dead-letters/:seq/replay`). Retrying a whole failed job is on
 * its job page.
 */
export function Operators() {
  useTitle('Operators');
  const { client, role } = useAuth();
  const now = useNow(15_000);
  const [letters, setLetters] = useState<DeadLetter[]>();
  const [next, setNext] = useState<number>();
  const [error, setError] = useState<string>();
  const [forbidden, setForbidden] = useState(false);
  const [busy, setBusy] = useState<number>();
  const [status, setStatus] = useState<string>();
  const [rowErrors, setRowErrors] = useState<Record<number, string>>({});
  const [reloads, setReloads] = useState(0);

  useEffect(() => {
    if (!client) return;
    const ac = new AbortController();
    setError(undefined);
    client.listDeadLetters({ limit: PAGE }, ac.signal).then(
      (r) => {
        setLetters(r.deadLetters);
        setNext(r.next);
        setForbidden(false);
      },
      (err) => {
        if (ac.signal.aborted) return;
        if (isApiError(err) && err.status === 403) setForbidden(true);
        else setError(isApiError(err) ? err.message : String(err));
      },
    );
    return () => ac.abort();
  }, [client, reloads]);

  async function more() {
    if (!client || !next) return;
    try {
      const r = await client.listDeadLetters({ from: next, limit: PAGE });
      setLetters((l) => [...(l ?? []), ...r.deadLetters]);
      setNext(r.next);
    } catch (err) {
      setError(isApiError(err) ? err.message : String(err));
    }
  }

  async function replay(dl: DeadLetter) {
    if (!client) return;
    setBusy(dl.seq);
    setStatus(undefined);
    setRowErrors(({ [dl.seq]: _gone, ...rest }) => rest);
    try {
      const r = await client.replayDeadLetter(dl.seq);
      setLetters((l) => l?.filter((x) => x.seq !== dl.seq));
      setStatus(
        `Dead letter ${dl.seq} was sent to ${r.service} again${r.jobId ? ` (job ${r.jobId})` : ''}. If it fails again, it comes back here with a new number.`,
      );
    } catch (err) {
      const message = isApiError(err) ? err.message : String(err);
      if (isApiError(err) && err.status === 404) {
        // replayed from elsewhere meanwhile (the CLI, another tab): it is gone
        setLetters((l) => l?.filter((x) => x.seq !== dl.seq));
        setStatus(message);
      } else setRowErrors((e) => ({ ...e, [dl.seq]: message }));
    } finally {
      setBusy(undefined);
    }
  }

  if (forbidden || role === 'user') {
    return (
      <section class="narrow">
        <h1>Operators</h1>
        <Notice kind="error">
          This page is for operator keys; the key you signed in with is a user key. Sign in with an operator
          key to see and replay dead letters.
        </Notice>
      </section>
    );
  }

  return (
    <section>
      <div class="page-head">
        <h1>Operators</h1>
        <button type="button" class="button button--quiet" onClick={() => setReloads((n) => n + 1)}>
          Refresh
        </button>
      </div>
      <p class="lede">
        Dead letters: messages a service gave up on, oldest first, with the reason. Fix the cause, then replay
        one: it goes back to the service that failed it. To run a failed job again from the step that failed,
        use “Retry from the failed step” on its job page.
      </p>
      <p class="muted" role="status">
        {status}
      </p>
      {error ? <Notice kind="error">{error}</Notice> : null}
      {!letters ? (
        error ? null : (
          <p class="muted">Loading dead letters…</p>
        )
      ) : letters.length === 0 ? (
        <div class="empty">
          <p>No dead letters: every message was handled.</p>
        </div>
      ) : (
        <ol class="letters" aria-label="Dead letters, oldest first">
          {letters.map((dl) => (
            <li class="letter" key={dl.seq} data-seq={dl.seq}>
              <div class="letter__head">
                <span class="letter__seq">#{dl.seq}</span>
                <span class="letter__where">
                  {dl.service} · {label(dl.step)}
                </span>
                <time dateTime={dl.at} title={new Date(dl.at).toLocaleString()} class="muted">
                  {age(dl.at, now)}
                </time>
              </div>
              <p class="letter__reason" id={`letter-${dl.seq}-reason`}>
                {dl.reason}
              </p>
              <p class="letter__facts muted">
                {dl.type ?? 'not a valid event'}
                {dl.jobId ? (
                  <>
                    {' · job '}
                    <a href={`/jobs/${encodeURIComponent(dl.jobId)}`} class="letter__job">
                      {dl.jobId}
                    </a>
                  </>
                ) : null}
                {dl.deliveries !== undefined
                  ? ` · ${dl.deliveries} ${dl.deliveries === 1 ? 'delivery' : 'deliveries'}`
                  : ''}
              </p>
              <details class="letter__body">
                <summary>The message</summary>
                {dl.invalid ? <p class="muted">Not a valid event: {dl.invalid}</p> : null}
                <pre>{dl.event ? JSON.stringify(dl.event, null, 2) : dl.raw}</pre>
              </details>
              <div class="actions">
                <button
                  type="button"
                  class="button"
                  disabled={busy !== undefined}
                  aria-describedby={`letter-${dl.seq}-reason`}
                  onClick={() => void replay(dl)}
                >
                  {busy === dl.seq ? 'Replaying…' : `Replay #${dl.seq}`}
                </button>
              </div>
              {rowErrors[dl.seq] ? <Notice kind="error">{rowErrors[dl.seq]}</Notice> : null}
            </li>
          ))}
        </ol>
      )}
      {next ? (
        <button type="button" class="button button--quiet" onClick={() => void more()}>
          Show more
        </button>
      ) : null}
    </section>
  );
}
