import type { UploadProgress as Progress } from '../api/upload.ts';
import { bytes } from '../format.ts';

/** Upload progress with a way to stop it. */
export function UploadProgress({ progress, onCancel }: { progress: Progress; onCancel(): void }) {
  const pct = progress.total ? Math.floor((progress.loaded / progress.total) * 100) : 0;
  return (
    <div class="upload" role="group" aria-label="Upload">
      <progress max={100} value={pct} aria-label="Upload progress" />
      <p class="upload__text" aria-live="polite">
        {pct < 100
          ? `Uploading ${bytes(progress.loaded)} of ${bytes(progress.total)} (${pct} %)`
          : 'Uploaded; starting the job…'}
      </p>
      <button type="button" class="button button--quiet" onClick={onCancel} disabled={pct >= 100}>
        Cancel upload
      </button>
    </div>
  );
}
