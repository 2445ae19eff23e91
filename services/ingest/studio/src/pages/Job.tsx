import { useState } from 'preact/hooks';
import { isApiError } from '../api/errors.ts';
import type { JobView } from '../api/types.ts';
import { useAuth } from '../auth.tsx';
import { LiveState } from '../components/LiveState.tsx';
import { Notice, ProgressBar, StatusBadge, useNow, useTitle } from '../components/ui.tsx';
import { age, bytes, clock, duration, label, percent } from '../format.ts';
import { isTerminal } from '../live/fold.ts';
import { stepElapsedMs, stepRows } from '../live/steps.ts';
import { useJob } from '../live/useJob.ts';

export function JobPage({ id }: { id: string }) {
  useTitle(`Job ${id}`);
  const { kinds, role } = useAuth();
  const { job, live, fatal, follow } = useJob(id);
  const now = useNow(1000);

  if (fatal) {
    return (
      <section>
        <h1>Job {id}</h1>
        <Notice kind="error">{fatal.status === 404 ? `There is no job "${id}".` : fatal.message}</Notice>
        <p>
          <a href="/jobs">Back to the jobs</a>
        </p>
      </section>
    );
  }
  if (!job) {
    return (
      <section>
        <h1>Job {id}</h1>
        <p class="muted">Loading…</p>
      </section>
    );
  }
  const spec = kinds[job.kind];
  const detail = job.progressDetail;
  return (
    <article class="job">
      <div class="page-head">
        <h1>
          {label(job.kind)} <span class="job__id">{job.id}</span>
        </h1>
        {isTerminal(job.status) ? null : <LiveState state={live} />}
      </div>
      <p class="job__summary">
        <StatusBadge status={job.status} /> created{' '}
        <time dateTime={job.createdAt} title={new Date(job.createdAt).toLocaleString()}>
          {age(job.createdAt, now)}
        </time>
        {job.submittedBy ? ` by ${job.submittedBy.name}` : ''}
        {job.testMode ? ' · test mode' : ''}
      </p>

      <section class="job__progress" aria-labelledby="progress-h">
        <h2 id="progress-h" class="visually-hidden">
          Progress
        </h2>
        <ProgressBar value={job.progress} name="Job progress" id="job-progress" />
        {detail && !isTerminal(job.status) ? (
          <p class="muted">
            {[
              detail.phase ? label(detail.phase) : undefined,
              detail.message,
              detail.chunks ? `chunks ${detail.chunks.done}/${detail.chunks.total}` : undefined,
              detail.frames ? `frames ${detail.frames.done}/${detail.frames.total}` : undefined,
              detail.etaSec !== undefined ? `about ${clock(detail.etaSec)} left` : undefined,
            ]
              .filter(Boolean)
              .join(' · ')}
          </p>
        ) : null}
      </section>

      {job.error ? (
        <div class="notice notice--error" role="alert" id="job-error">
          <h2>Failed at “{label(job.error.step)}”</h2>
          <p>{job.error.reason}</p>
        </div>
      ) : null}
      {job.status === 'failed' && role === 'operator' ? (
        <RetryJob jobId={job.id} step={job.error?.step} onRetried={follow} />
      ) : null}
      {job.fallback ? (
        <Notice kind="warning">
          {job.fallback === 'audio_only' ? 'Delivered as audio only' : 'Delivered as separate clips'}
          {job.fallbackReason ? `: ${job.fallbackReason}` : ''}
        </Notice>
      ) : null}
      {job.warnings.length ? (
        <section class="notice notice--warning" aria-labelledby="warnings-h">
          <h2 id="warnings-h">Warnings</h2>
          <ul>
            {job.warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </section>
      ) : null}

      <VideoSection job={job} />
      <GeneratedMedia job={job} />

      <section aria-labelledby="steps-h">
        <h2 id="steps-h">Steps</h2>
        <ol class="steps">
          {stepRows(job, spec).map((row) => {
            const elapsed = stepElapsedMs(row.state, now);
            return (
              <li class={`step step--${row.state.status}`} key={row.name} data-step={row.name}>
                <span class="step__status" aria-hidden="true" />
                <div class="step__main">
                  <span class="step__name">{label(row.name)}</span>
                  {row.description ? <span class="step__desc">{row.description}</span> : null}
                  {row.state.error ? (
                    <span class="step__error">{row.state.error}</span>
                  ) : row.state.message && row.state.status === 'running' ? (
                    <span class="step__desc">{row.state.message}</span>
                  ) : null}
                </div>
                <span class="step__state">
                  {row.state.status === 'pending' && isTerminal(job.status)
                    ? 'Not run'
                    : label(row.state.status)}
                  {row.state.status === 'running' && row.state.percent !== undefined
                    ? ` ${percent(row.state.percent)}`
                    : ''}
                  {row.state.attempts && row.state.attempts > 1 ? ` · attempt ${row.state.attempts}` : ''}
                </span>
                <span class="step__time">{elapsed !== undefined ? duration(elapsed) : ''}</span>
              </li>
            );
          })}
        </ol>
      </section>

      <section aria-labelledby="details-h">
        <h2 id="details-h">Details</h2>
        <dl class="details">
          <dt>Job id</dt>
          <dd>
            <code>{job.id}</code>
          </dd>
          <dt>Trace</dt>
          <dd>
            {job.traceId ? (
              <>
                <code id="trace-id">{job.traceId}</code>{' '}
                {job.links?.trace ? (
                  <a href={job.links.trace} target="_blank" rel="noreferrer">
                    Open in Jaeger
                  </a>
                ) : null}
              </>
            ) : (
              <span class="muted">none recorded</span>
            )}
          </dd>
          <dt>Updated</dt>
          <dd>
            <time dateTime={job.updatedAt}>{new Date(job.updatedAt).toLocaleString()}</time>
          </dd>
          {job.cost ? (
            <>
              <dt>Cost</dt>
              <dd>
                {job.cost.backend}
                {job.cost.cpuSeconds !== undefined ? ` · ${job.cost.cpuSeconds.toFixed(1)} CPU-seconds` : ''}
                {job.cost.estimateUsd !== undefined ? ` · about $${job.cost.estimateUsd.toFixed(3)}` : ''}
              </dd>
            </>
          ) : null}
        </dl>
      </section>
    </article>
  );
}

function VideoSection({ job }: { job: JobView }) {
  const video = job.outputs.video;
  const src = job.links?.video;
  if (!video || !src) return null;
  const facts = [
    video.width && video.height ? `${video.width}×${video.height}` : undefined,
    clock(video.durationSec),
    bytes(video.sizeBytes),
  ].filter(Boolean);
  return (
    <section class="player" aria-labelledby="video-h">
      <h2 id="video-h">Video</h2>
      <video
        id="job-video"
        class="player__video"
        controls
        playsInline
        preload="metadata"
        src={src}
        poster={job.links?.poster}
        width={video.width}
        height={video.height}
        aria-label={`The video of job ${job.id}`}
      />
      <p class="muted">{facts.join(' · ')}</p>
      <div class="actions">
        <a class="button" href={src} download={`${job.id}.mp4`}>
          Download MP4
        </a>
      </div>
      <ShareLink jobId={job.id} />
    </section>
  );
}

const TTLS = [
  { sec: 3600, text: '1 hour' },
  { sec: 86_400, text: '1 day' },
  { sec: 7 * 86_400, text: '7 days' },
];

/** Makes a signed link to a page that plays the video without a key, and copies it. */
function ShareLink({ jobId }: { jobId: string }) {
  const { client } = useAuth();
  const [ttl, setTtl] = useState(86_400);
  const [link, setLink] = useState<{ url: string; expiresAt: string }>();
  const [status, setStatus] = useState<string>();
  const [error, setError] = useState<string>();

  async function onCreate() {
    if (!client) return;
    setError(undefined);
    setStatus(undefined);
    try {
      const signed = await client.createLink(jobId, ttl);
      const q = new URL(signed.url).searchParams;
      const page = `${location.origin}/watch/${encodeURIComponent(jobId)}?${new URLSearchParams({
        expires: q.get('expires') ?? '',
        signature: q.get('signature') ?? '',
      })}`;
      setLink({ url: page, expiresAt: signed.expiresAt });
      try {
        await navigator.clipboard.writeText(page);
        setStatus('Copied to the clipboard.');
      } catch {
        setStatus('Select the link and copy it.');
      }
    } catch (err) {
      setError(isApiError(err) ? err.message : String(err));
    }
  }

  return (
    <div class="share">
      <div class="share__row">
        <div class="field field--inline">
          <label for="share-ttl">Link works for</label>
          <select id="share-ttl" value={String(ttl)} onChange={(e) => setTtl(Number(e.currentTarget.value))}>
            {TTLS.map((t) => (
              <option key={t.sec} value={String(t.sec)}>
                {t.text}
              </option>
            ))}
          </select>
        </div>
        <button type="button" class="button button--quiet" onClick={onCreate}>
          Copy signed link
        </button>
      </div>
      {link ? (
        <div class="field">
          <label for="share-url">
            Signed link (plays without a key until {new Date(link.expiresAt).toLocaleString()})
          </label>
          <input
            id="share-url"
            type="url"
            readOnly
            value={link.url}
            onFocus={(e) => e.currentTarget.select()}
          />
        </div>
      ) : null}
      <p class="muted" role="status">
        {status}
      </p>
      {error ? <Notice kind="error">{error}</Notice> : null}
    </div>
  );
}

/**
 * For operator keys, on a failed job: `POST /v1/jobs/:id/retry` replays the job's dead letters to the
 * services that gave up, and the page follows the reopened job live.
 */
function RetryJob({
  jobId,
  step,
  onRetried,
}: {
  jobId: string;
  step: string | undefined;
  onRetried: () => void;
}) {
  const { client } = useAuth();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  async function onRetry() {
    if (!client) return;
    setBusy(true);
    setError(undefined);
    try {
      await client.retryJob(jobId);
      onRetried();
    } catch (err) {
      setError(isApiError(err) ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }
  return (
    <div class="retry">
      <div class="actions">
        <button
          type="button"
          class="button"
          disabled={busy}
          onClick={() => void onRetry()}
          aria-describedby="retry-hint"
        >
          {busy ? 'Retrying…' : 'Retry from the failed step'}
        </button>
      </div>
      <p class="hint" id="retry-hint">
        Runs {step ? `“${label(step)}”` : 'the failed step'} and what follows again; the steps before it are
        not redone. Fix the cause first (a bad input fails the same way again).
      </p>
      {error ? (
        <Notice kind="error">
          <span id="retry-error">{error}</span>
        </Notice>
      ) : null}
    </div>
  );
}

/**
 * A generation's picture (its poster: a JPEG of the image, at most 640 wide, over the signed link) or
 * its audio (speech, music: an audio player over the signed `links.audio`). Videos play in the video
 * section above.
 */
function GeneratedMedia({ job }: { job: JobView }) {
  const image = job.outputs.image;
  const audio = job.outputs.audio;
  if (job.kind !== 'generation' || job.outputs.video || (!image && !audio)) return null;
  const poster = job.outputs.poster;
  return (
    <section class="player" aria-labelledby="result-h">
      <h2 id="result-h">Result</h2>
      {image && job.links?.poster ? (
        <figure class="result">
          <img
            id="job-image"
            class="result__image"
            src={job.links.poster}
            width={poster?.width}
            height={poster?.height}
            alt={`The picture job ${job.id} generated${typeof job.input.params === 'object' && job.input.params && 'prompt' in job.input.params ? `: ${String((job.input.params as { prompt: unknown }).prompt)}` : ''}`}
          />
          <figcaption class="muted">
            {image.width && image.height ? `${image.width}×${image.height}` : ''} · {bytes(image.sizeBytes)}
            {poster?.width && image.width && poster.width < image.width
              ? ` · shown at ${poster.width} px wide`
              : ''}
          </figcaption>
        </figure>
      ) : null}
      {audio ? (
        <figure class="result">
          {job.links?.audio ? (
            <audio
              id="job-audio"
              class="result__audio"
              controls
              preload="metadata"
              src={job.links.audio}
              aria-label={`The audio job ${job.id} generated`}
            />
          ) : null}
          <figcaption class="muted">
            Audio, {clock(audio.durationSec)} · {bytes(audio.sizeBytes)}
            {job.links?.audio ? (
              <>
                {' · '}
                <a href={job.links.audio} download>
                  Download
                </a>
              </>
            ) : null}
          </figcaption>
        </figure>
      ) : null}
    </section>
  );
}
