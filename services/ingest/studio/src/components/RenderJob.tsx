import { bytes, clock, label } from '../format.ts';
import { isTerminal } from '../live/fold.ts';
import { useJob } from '../live/useJob.ts';
import { phaseRows, phaseSummary } from '../projects/model.ts';
import { LiveState } from './LiveState.tsx';
import { Notice, ProgressBar, StatusBadge } from './ui.tsx';

const STATE_TEXT = { done: 'done', current: 'now', failed: 'failed', pending: 'to do' } as const;

/**
 * A project's preview or render job, live over its event stream: the phases (preparing k of n,
 * rendering chunk i of N, concatenating, uploading, complete), the progress bar, and the video
 * playing in the page when it is done.
 */
export function RenderJob({ jobId, preset, revision }: { jobId: string; preset: string; revision: number }) {
  const { job, live, fatal } = useJob(jobId);
  if (fatal) return <Notice kind="error">Could not follow the render: {fatal.message}</Notice>;
  const what = `${preset === 'preview' ? 'Preview' : 'Final render'} of revision ${revision}`;
  if (!job)
    return (
      <section class="render" aria-label={what}>
        <p class="muted">Starting the {preset === 'preview' ? 'preview' : 'render'}…</p>
      </section>
    );
  const rows = phaseRows(job);
  const video = job.outputs.video;
  const src = job.links?.video;
  return (
    <section class="render" aria-labelledby="render-h">
      <div class="page-head">
        <h3 id="render-h">
          {what} <StatusBadge status={job.status} />
        </h3>
        {isTerminal(job.status) ? null : <LiveState state={live} />}
      </div>
      <ProgressBar value={job.progress} name={`${what} progress`} id="render-progress" />
      <ol class="phases" aria-label="Render phases">
        {rows.map((r) => (
          <li key={r.phase} class={`phase phase--${r.state}`} data-phase={r.phase} data-state={r.state}>
            <span class="phase__mark" aria-hidden="true" />
            <span class="phase__text">{r.text}</span>
            <span class="phase__detail">
              {r.detail ?? ''}
              <span class="visually-hidden"> ({STATE_TEXT[r.state]})</span>
            </span>
          </li>
        ))}
      </ol>
      <p class="visually-hidden" role="status" id="render-phase">
        {phaseSummary(rows)}
      </p>
      {job.error ? (
        <Notice kind="error">
          <span id="render-error">
            Failed at “{label(job.error.step)}”: {job.error.reason}
          </span>
        </Notice>
      ) : null}
      {job.warnings.length ? (
        <Notice kind="warning">
          <ul>
            {job.warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </Notice>
      ) : null}
      {video && src ? (
        <div class="player">
          <video
            id="project-video"
            class="player__video"
            controls
            playsInline
            preload="metadata"
            src={src}
            poster={job.links?.poster}
            width={video.width}
            height={video.height}
            aria-label={what}
          />
          <p class="muted">
            {[
              video.width && video.height ? `${video.width}×${video.height}` : '',
              clock(video.durationSec),
              bytes(video.sizeBytes),
            ]
              .filter(Boolean)
              .join(' · ')}
          </p>
        </div>
      ) : null}
      <p>
        <a href={`/jobs/${encodeURIComponent(job.id)}`}>The job’s page</a> (steps, timings, download, signed
        link)
      </p>
    </section>
  );
}
