/**
 * Where a call's provider decision lives. The provider is the job's (`provider` on the upload or on
 * `recording.received`), else the stack's default (`AI_PROVIDER`, read by the compositor and the
 * ai-generator alike), except for a test-mode job, which uses `local` unless it names its provider. The `local` provider (registry model `local-avatar`) draws a face card with the
 * speaker's waveform and label: the compositor can draw that straight into the call's Timeline, so
 * an offline call is encoded once. Every other provider (fal, …) makes real clips, asked for with
 * `clip.requested` and collected by the fan-in.
 */

/** How a call's speakers get on screen: drawn in the Timeline, or as clips a provider made. */
export type CallRendering = 'direct' | 'clips';

/** The provider whose look the compositor can draw itself (ai-generator's `local`, model `local-avatar`). */
export const LOCAL_PROVIDER = 'local';

export interface CallRenderingDecision {
  /** The provider of this job's avatars (named in every `clip.requested`). */
  provider: string;
  rendering: CallRendering;
}

/** Pure: the job's provider (or the default) and whether the compositor draws the speakers itself. */
export function decideCallRendering({
  jobProvider,
  defaultProvider,
  localRender,
  testMode = false,
}: {
  /** `job.input.provider` as stored (any value; only a non-empty string counts). */
  jobProvider: unknown;
  /** AI_PROVIDER. */
  defaultProvider: string;
  /** CALL_LOCAL_RENDER: `direct` (the default) or `clips` (the local look rendered to clips first). */
  localRender: CallRendering;
  /** The job is a test run: it pays for no generation unless it names its provider (issue 15 §4). */
  testMode?: boolean;
}): CallRenderingDecision {
  const named = typeof jobProvider === 'string' ? jobProvider.trim() : '';
  const provider = named || (testMode ? LOCAL_PROVIDER : defaultProvider);
  return {
    provider,
    rendering: provider === LOCAL_PROVIDER && localRender === 'direct' ? 'direct' : 'clips',
  };
}
