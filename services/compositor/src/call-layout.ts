import { Timeline, type ClipInput, type SpeakerRole, type TimelineInput } from '@reelbus/contracts';

/** A speaker's clip as the compositor knows it from `clip.generated`. */
export interface CallClip {
  key: string;
  durationSec: number;
  width: number;
  height: number;
  placeholder?: boolean;
}

export interface BuildCallTimelineOptions {
  /** The original call recording (both voices) and its probed duration. */
  recording: { key: string; durationSec: number };
  /** The clip of each side; a side without one (a silent channel) gets a labelled card. */
  clips: Partial<Record<SpeakerRole, CallClip>>;
  /** Output size; 1280×720 by default. */
  size?: { width: number; height: number };
  /** stereo: caller left, callee right. mono: one speaker, centred, full frame. */
  mode: 'stereo' | 'mono';
  fps?: number;
}

export const ROLE_LABEL: Record<SpeakerRole, string> = { caller: 'Caller', callee: 'Callee' };

const BACKGROUND = '#000000';
const CARD_COLOR = '#1f2933';
const CARD_TEXT = '#cbd2d9';

/**
 * The Timeline of a call video: the two speakers side by side (each letterboxed in its half to keep
 * its aspect), or one speaker full frame for a mono call; the audio is the original recording and
 * the video lasts exactly as long as it.
 */
export function buildCallTimeline({
  recording,
  clips,
  size = { width: 1280, height: 720 },
  mode,
  fps = 30,
}: BuildCallTimelineOptions): Timeline {
  const { width: W, height: H } = size;
  const T = recording.durationSec;
  const sides: Array<{ role: SpeakerRole; rect: { x: number; y: number; width: number; height: number } }> =
    mode === 'mono'
      ? [{ role: 'caller', rect: { x: 0, y: 0, width: W, height: H } }]
      : (() => {
          // Even halves: yuv420p needs even sizes and positions; a spare pixel column goes to the right.
          const half = Math.floor(W / 4) * 2;
          return [
            { role: 'caller' as const, rect: { x: 0, y: 0, width: half, height: H } },
            { role: 'callee' as const, rect: { x: half, y: 0, width: W - half, height: H } },
          ];
        })();

  const clipsOut: ClipInput[] = [];
  for (const { role, rect } of sides) {
    const clip = clips[role];
    if (clip) {
      clipsOut.push({
        type: 'video',
        source: { key: clip.key },
        start: 0,
        duration: T,
        position: rect,
        fit: 'contain',
        // The call's own recording (the audio track) already carries both voices; the avatar clips'
        // sound would double them.
        volume: 0,
      });
    } else {
      clipsOut.push({
        type: 'color',
        color: CARD_COLOR,
        start: 0,
        duration: T,
        position: inset(rect, mode === 'mono' ? 0 : 8),
      });
      clipsOut.push({
        type: 'text',
        text: `${ROLE_LABEL[role]} — silent`,
        fontSize: Math.max(16, Math.round(rect.width / 16)),
        color: CARD_TEXT,
        start: 0,
        duration: T,
        position: rect,
      });
    }
  }
  const timeline: TimelineInput = {
    version: 1,
    output: { width: W, height: H, fps },
    duration: T,
    background: BACKGROUND,
    tracks: [{ name: 'speakers', clips: clipsOut }],
    audio: [{ name: 'call', source: { key: recording.key } }],
  };
  return Timeline.parse(timeline);
}

/** A rect shrunk by `by` pixels on each side (kept even), so two cards side by side read as two panels. */
function inset(r: { x: number; y: number; width: number; height: number }, by: number) {
  return { x: r.x + by, y: r.y + by, width: r.width - 2 * by, height: r.height - 2 * by };
}
