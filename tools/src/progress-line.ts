// The CLI's one-line view of a job while it runs.
import type { Job } from '@reelbus/contracts';

/** One progress line: the bar, the running step with its percent and what it says it is doing. */
export function progressBar(job: Job, columns = 100): string {
  const width = 30;
  const filled = Math.round((job.progress / 100) * width);
  const running = Object.entries(job.steps).find(([, s]) => s.status === 'running');
  const step = running
    ? `${running[0]}${running[1].percent !== undefined ? ` ${Math.round(running[1].percent)}%` : ''}` +
      renderDetail(job) +
      (running[1].message ? `: ${running[1].message}` : '')
    : job.status;
  // One terminal line at most: the line is redrawn in place with \r.
  const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${job.progress.toFixed(0).padStart(3)}%  ${step}`;
  const max = Math.max(40, columns - 1);
  return (line.length > max ? `${line.slice(0, max - 1)}…` : line).padEnd(Math.min(max, 70));
}

/** A long render's detail, like Remotion's getRenderProgress: ` (rendering, chunks 3/10, ~45 s left)`. */
function renderDetail(job: Job): string {
  const d = job.progressDetail;
  if (!d) return '';
  const parts = [
    d.phase,
    d.chunks && d.chunks.total > 0 ? `chunks ${d.chunks.done}/${d.chunks.total}` : undefined,
    d.etaSec !== undefined && d.phase !== 'complete' ? `~${formatEta(d.etaSec)} left` : undefined,
  ].filter(Boolean);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

function formatEta(sec: number): string {
  const s = Math.round(sec);
  return s < 90 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}
