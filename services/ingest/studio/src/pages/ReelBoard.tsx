import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { ApiClient } from '../api/client.ts';
import { ApiError, isApiError } from '../api/errors.ts';
import {
  approveTake,
  compileReel,
  getReel,
  regenerateSection,
  rejectTake,
  reorderSections,
  type ReelUpdate,
  type ReelView,
  type SectionView,
  type TakeView,
} from '../api/reels.ts';
import { openEventStream, type StreamState } from '../api/stream.ts';
import type { Envelope, ModelInfo } from '../api/types.ts';
import { useAuth } from '../auth.tsx';
import { LiveState } from '../components/LiveState.tsx';
import { ParamControl } from '../components/ParamControl.tsx';
import { FormErrors, Notice, useTitle } from '../components/ui.tsx';
import { placeIssues, type PlacedIssues } from '../forms/fields.ts';
import { paramFields, paramsFromValues, type ParamValues } from '../forms/schema-form.ts';
import { bytes, clock } from '../format.ts';
import {
  changeText,
  changedParams,
  compileIsCurrent,
  compileReadiness,
  isNewer,
  keepVideoLinks,
  movedOrder,
  paramValuesOf,
  sectionInText,
  takeActions,
} from '../reels/board.ts';

const NO_ISSUES: PlacedIssues = { byControl: {}, general: [], first: undefined };
const TAKE_STATUS_TEXT: Record<TakeView['status'], string> = {
  pending: 'Generating',
  ready: 'Waiting for review',
  approved: 'Approved',
  rejected: 'Rejected',
  failed: 'Failed',
};
/** The badge colour of a take's status (the word is always shown too). */
const TAKE_BADGE: Record<TakeView['status'], string> = {
  pending: 'running',
  ready: 'queued',
  approved: 'completed',
  rejected: 'failed',
  failed: 'failed',
};

/** What an action's error says: a refused change (409) is the reel's own rule, said as it is. */
const errorText = (err: unknown) => (isApiError(err) ? err.message : String(err));

/**
 * A reel's board (`/reels/:id`): the sections in order, each with its takes side by side (playing inline),
 * approve, reject with a reason, regenerate with changed params, re-order; the compile, refused with its
 * reason until every section has an approved take, then the compiled video. Live over the reel's event
 * stream (read with fetch, the key in a header): each change is announced and the reel read again.
 */
export function ReelBoard({ id }: { id: string }) {
  const { reel, live, fatal, accept, refresh, lastChange } = useReel(id);
  const { client } = useAuth();
  const [models, setModels] = useState<ModelInfo[]>([]);
  const [boardError, setBoardError] = useState<string>();
  useTitle(reel ? `Reel ${reel.title}` : `Reel ${id}`);

  useEffect(() => {
    if (!client) return;
    const ac = new AbortController();
    // Only the regenerate forms need the models; without them a regenerate sends the section's params.
    client.listModels(ac.signal).then(
      (r) => setModels(r.models),
      () => undefined,
    );
    return () => ac.abort();
  }, [client]);

  if (fatal) {
    return (
      <section>
        <h1>Reel {id}</h1>
        <Notice kind="error">{fatal.status === 404 ? `There is no reel "${id}".` : fatal.message}</Notice>
        <p>
          <a href="/reels">Back to the reels</a>
        </p>
      </section>
    );
  }
  if (!reel) {
    return (
      <section>
        <h1>Reel {id}</h1>
        <p class="muted">Loading…</p>
      </section>
    );
  }

  async function move(sectionId: string, by: -1 | 1) {
    if (!client || !reel) return;
    const order = movedOrder(reel, sectionId, by);
    if (!order) return;
    setBoardError(undefined);
    try {
      accept(await reorderSections(client, { reelId: reel.id, order, revision: reel.revision }));
      // Keep the keyboard on the moved section: its button in the same direction, or the other one at an end.
      requestAnimationFrame(() => {
        const buttons = (dir: number) =>
          document.querySelector<HTMLButtonElement>(`[data-section-id="${sectionId}"] [data-move="${dir}"]`);
        const same = buttons(by);
        (same && !same.disabled ? same : buttons(-by))?.focus();
      });
    } catch (err) {
      if (isApiError(err) && err.code === 'revision_conflict') {
        setBoardError(
          'Someone changed the reel while you were moving the section; it now shows their change. Move it again if you still want to.',
        );
        refresh();
      } else setBoardError(errorText(err));
    }
  }

  return (
    <article class="reel">
      <div class="page-head">
        <h1>
          {reel.title} <span class="job__id">{reel.id}</span>
        </h1>
        <LiveState state={live} />
      </div>
      <p class="muted reel__status" role="status" id="reel-change">
        {lastChange}
      </p>
      <CompilePanel reel={reel} onChanged={refresh} />
      {boardError ? (
        <Notice kind="error">
          <span id="board-error">{boardError}</span>
        </Notice>
      ) : null}
      <h2 id="sections-h">Sections</h2>
      <ol class="reel-sections" aria-labelledby="sections-h">
        {reel.sections.map((s, i) => (
          <SectionRow
            key={s.id}
            reel={reel}
            section={s}
            index={i}
            model={models.find((m) => m.id === s.model)}
            onAccept={accept}
            onRefresh={refresh}
            onMove={(by) => void move(s.id, by)}
          />
        ))}
      </ol>
    </article>
  );
}

/**
 * The reel, live: `GET /v1/reels/:id/events` sends the reel, then a `reel.updated` per change (what
 * changed, not the reel); each newer change is announced and the reel read again (one read at a time,
 * the last change wins). Answers of the board's own changes are shown at once (`accept`).
 */
function useReel(id: string) {
  const { client, signOut } = useAuth();
  const [reel, setReel] = useState<ReelView>();
  const [live, setLive] = useState<StreamState>({ state: 'connecting' });
  const [fatal, setFatal] = useState<ApiError>();
  const [lastChange, setLastChange] = useState<string>();
  const current = useRef<ReelView | undefined>(undefined);
  const reading = useRef<{ busy: boolean; again: boolean }>({ busy: false, again: false });

  const accept = useCallback((next: ReelView) => {
    // an older answer (a slow request overtaken by a newer read) never replaces a newer reel
    if (current.current && next.revision < current.current.revision) return;
    const shown = keepVideoLinks(current.current, next, Date.now());
    current.current = shown;
    setReel(shown);
  }, []);

  const refresh = useCallback(() => {
    if (!client) return;
    const r = reading.current;
    if (r.busy) {
      r.again = true;
      return;
    }
    r.busy = true;
    void (async () => {
      do {
        r.again = false;
        try {
          accept(await getReel(client, id));
        } catch {
          // the stream reconnects and sends the reel again; nothing to add here
        }
      } while (r.again);
      r.busy = false;
    })();
  }, [client, id, accept]);

  useEffect(() => {
    if (!client) return;
    const ac = new AbortController();
    current.current = undefined;
    setReel(undefined);
    setFatal(undefined);
    void openEventStream({
      path: `/v1/reels/${encodeURIComponent(id)}/events`,
      key: client.key,
      signal: ac.signal,
      onState: setLive,
      onFatal: (err) =>
        err.status === 401 ? signOut('The API key is no longer accepted. Sign in again.') : setFatal(err),
      onMessage: (m) => {
        if (!m.data) return;
        let payload: unknown;
        try {
          payload = JSON.parse(m.data);
        } catch {
          return;
        }
        if (m.event === 'reel') {
          // a (re)connection starts from the whole reel (the same revision again after a reconnection)
          const whole = payload as ReelView;
          if (current.current && whole.revision <= current.current.revision) return;
          accept(whole);
          return;
        }
        if (m.event !== 'reel.updated') return;
        const update = (payload as Extract<Envelope, { type: 'reel.updated' }>).data as ReelUpdate;
        if (!isNewer(update, current.current)) return;
        if (current.current) setLastChange(changeText(update, current.current));
        refresh();
      },
    });
    return () => ac.abort();
  }, [client, id, accept, refresh, signOut]);

  return { reel, live, fatal, accept, refresh, lastChange };
}

/** Compile: refused with the reasons until every section has an approved take; then the compiled video. */
function CompilePanel({ reel, onChanged }: { reel: ReelView; onChanged: () => void }) {
  const { client } = useAuth();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string[]>();
  const readiness = compileReadiness(reel);
  const compile = reel.compile;

  async function onCompile() {
    if (!client) return;
    setBusy(true);
    setError(undefined);
    try {
      await compileReel(client, reel.id);
      onChanged();
    } catch (err) {
      setError(isApiError(err) && err.issues.length ? err.issues.map((i) => i.message) : [errorText(err)]);
      onChanged();
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="compile" aria-labelledby="compile-h">
      <h2 id="compile-h">Compile</h2>
      <p class="hint">Joins the approved take of every section, in the order below, into one MP4.</p>
      <div class="actions">
        <button
          type="button"
          class="button"
          id="compile-button"
          disabled={busy || !readiness.ready}
          aria-describedby={readiness.ready ? undefined : 'compile-reasons'}
          onClick={() => void onCompile()}
        >
          {busy ? 'Starting…' : compile ? 'Compile again' : 'Compile the reel'}
        </button>
      </div>
      {readiness.ready ? null : (
        <div class="compile__reasons" id="compile-reasons">
          <p>Not yet:</p>
          <ul>
            {readiness.reasons.map((r) => (
              <li key={r}>{r}</li>
            ))}
          </ul>
        </div>
      )}
      {error ? <FormErrors errors={error} /> : null}
      {compile ? (
        <div class="compile__result" data-compile-status={compile.status}>
          <p>
            Latest compile: <strong>{COMPILE_STATUS_TEXT[compile.status]}</strong> ·{' '}
            <a href={`/jobs/${encodeURIComponent(compile.jobId)}`}>job {compile.jobId}</a>
            {compile.status === 'completed' && !compileIsCurrent(reel)
              ? ' · the reel changed since: compile again to include the changes'
              : ''}
          </p>
          {compile.error ? (
            <Notice kind="error">
              <span id="compile-error">{compile.error}</span>
            </Notice>
          ) : null}
          {compile.status === 'completed' && compile.links.video ? (
            <div class="player">
              <video
                id="reel-video"
                class="player__video"
                controls
                playsInline
                preload="metadata"
                src={compile.links.video}
                width={compile.output?.width}
                height={compile.output?.height}
                aria-label={`The compiled video of ${reel.title}`}
              />
              <p class="muted">
                {[
                  compile.output?.videoCount ? `${compile.output.videoCount} takes` : undefined,
                  compile.output ? clock(compile.output.durationSec) : undefined,
                  compile.output ? bytes(compile.output.sizeBytes) : undefined,
                ]
                  .filter(Boolean)
                  .join(' · ')}
              </p>
              <div class="actions">
                <a class="button button--quiet" href={compile.links.video} download={`${reel.id}.mp4`}>
                  Download MP4
                </a>
              </div>
            </div>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}

const COMPILE_STATUS_TEXT: Record<NonNullable<ReelView['compile']>['status'], string> = {
  running: 'running',
  completed: 'completed',
  failed: 'failed',
};

function SectionRow({
  reel,
  section: s,
  index,
  model,
  onAccept,
  onRefresh,
  onMove,
}: {
  reel: ReelView;
  section: SectionView;
  index: number;
  model: ModelInfo | undefined;
  onAccept: (r: ReelView) => void;
  onRefresh: () => void;
  onMove: (by: -1 | 1) => void;
}) {
  const { client } = useAuth();
  const [error, setError] = useState<string>();
  const name = sectionInText(reel, s.id);
  const approved = s.takes.find((t) => t.id === s.approvedTakeId);
  const headingId = `section-${s.id}-h`;

  /** Runs a review action; a refusal (e.g. 409: another reviewer approved first) is shown on the section. */
  const act = async (what: string, run: (c: ApiClient) => Promise<ReelView>) => {
    if (!client) return;
    setError(undefined);
    try {
      onAccept(await run(client));
    } catch (err) {
      setError(`Could not ${what}: ${errorText(err)}`);
      // the refusal usually means the reel changed: show it as it is now
      onRefresh();
    }
  };

  return (
    <li class="reel-section" data-section-id={s.id} aria-labelledby={headingId}>
      <div class="reel-section__head">
        <h3 id={headingId}>
          {index + 1}. {s.title ?? 'Untitled section'}
        </h3>
        <div class="reel-section__move">
          <button
            type="button"
            class="icon-button"
            data-move="-1"
            aria-label={`Move ${name} earlier`}
            disabled={index === 0}
            onClick={() => onMove(-1)}
          >
            ↑
          </button>
          <button
            type="button"
            class="icon-button"
            data-move="1"
            aria-label={`Move ${name} later`}
            disabled={index === reel.sections.length - 1}
            onClick={() => onMove(1)}
          >
            ↓
          </button>
        </div>
      </div>
      <p class="muted reel-section__facts">
        {s.id} · {s.model} ·{' '}
        {approved ? (
          <span class="reel-section__approved">approved: {approved.id}</span>
        ) : (
          'no approved take yet'
        )}
      </p>
      {error ? (
        <div class="notice notice--error notice--dismissible" role="alert" data-section-error={s.id}>
          <p>{error}</p>
          <button
            type="button"
            class="icon-button"
            aria-label={`Dismiss the message about ${name}`}
            onClick={() => setError(undefined)}
          >
            ✕
          </button>
        </div>
      ) : null}
      <ul class="takes" aria-label={`Takes of ${name}`}>
        {s.takes.map((t) => (
          <TakeCard
            key={t.id}
            reel={reel}
            section={s}
            take={t}
            onApprove={() =>
              act(`approve take ${t.id}`, (c) =>
                approveTake(c, { reelId: reel.id, sectionId: s.id, takeId: t.id }),
              )
            }
            onReject={(reason) =>
              act(`reject take ${t.id}`, (c) =>
                rejectTake(c, { reelId: reel.id, sectionId: s.id, takeId: t.id, reason }),
              )
            }
          />
        ))}
      </ul>
      <Regenerate reel={reel} section={s} model={model} onStarted={onRefresh} />
    </li>
  );
}

function TakeCard({
  reel,
  section: s,
  take: t,
  onApprove,
  onReject,
}: {
  reel: ReelView;
  section: SectionView;
  take: TakeView;
  onApprove: () => Promise<void>;
  onReject: (reason: string | undefined) => Promise<void>;
}) {
  const [busy, setBusy] = useState(false);
  const [rejecting, setRejecting] = useState(false);
  const [reason, setReason] = useState('');
  const can = takeActions(s, t);
  const who = `take ${t.id} of ${sectionInText(reel, s.id)}`;
  const base = `take-${s.id}-${t.id}`;
  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    try {
      await action();
    } finally {
      setBusy(false);
    }
  };
  const prompt = typeof t.params.prompt === 'string' ? t.params.prompt : undefined;

  return (
    <li class={`take take--${t.status}`} data-take-id={t.id}>
      <div class="take__head">
        <strong>Take {t.id}</strong>
        <span class={`badge badge--${TAKE_BADGE[t.status]}`}>{TAKE_STATUS_TEXT[t.status]}</span>
      </div>
      {t.links.video ? (
        <video
          class="take__video"
          controls
          playsInline
          preload="metadata"
          src={t.links.video}
          width={t.output?.width}
          height={t.output?.height}
          aria-label={`The video of ${who}`}
        />
      ) : (
        <div class="take__placeholder" aria-hidden="true">
          {t.status === 'failed' ? '✕' : '…'}
        </div>
      )}
      {prompt ? <p class="take__prompt">“{prompt}”</p> : null}
      <p class="muted take__facts">
        {t.output ? `${clock(t.output.durationSec)} · ${bytes(t.output.sizeBytes)} · ` : ''}
        <a href={`/jobs/${encodeURIComponent(t.jobId)}`}>job</a>
      </p>
      {t.error ? <p class="take__error">{t.error}</p> : null}
      {t.status === 'approved' && t.approvedBy ? (
        <p class="take__review">Approved by {t.approvedBy.name}</p>
      ) : null}
      {t.status === 'rejected' ? (
        <p class="take__review">
          Rejected{t.rejectedBy ? ` by ${t.rejectedBy.name}` : ''}
          {t.rejectReason ? `: ${t.rejectReason}` : ''}
        </p>
      ) : null}
      {rejecting ? (
        <form
          class="take__reject"
          onSubmit={(e) => {
            e.preventDefault();
            void run(async () => {
              await onReject(reason.trim() || undefined);
              setRejecting(false);
              setReason('');
            });
          }}
        >
          <div class="field">
            <label for={`${base}-reason`}>Why reject take {t.id}?</label>
            <textarea
              id={`${base}-reason`}
              rows={2}
              maxLength={2000}
              value={reason}
              onInput={(e) => setReason(e.currentTarget.value)}
              aria-describedby={`${base}-reason-hint`}
            />
            <p class="hint" id={`${base}-reason-hint`}>
              Optional; the other reviewers see it.
            </p>
          </div>
          <div class="actions">
            <button type="submit" class="button" disabled={busy} aria-label={`Reject ${who}`}>
              Reject
            </button>
            <button type="button" class="button button--quiet" onClick={() => setRejecting(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <div class="actions take__actions">
          {can.approve ? (
            <button
              type="button"
              class="button"
              disabled={busy}
              aria-label={`Approve ${who}`}
              onClick={() => void run(onApprove)}
            >
              Approve
            </button>
          ) : null}
          {can.reject ? (
            <button
              type="button"
              class="button button--quiet"
              disabled={busy}
              aria-label={`Reject ${who}…`}
              onClick={() => {
                setRejecting(true);
                requestAnimationFrame(() => document.getElementById(`${base}-reason`)?.focus());
              }}
            >
              Reject…
            </button>
          ) : null}
        </div>
      )}
      {can.approveBlockedBy ? (
        <p class="hint">To approve this take, reject {can.approveBlockedBy} first.</p>
      ) : null}
    </li>
  );
}

/** A new take of a section: its params form, starting from the section's params; only changes are sent. */
function Regenerate({
  reel,
  section: s,
  model,
  onStarted,
}: {
  reel: ReelView;
  section: SectionView;
  model: ModelInfo | undefined;
  onStarted: () => void;
}) {
  const { client } = useAuth();
  const fields = useMemo(() => (model ? paramFields(model.params) : []), [model]);
  /** What the reviewer changed in the form; the rest shows the section's params. */
  const [edits, setEdits] = useState<ParamValues>({});
  const [open, setOpen] = useState(false);
  const [issues, setIssues] = useState<PlacedIssues>(NO_ISSUES);
  const [busy, setBusy] = useState(false);
  const name = sectionInText(reel, s.id);
  const controlId = (param: string) => `regen-${s.id}-${param}`;
  const controls = fields.map((f) => ({ control: controlId(f.name), fields: [`params.${f.name}`] }));

  // Live updates re-read the reel (a new params object each time), so the section's values are derived
  // here and the reviewer's edits kept apart: an update while they type does not undo their typing.
  const fromSection = useMemo(() => paramValuesOf(fields, s.params), [fields, s.params]);
  const values = { ...fromSection, ...edits };

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
      await regenerateSection(client, {
        reelId: reel.id,
        sectionId: s.id,
        params: changedParams(params, s.params),
      });
      // the new take appears in the section, and the board's live line says it is being generated
      setOpen(false);
      onStarted();
    } catch (err) {
      setIssues(isApiError(err) ? placeIssues(err, controls) : { ...NO_ISSUES, general: [String(err)] });
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="regenerate">
      <details
        open={open}
        onToggle={(e) => {
          const opened = (e.currentTarget as HTMLDetailsElement).open;
          // Closing forgets the edits, so each opening starts again from the section's params. Not on
          // opening: the toggle event is a task queued after the click, and a fast reviewer's (or a
          // test's) first keystrokes can come before it.
          if (!opened) setEdits({});
          setOpen(opened);
        }}
      >
        <summary>Regenerate {name}</summary>
        <form onSubmit={onSubmit} noValidate aria-label={`Regenerate ${name}`}>
          <FormErrors errors={issues.general} />
          <p class="hint">
            Makes a new take with these settings ({s.model}); the earlier takes stay. Change what you want
            different.
          </p>
          <fieldset disabled={busy}>
            <legend>Settings</legend>
            {fields.map((f) => (
              <ParamControl
                key={f.name}
                id={controlId(f.name)}
                field={f}
                value={values[f.name] ?? f.initial}
                errors={issues.byControl[controlId(f.name)]}
                onChange={(v) => setEdits((x) => ({ ...x, [f.name]: v }))}
              />
            ))}
          </fieldset>
          <button class="button" type="submit" disabled={busy}>
            {busy ? 'Starting…' : 'Make a new take'}
          </button>
        </form>
      </details>
    </div>
  );
}
