import type { StreamState } from '../api/stream.ts';

/** Whether live updates are flowing, said in words. */
export function LiveState({ state }: { state: StreamState }) {
  const text =
    state.state === 'live'
      ? 'Live'
      : state.state === 'connecting'
        ? 'Connecting…'
        : `Reconnecting in ${Math.ceil(state.delayMs / 1000)} s`;
  return (
    <span
      class={`live live--${state.state}`}
      role="status"
      title={state.state === 'retrying' ? state.reason : undefined}
    >
      <span class="live__dot" aria-hidden="true" />
      {text}
    </span>
  );
}
